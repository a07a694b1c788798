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
