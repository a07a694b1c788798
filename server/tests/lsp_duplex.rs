//! The server's handlers in memory (tokio duplex pipes), no process.

mod lsp_client;

use std::time::Duration;

use lsp_client::{gemm_c, Client};
use serde_json::{json, Value};

fn start() -> Client {
    lsp_client::start_in_memory()
}

fn logs(c: &Client) -> Vec<String> {
    c.seen
        .iter()
        .filter(|m| m["method"] == "window/logMessage")
        .map(|m| m["params"]["message"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_diagnostics_when_the_client_asks_for_them() {
    let mut c = start();
    let init = c
        .initialize(json!({}), json!({"textDocument": {"diagnostic": {}}}))
        .await;
    assert_eq!(
        init["result"]["capabilities"]["diagnosticProvider"]["identifier"],
        "gemmscope"
    );
    let uri = "file:///mem/a.c";
    c.open(uri, "c", 1, &gemm_c(32, 32, 32)).await;
    let r = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(r["result"]["kind"], "full", "{r}");
    assert_eq!(r["result"]["items"][0]["code"], "GS101");
    // Pull mode: nothing is pushed.
    c.drain(Duration::from_millis(300)).await;
    assert!(!c
        .seen
        .iter()
        .any(|m| m["method"] == "textDocument/publishDiagnostics"));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_results_are_dropped_and_the_last_version_wins() {
    let mut c = start();
    c.initialize(json!({}), json!({})).await;
    let uri = "file:///mem/b.c";
    c.open(uri, "c", 1, &gemm_c(10, 10, 10)).await;
    // A burst of edits: each rewrites the whole text with a new K.
    for v in 2..=30 {
        c.change(uri, v, json!([{"text": gemm_c(10, 10, v as u32)}]))
            .await;
    }
    let d = c.diagnostics(uri, Some(30)).await;
    assert!(
        d[0]["message"].as_str().unwrap().contains("10×10×30"),
        "{d}"
    );
    c.drain(Duration::from_millis(300)).await;
    let versions: Vec<i64> = c
        .seen
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        .map(|m| m["params"]["version"].as_i64().unwrap())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    assert_eq!(*versions.last().unwrap(), 30);
    // An out-of-date change is refused, and the text stays.
    c.change(uri, 5, json!([{"text": ""}])).await;
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 6, "character": 10}}),
        )
        .await;
    assert!(h["result"]["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("10×10×30"));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pathological_files_are_skipped_with_a_logged_reason() {
    let mut c = start();
    c.initialize(json!({"maxNesting": 100}), json!({})).await;
    let deep = format!(
        "void f(void) {}{}\n{}",
        "{".repeat(5000),
        "}".repeat(5000),
        gemm_c(8, 8, 8)
    );
    c.open("file:///mem/deep.c", "c", 1, &deep).await;
    assert_eq!(
        c.diagnostics("file:///mem/deep.c", Some(1)).await,
        json!([])
    );
    assert!(
        logs(&c).iter().any(|l| l.contains("nesting depth 5000")),
        "{:?}",
        logs(&c)
    );
    // A 10 MB file: analysed within the budget (a GEMM at its end is
    // found) or skipped with a reason; never a hang or a crash.
    let mut big = String::with_capacity(11 << 20);
    while big.len() < 10 << 20 {
        big.push_str("static int filler_variable_with_a_long_name = 12345;\n");
    }
    big.push_str(&gemm_c(8, 8, 8));
    c.open("file:///mem/big.c", "c", 1, &big).await;
    let d = c.diagnostics("file:///mem/big.c", Some(1)).await;
    let found = d.as_array().is_some_and(|a| a.len() == 1);
    let skipped = logs(&c)
        .iter()
        .any(|l| l.contains("big.c") && l.contains("ms"));
    assert!(found || skipped, "{d} {:?}", logs(&c));
    // The server still answers.
    c.open("file:///mem/ok.c", "c", 1, &gemm_c(8, 8, 8)).await;
    assert_eq!(
        c.diagnostics("file:///mem/ok.c", Some(1)).await[0]["code"],
        "GS101"
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_change_inlay_hints() {
    let mut c = start();
    c.initialize(json!({"gemmscope": {"inlayHints": false}}), json!({}))
        .await;
    let uri = "file:///mem/c.c";
    c.open(uri, "c", 1, &gemm_c(8, 8, 8)).await;
    c.diagnostics(uri, Some(1)).await;
    let range = json!({"start": {"line": 0, "character": 0}, "end": {"line": 99, "character": 0}});
    let ih = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": uri}, "range": range}),
        )
        .await;
    assert_eq!(ih["result"], json!([]));
    // A bad value is reported and ignored; the rest applies.
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"gemmscope": {"inlayHints": true, "budget": "lots"}}}),
    )
    .await;
    let w = c
        .wait_for(Duration::from_secs(10), |m| {
            m["method"] == "window/logMessage"
                && m["params"]["message"]
                    .as_str()
                    .is_some_and(|s| s.contains("`budget` ignored"))
        })
        .await;
    assert!(w.is_some());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_folders_and_watched_files_are_analysed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("on_disk.c"), gemm_c(16, 16, 16)).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "for for for").unwrap();
    let folder = format!("file://{}", dir.path().display());
    let mut c = start();
    c.request(
        "initialize",
        json!({"processId": null, "capabilities": {},
               "workspaceFolders": [{"uri": folder, "name": "w"}]}),
    )
    .await;
    c.notify("initialized", json!({})).await;
    let uri = format!("{folder}/on_disk.c");
    let d = c.diagnostics(&uri, None).await;
    assert_eq!(d[0]["code"], "GS101");
    // A new file appears and is announced by the client's watcher.
    std::fs::write(dir.path().join("new.py"), "N = 4\ndef mm(A, B, C):\n    for i in range(N):\n        for j in range(N):\n            for k in range(N):\n                C[i][j] += A[i][k] * B[k][j]\n").unwrap();
    let new_uri = format!("{folder}/new.py");
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": new_uri, "type": 1}]}),
    )
    .await;
    let d = c.diagnostics(&new_uri, None).await;
    assert_eq!(d[0]["code"], "GS101");
    // Deleted: its diagnostics are cleared.
    std::fs::remove_file(dir.path().join("new.py")).unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": new_uri, "type": 3}]}),
    )
    .await;
    assert_eq!(c.diagnostics(&new_uri, None).await, json!([]));
    assert!(!c.seen.iter().any(|m| m["params"]["uri"]
        .as_str()
        .is_some_and(|u| u.ends_with(".txt"))));
    let _: Value = Value::Null;
    c.shutdown().await;
}
