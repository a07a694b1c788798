//! Latency of the language server as an editor sees it: the time from a
//! `didChange` to the `publishDiagnostics` for that version, on a
//! 5,000-line C file with a GEMM in it, over stdio to the real binary.
//! Run twice: idle, and while a background benchmark is measuring.
//!
//! `cargo bench -p gemmscope --bench lsp_latency` (prints p50/p99/max);
//! `GEMMSCOPE_BIN=PATH` runs another build of `gemmscope` as the server.
//! A plain harness: exact percentiles of every sample are the point here.

#[path = "../tests/lsp_client/mod.rs"]
mod lsp_client;

use std::process::Stdio;
use std::time::{Duration, Instant};

use lsp_client::{big_c_file as big_file, Client};
use serde_json::json;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i]
}

async fn run(label: &str, background: bool, samples: usize) {
    let cache = tempfile::tempdir().unwrap();
    // `GEMMSCOPE_BIN=PATH`: measure another build of the server (a
    // before/after comparison in one run).
    let bin =
        std::env::var("GEMMSCOPE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_gemmscope").into());
    let mut child = tokio::process::Command::new(bin)
        .arg("serve")
        .env("GEMMSCOPE_CACHE_DIR", cache.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("gemmscope serve");
    let mut c = Client::new(child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let opts = if background {
        // Slow candidates with a long budget: measuring for the whole run.
        json!({"trusted": true, "candidates": ["c-naive-O1", "c-naive-O3", "c-blocked", "python-loop"], "budget": 120})
    } else {
        json!({"trusted": false})
    };
    c.initialize(opts, json!({"window": {"workDoneProgress": true}}))
        .await;
    let uri = "file:///bench/big.c";
    let text = big_file();
    assert!(text.lines().count() >= 5000);
    c.open(uri, "c", 1, &text).await;
    let d = c.diagnostics(uri, Some(1)).await;
    assert_eq!(
        d.as_array().map(|a| a.len()),
        Some(1),
        "one GEMM finding: {d}"
    );
    if background {
        c.wait_for(Duration::from_secs(120), |m| {
            m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin"
        })
        .await
        .expect("a background benchmark starts");
    }
    let mut ms = Vec::with_capacity(samples);
    for i in 0..samples {
        let v = 2 + i as i32;
        let t = Instant::now();
        c.change(
            uri,
            v,
            json!([{"range": {"start": {"line": 0, "character": 3}, "end": {"line": 0, "character": 3}}, "text": "x"}]),
        )
        .await;
        c.diagnostics(uri, Some(v)).await;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let ended_during = background
        && c.progress()
            .iter()
            .any(|m| m["params"]["value"]["kind"] == "end");
    let max = ms.iter().cloned().fold(0.0, f64::max);
    println!(
        "{label}: didChange → publishDiagnostics, 5,000-line C file, {samples} samples: \
         p50 {:.2} ms, p99 {:.2} ms, max {max:.2} ms{}",
        pct(&mut ms, 0.5),
        pct(&mut ms, 0.99),
        if ended_during {
            " (the background benchmark ended during the run)"
        } else {
            ""
        }
    );
    c.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep it short.
    let full = std::env::args().any(|a| a == "--bench");
    let samples = if full { 300 } else { 5 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        run("idle", false, samples).await;
        run("benchmark running", true, samples).await;
    });
}
