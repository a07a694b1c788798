//! `gemmscope bench` end to end through the real binary: the sandboxed child
//! (`__bench-child`) and the engine's checks, with self-test candidates that
//! misbehave on purpose (enabled by GEMMSCOPE_SELFTEST=1, which the child
//! inherits).

use std::process::{Command, Output};

use serde_json::Value;

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .arg("bench")
        .args(args)
        .env("GEMMSCOPE_SELFTEST", "1")
        .env(
            "GEMMSCOPE_CACHE_DIR",
            std::env::temp_dir().join("gemmscope-test-no-cache"),
        )
        .output()
        .expect("run gemmscope")
}

fn rows(o: &Output) -> Vec<Value> {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: Value = serde_json::from_slice(&o.stdout).expect("json");
    doc["rows"].as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [Value], id: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id}"))
}

#[test]
fn misbehaving_candidates_become_failed_rows_with_reasons() {
    let o = bench(&[
        "gemm",
        "--m",
        "32",
        "--n",
        "32",
        "--k",
        "32",
        "--format",
        "json",
        "--timeout",
        "2",
        "--no-cache",
        "--candidates",
        "selftest-wrong,selftest-nan,selftest-hang,selftest-crash,selftest-hog",
    ]);
    let rows = rows(&o);
    assert_eq!(rows.len(), 5);
    for r in &rows {
        assert_eq!(r["status"], "failed", "{r}");
        assert!(r["seconds_per_call"].is_null(), "{r}");
        for key in [
            "candidate",
            "backend",
            "dtype",
            "status",
            "reason",
            "seconds_per_call",
            "ns_per_output",
            "gflops",
            "speedup",
            "rel_error",
            "provenance",
        ] {
            assert!(r.get(key).is_some(), "missing {key}: {r}");
        }
    }
    let reason = |id| row(&rows, id)["reason"].as_str().unwrap().to_string();
    assert!(
        reason("selftest-wrong").contains("wrong result: relative error 5.0e-1"),
        "{}",
        reason("selftest-wrong")
    );
    assert!(
        reason("selftest-nan").contains("NaN"),
        "{}",
        reason("selftest-nan")
    );
    assert!(
        reason("selftest-hang").contains("timed out after"),
        "{}",
        reason("selftest-hang")
    );
    assert!(
        reason("selftest-crash").contains("SIGSEGV"),
        "{}",
        reason("selftest-crash")
    );
    assert!(
        reason("selftest-hog").contains("out of memory"),
        "{}",
        reason("selftest-hog")
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        vec!["gemm", "--m", "0", "--n", "4", "--k", "4"],
        vec!["gemm", "--m", "4", "--n", "4", "--k", "4", "--dtype", "f8"],
        vec!["gemm", "--m", "4", "--n", "4", "--k", "4", "--layout", "xy"],
        vec!["gemm", "--m", "4", "--n", "4", "--k", "4", "--order", "iij"],
        vec![
            "gemm",
            "--m",
            "4",
            "--n",
            "4",
            "--k",
            "4",
            "--candidates",
            "nope",
        ],
        vec!["gemm", "--m", "4", "--n", "4", "--k", "4", "--budget", "-1"],
        vec![],
    ] {
        let o = bench(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!o.stderr.is_empty());
    }
}

#[test]
fn a_repeated_request_is_answered_from_the_store() {
    let cache = tempfile::tempdir().unwrap();
    let run = || {
        let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
            .args([
                "bench",
                "gemm",
                "--m",
                "24",
                "--n",
                "20",
                "--k",
                "16",
                "--budget",
                "0.2",
                "--candidates",
                "c-naive-O1",
                "--format",
                "json",
            ])
            .env("GEMMSCOPE_CACHE_DIR", cache.path())
            .output()
            .unwrap();
        rows(&o)
    };
    let first = run();
    let r = row(&first, "c-naive-O1");
    if r["status"] == "skipped" {
        // No C compiler on this machine: the reason says so, and nothing is stored.
        assert!(!r["reason"].as_str().unwrap().is_empty());
        return;
    }
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(r["provenance"]["how"], "measured");
    assert!(r["rel_error"].as_f64().unwrap() < 1e-4);
    let second = run();
    let r2 = row(&second, "c-naive-O1");
    assert_eq!(r2["provenance"]["how"], "cached", "{r2}");
    assert_eq!(r2["seconds_per_call"], r["seconds_per_call"]);
    assert!(cache.path().join("results.sqlite3").exists());
}

#[test]
fn text_table_lists_ok_rows_with_provenance_and_skipped_rows_with_reasons() {
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args([
            "bench",
            "gemm",
            "--m",
            "16",
            "--n",
            "16",
            "--k",
            "16",
            "--budget",
            "0.2",
            "--no-store",
            "--candidates",
            "c-naive-O1,torch-cpu",
        ])
        .env("GEMMSCOPE_PYTHON", "/nonexistent/python3")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.starts_with("GEMM 16×16×16 f32 nn ijk"), "{out}");
    assert!(out.contains("per output"), "{out}");
    assert!(out.contains("skipped  torch.matmul (CPU):"), "{out}");
}
