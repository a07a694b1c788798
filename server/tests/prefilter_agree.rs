//! The prefilter never drops a finding: the real `gemmscope check --format
//! json --bench off` with and without `--no-prefilter` must report exactly
//! the same findings and suppressed findings (every field: code, path,
//! range, dims, message, fingerprint, level, estimate) over tests/corpus
//! and over large real trees: /usr/include, /usr/lib/python3.11 and the
//! library folders of the `python3` on the PATH (a deterministic sample of
//! every Nth file, which keeps the debug build's runtime down;
//! `scripts/bench-vs-ruff.sh` compares the whole trees with the release
//! build). Syntax problems are not compared: the prefilter does
//! not parse what it skips.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn check(paths: &[PathBuf], prefilter: bool) -> Value {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"));
    cmd.args([
        "check",
        "--format",
        "json",
        "--bench",
        "off",
        "--no-config",
        "--exit-zero",
    ]);
    if !prefilter {
        cmd.arg("--no-prefilter");
    }
    let out = cmd.arg("--").args(paths).output().unwrap();
    assert!(
        out.status.code() == Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs both ways and compares; returns (files checked, findings).
fn agree(paths: &[PathBuf]) -> (u64, usize) {
    let with = check(paths, true);
    let without = check(paths, false);
    for key in ["findings", "suppressed", "errors"] {
        let (a, b) = (&with[key], &without[key]);
        if a != b {
            let a = a.as_array().cloned().unwrap_or_default();
            let b = b.as_array().cloned().unwrap_or_default();
            let missing: Vec<&Value> = b.iter().filter(|f| !a.contains(f)).collect();
            let extra: Vec<&Value> = a.iter().filter(|f| !b.contains(f)).collect();
            panic!(
                "{key} differ with the prefilter:\nonly without it: {missing:#?}\nonly with it: {extra:#?}"
            );
        }
    }
    assert_eq!(with["files_checked"], without["files_checked"]);
    let n = without["findings"].as_array().map_or(0, Vec::len)
        + without["suppressed"].as_array().map_or(0, Vec::len);
    (without["files_checked"].as_u64().unwrap_or(0), n)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            files_under(&e.path(), out);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
}

/// Every `every`-th checkable file under `dirs` (sorted: the same sample on
/// every run).
fn sample(dirs: &[&str], every: usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for d in dirs {
        files_under(Path::new(d), &mut files);
    }
    files.retain(|p| gemmscope_analyzers::Lang::from_path(&p.to_string_lossy()).is_some());
    files.sort();
    files.dedup();
    files.into_iter().step_by(every).collect()
}

/// Every corpus file of a language, put after and before each of two real
/// files of that language: findings in the middle of large real code (the
/// real trees themselves hold none), where the prefilter must find the
/// candidate and, for Python, keep the right functions.
#[test]
fn corpus_files_inside_real_files_give_the_same_findings() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    let python = python_trees();
    let hosts: [(&str, Vec<&str>, &[&str]); 2] = [
        ("c", vec!["/usr/include"], &["c", "cuda"]),
        (
            "py",
            python.iter().map(String::as_str).collect(),
            &["python"],
        ),
    ];
    for (ext, trees, folders) in hosts {
        let mut real: Vec<PathBuf> = sample(&trees, 1)
            .into_iter()
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e == if ext == "c" { "h" } else { "py" })
            })
            .collect();
        // Two deterministic hosts of 20-60 kB.
        real.retain(|p| std::fs::metadata(p).is_ok_and(|m| (20_000..60_000).contains(&m.len())));
        let step = (real.len() / 2).max(1);
        let real: Vec<PathBuf> = real.into_iter().step_by(step).take(2).collect();
        for folder in folders {
            let mut cases = Vec::new();
            files_under(&corpus.join(folder), &mut cases);
            cases.sort();
            for (n, case) in cases.iter().enumerate() {
                let Some(case_ext) = case.extension() else {
                    continue;
                };
                let case_text = std::fs::read_to_string(case).unwrap();
                for (h, host) in real.iter().enumerate() {
                    let host_text =
                        String::from_utf8_lossy(&std::fs::read(host).unwrap()).into_owned();
                    for (order, text) in [
                        format!("{host_text}\n{case_text}"),
                        format!("{case_text}\n{host_text}"),
                    ]
                    .iter()
                    .enumerate()
                    {
                        let p = dir.path().join(format!(
                            "{folder}_{n}_{h}_{order}.{}",
                            case_ext.to_string_lossy()
                        ));
                        std::fs::write(&p, text).unwrap();
                        written.push(p);
                    }
                }
            }
        }
    }
    let (mut checked, mut found) = (0, 0);
    for chunk in written.chunks(400) {
        let (c, f) = agree(chunk);
        checked += c;
        found += f;
    }
    println!("corpus inside real files: {checked} files, {found} findings agree");
    assert!(found > 50, "{found} findings");
}

#[test]
fn the_corpus_gives_the_same_findings() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let (files, findings) = agree(&[corpus]);
    assert!(
        files > 50 && findings > 50,
        "{files} files, {findings} findings"
    );
}

/// The Python library folders of the `python3` on the PATH (standard
/// library and site-packages).
fn python_trees() -> Vec<String> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig as s; p = s.get_paths(); print(p['stdlib']); print(p['purelib'])",
        ])
        .output();
    let mut dirs: Vec<String> = out
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    dirs.retain(|d| Path::new(d).is_dir());
    dirs.dedup();
    dirs
}

#[test]
fn real_trees_give_the_same_findings() {
    // (folders, every Nth file).
    let python = python_trees();
    let trees: [(Vec<&str>, usize); 3] = [
        (vec!["/usr/include"], 8),
        (vec!["/usr/lib/python3.11"], 3),
        (python.iter().map(String::as_str).collect(), 15),
    ];
    for (dirs, every) in trees {
        if dirs.is_empty() || !Path::new(dirs[0]).is_dir() {
            gemmscope_microbench::testing::skip(
                "real_trees_give_the_same_findings",
                &format!("no folder {dirs:?}"),
            );
            continue;
        }
        let files = sample(&dirs, every);
        let (mut checked, mut found) = (0, 0);
        for chunk in files.chunks(400) {
            let (c, f) = agree(chunk);
            checked += c;
            found += f;
        }
        println!("{dirs:?}: {checked} files, {found} findings agree");
    }
}
