//! The editor and CI say the same thing: every file of tests/corpus, under
//! one gemmscope.toml with `select`/`ignore`/`severity` and with inline
//! suppression comments added, is checked by the real `gemmscope check
//! --format json` and opened in the language server (in memory); both
//! must give the same findings (code and line), the same levels (as
//! diagnostic severities), leave out the same suppressed findings, and
//! carry the same headline number.

mod lsp_client;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

const CONFIG: &str =
    "# select everything but convolutions; GEMV is an error, cuBLAS settings notes\n\
select = [\"GS\"]\n\
ignore = [\"GS301\"]\n\
[severity]\n\
GS2 = \"error\"\n\
GS6 = \"note\"\n";

fn copy_tree(from: &Path, to: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            files.extend(copy_tree(&p, &dest));
        } else {
            std::fs::copy(&p, &dest).unwrap();
            files.push(dest);
        }
    }
    files
}

fn check_json(dir: &Path) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(["check", "--format", "json", "."])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The comment that suppresses `code`, alone on its line, in the file's
/// language.
fn suppression(path: &Path, code: &str) -> String {
    let hash = path.extension().is_some_and(|e| e == "py");
    let lead = if hash { "#" } else { "//" };
    format!("{lead} gemmscope: ignore[{code}] kept for the agreement test")
}

/// Adds a suppression above the first finding of every other file with
/// findings; returns how many were added.
fn add_suppressions(dir: &Path, doc: &Value) -> usize {
    let mut first: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for f in doc["findings"].as_array().unwrap() {
        let path = rel(&f["path"]);
        let line = f["line"].as_u64().unwrap() as usize;
        let code = f["code"].as_str().unwrap().to_string();
        first.entry(path).or_insert((line, code));
    }
    let mut added = 0;
    for (i, (path, (line, code))) in first.iter().enumerate() {
        if i % 2 == 1 {
            continue;
        }
        let p = dir.join(path);
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let indent: String = lines[line - 1]
            .chars()
            .take_while(|c| c.is_whitespace())
            .collect();
        lines.insert(line - 1, format!("{indent}{}", suppression(&p, code)));
        std::fs::write(&p, lines.join("\n") + "\n").unwrap();
        added += 1;
    }
    added
}

/// A JSON path (`./c/a.c`) relative to the checked folder.
fn rel(path: &Value) -> String {
    let p = path.as_str().unwrap();
    p.strip_prefix("./").unwrap_or(p).to_string()
}

fn severity_of(level: &str) -> u64 {
    match level {
        "error" => 1,
        "warning" => 2,
        _ => 3,
    }
}

/// (line, code) → (severity, message) as the editor should show them.
type Shown = BTreeMap<(u64, String), (u64, String)>;

fn expected(doc: &Value) -> BTreeMap<String, Shown> {
    let mut out: BTreeMap<String, Shown> = BTreeMap::new();
    for f in doc["findings"].as_array().unwrap() {
        let message = match f["advice"]["headline"].as_str() {
            Some(h) => format!("{} — {h}", f["message"].as_str().unwrap()),
            None => f["message"].as_str().unwrap().to_string(),
        };
        out.entry(rel(&f["path"])).or_default().insert(
            (
                f["line"].as_u64().unwrap(),
                f["code"].as_str().unwrap().into(),
            ),
            (severity_of(f["level"].as_str().unwrap()), message),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_editor_and_check_agree_on_every_corpus_file() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
    let d = tempfile::tempdir().unwrap();
    let root = d.path().canonicalize().unwrap();
    let files = copy_tree(&corpus, &root);
    std::fs::write(root.join("gemmscope.toml"), CONFIG).unwrap();
    let before = check_json(&root);
    let added = add_suppressions(&root, &before);
    assert!(added >= 20, "{added}");
    let doc = check_json(&root);
    assert_eq!(
        doc["summary"]["suppressed"].as_u64(),
        Some(added as u64),
        "{}",
        doc["summary"]
    );
    let want = expected(&doc);
    let levels: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["level"].as_str().unwrap())
        .collect();
    for l in ["error", "warning", "note"] {
        assert!(levels.contains(&l), "the corpus exercises level {l}");
    }
    assert!(!doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "GS301"));

    let mut c = lsp_client::start_in_memory();
    c.initialize(json!({}), json!({})).await;
    let mut compared = 0;
    let mut headlines = 0;
    for f in &files {
        let Some(ext) = f.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !["c", "h", "cu", "cuh", "cc", "cpp", "py"].contains(&ext) {
            continue;
        }
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let uri = format!("file://{}", f.display());
        let text = std::fs::read_to_string(f).unwrap();
        c.open(&uri, ext, 1, &text).await;
        let diags = c.diagnostics(&uri, Some(1)).await;
        let got: Shown = diags
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    (
                        d["range"]["start"]["line"].as_u64().unwrap() + 1,
                        d["code"].as_str().unwrap().to_string(),
                    ),
                    (
                        d["severity"].as_u64().unwrap(),
                        d["message"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect();
        let empty = Shown::new();
        let w = want.get(&rel).unwrap_or(&empty);
        assert_eq!(
            &got,
            w,
            "{rel}: the editor (left) and check (right) differ\n{}",
            text.lines().take(8).collect::<Vec<_>>().join("\n")
        );
        compared += 1;
        headlines += w
            .values()
            .filter(|(_, m)| m.contains(" per output"))
            .count();
    }
    assert!(compared >= 100, "{compared} files compared");
    assert!(
        headlines >= 10,
        "{headlines} findings with a number compared"
    );
    eprintln!(
        "agreement: {compared} files, {} findings, {added} suppressed, {headlines} with a headline number",
        want.values().map(|m| m.len()).sum::<usize>()
    );
    c.shutdown().await;
}
