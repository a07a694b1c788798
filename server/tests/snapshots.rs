//! Snapshot tests of every `check` output format: on the corpus
//! (tests/corpus, no configuration) and on a small CI project
//! (server/tests/fixtures/ci-project: configuration, suppression comment,
//! baseline, speed-up gate). The snapshots are committed under
//! server/tests/snapshots/; `GEMMSCOPE_UPDATE_SNAPSHOTS=1 cargo test -p
//! gemmscope --test snapshots` rewrites them. Every SARIF snapshot is also
//! validated against the SARIF 2.1.0 JSON schema (vendored in
//! server/tests/data/).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs `gemmscope check` in `cwd`; stdout with the version masked.
fn run(cwd: &Path, args: &[&str]) -> (String, Option<i32>) {
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .arg("check")
        // Estimates depend on the machine; the snapshots pin the findings
        // and the presenters (estimates are tested in ci.rs).
        .arg("--no-estimates")
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .output()
        .expect("run gemmscope");
    let out = String::from_utf8_lossy(&o.stdout).replace(
        &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"version\": \"<version>\"",
    );
    (out, o.status.code())
}

fn compare(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("GEMMSCOPE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with GEMMSCOPE_UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        )
    });
    if want != got {
        let first = want
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(got.lines().count()));
        panic!(
            "{} differs from the output at line {}:\n  want: {:?}\n  got:  {:?}\n\
             (GEMMSCOPE_UPDATE_SNAPSHOTS=1 rewrites the snapshot)",
            path.display(),
            first + 1,
            want.lines().nth(first),
            got.lines().nth(first)
        );
    }
}

fn validate_sarif(text: &str) {
    let log: Value = serde_json::from_str(text).expect("SARIF is JSON");
    let schema: Value = serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF does not validate: {errors:#?}");
}

#[test]
fn the_schema_check_rejects_a_bad_log() {
    let (out, _) = run(
        &repo(),
        &["--no-config", "--format", "sarif", "tests/corpus/c/gemv.c"],
    );
    validate_sarif(&out);
    let bad = out.replacen("\"level\": \"warning\"", "\"level\": \"loud\"", 1);
    assert_ne!(bad, out);
    let r = std::panic::catch_unwind(|| validate_sarif(&bad));
    assert!(r.is_err(), "an invalid level passed the schema check");
}

const FORMATS: [(&str, &str); 4] = [
    ("text", "txt"),
    ("json", "json"),
    ("sarif", "sarif"),
    ("github", "github.txt"),
];

#[test]
fn corpus_in_every_format() {
    for (format, ext) in FORMATS {
        let (out, code) = run(
            &repo(),
            &[
                "--no-config",
                "--color",
                "never",
                "--format",
                format,
                "tests/corpus",
            ],
        );
        assert_eq!(code, Some(1), "{format}");
        if format == "sarif" {
            validate_sarif(&out);
        }
        compare(&format!("corpus.{ext}"), &out);
    }
}

#[test]
fn ci_project_in_every_format() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ci-project");
    for (format, ext) in FORMATS {
        let (out, code) = run(&dir, &["--color", "never", "--format", format, "."]);
        // GS101 is suppressed, GS201 is in the baseline, GS501 is a note
        // and the speed-up gate has no estimates: nothing fails.
        assert_eq!(code, Some(0), "{format}: {out}");
        if format == "sarif" {
            validate_sarif(&out);
        }
        compare(&format!("ci-project.{ext}"), &out);
    }
    // Without the configuration (no gate, no baseline) the run fails.
    let (_, code) = run(&dir, &["--no-config", "--format", "json", "."]);
    assert_eq!(code, Some(1));
}
