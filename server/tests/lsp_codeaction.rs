//! `textDocument/codeAction` through the server (in memory): the quick fix
//! for a diagnostic is a `WorkspaceEdit` whose application yields the
//! library call, after which the diagnostic is gone.

mod lsp_client;

use gemmscope::lsp::{serve, ServeOptions};
use lsp_client::{gemm_c, Client};
use serde_json::{json, Value};

fn start() -> Client {
    let (server_end, client_end) = tokio::io::duplex(1 << 20);
    let (sr, sw) = tokio::io::split(server_end);
    tokio::spawn(serve(
        sr,
        sw,
        ServeOptions {
            bench_child: vec![
                env!("CARGO_BIN_EXE_gemmscope").into(),
                "__bench-child".into(),
            ],
        },
    ));
    let (cr, cw) = tokio::io::split(client_end);
    Client::new(cr, cw)
}

/// Applies LSP text edits to an ASCII text (positions are line/column).
fn apply(text: &str, edits: &[Value]) -> String {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let off = |p: &Value| {
        starts[p["line"].as_u64().unwrap() as usize] + p["character"].as_u64().unwrap() as usize
    };
    let mut es: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                off(&e["range"]["start"]),
                off(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    es.sort_by_key(|e| (e.0, e.1));
    let mut out = text.to_string();
    for (s, e, t) in es.into_iter().rev() {
        out.replace_range(s..e, &t);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quick_fix_for_a_diagnostic_applies_the_library_call() {
    let mut c = start();
    let init = c
        .initialize(json!({}), json!({"textDocument": {"diagnostic": {}}}))
        .await;
    assert_eq!(init["result"]["capabilities"]["codeActionProvider"], true);
    let uri = "file:///mem/fix/a.c";
    let text = gemm_c(48, 32, 16);
    c.open(uri, "c", 1, &text).await;
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let diag = d["result"]["items"][0].clone();
    assert_eq!(diag["code"], "GS101", "{d}");
    let r = c
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": diag["range"],
                "context": {"diagnostics": [diag]}
            }),
        )
        .await;
    let actions = r["result"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(actions.len(), 1, "{r}");
    let a = &actions[0];
    assert_eq!(a["kind"], "quickfix");
    assert_eq!(a["isPreferred"], true);
    assert_eq!(a["diagnostics"][0]["code"], "GS101");
    let edits = a["edit"]["changes"][uri].as_array().unwrap();
    let fixed = apply(&text, edits);
    assert!(fixed.starts_with("#include <cblas.h>\n"), "{fixed}");
    assert!(
        fixed.contains("    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, &A[0][0], K, &B[0][0], N, 1.0f, &C[0][0], N);\n}"),
        "{fixed}"
    );
    // The client applies the edit: the finding is gone.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"text": fixed}]}),
    )
    .await;
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(
        d["result"]["items"].as_array().map(Vec::len),
        Some(0),
        "{d}"
    );
    c.shutdown().await;
}
