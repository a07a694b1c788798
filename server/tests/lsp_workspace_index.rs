//! A large workspace is indexed in the background: the document opened
//! right after `initialized` gets its diagnostics before the index is
//! done, the indexing is shown with `$/progress` begin/report/end, and
//! when it ends the open document is analysed again with the sizes the
//! workspace's call sites give.

mod lsp_client;

use std::time::Duration;

use serde_json::{json, Value};

const KERNEL: &str = "void mm(float *C, const float *A, const float *B, int n)\n\
{\n\
    for (int i = 0; i < n; i++)\n\
        for (int j = 0; j < n; j++) {\n\
            float s = 0.0f;\n\
            for (int k = 0; k < n; k++)\n\
                s += A[i * n + k] * B[k * n + j];\n\
            C[i * n + j] = s;\n\
        }\n\
}\n";

/// `files` small C files over 20 folders, one of which calls `mm` at 640.
fn workspace(files: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..files {
        let sub = dir.path().join(format!("m{:02}", i % 20));
        std::fs::create_dir_all(&sub).unwrap();
        let mut s = format!("int g{i}(int a);\n");
        for f in 0..4 {
            s.push_str(&format!(
                "int f{i}_{f}(int a, int b)\n{{\n    int r = 0;\n    while (a > b) {{ r += g{i}(a % 7); a--; }}\n    return r + f{i}_{f}(b, {f});\n}}\n"
            ));
        }
        if i == files / 2 {
            s.push_str(
                "void mm(float *C, const float *A, const float *B, int n);\n\
                 void run(float *C) { mm(C, C, C, 640); }\n",
            );
        }
        std::fs::write(sub.join(format!("w{i}.c")), s).unwrap();
    }
    std::fs::write(dir.path().join("kernel.c"), KERNEL).unwrap();
    dir
}

fn is_index(m: &Value, kind: &str) -> bool {
    m["method"] == "$/progress"
        && m["params"]["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("gemmscope/index/"))
        && m["params"]["value"]["kind"] == kind
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_diagnostics_do_not_wait_for_the_index() {
    let dir = workspace(2000);
    let folder = format!("file://{}", dir.path().display());
    let mut c = lsp_client::start_in_memory();
    c.request(
        "initialize",
        json!({"processId": null,
               "capabilities": {"window": {"workDoneProgress": true}},
               "workspaceFolders": [{"uri": folder, "name": "w"}]}),
    )
    .await;
    c.notify("initialized", json!({})).await;
    let uri = format!("{folder}/kernel.c");
    c.open(&uri, "c", 1, KERNEL).await;
    let first = c.diagnostics(&uri, Some(1)).await;
    assert_eq!(first[0]["code"], "GS101", "{first}");
    assert!(
        !c.seen.iter().any(|m| is_index(m, "end")),
        "the index ended before the first diagnostics: {:?}",
        c.progress()
    );
    c.wait_for(Duration::from_secs(300), |m| is_index(m, "end"))
        .await
        .expect("the indexing ends");
    let begin = c.seen.iter().position(|m| is_index(m, "begin"));
    let end = c.seen.iter().position(|m| is_index(m, "end"));
    assert!(begin.is_some() && begin < end, "{:?}", c.progress());
    assert!(
        c.seen.iter().any(|m| is_index(m, "report")),
        "{:?}",
        c.progress()
    );
    // Re-published with the call site's size once the index is complete.
    let sized = c
        .wait_for(Duration::from_secs(60), |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri.as_str()
                && m["params"]["diagnostics"][0]["message"]
                    .as_str()
                    .is_some_and(|s| s.contains("640×640×640"))
        })
        .await;
    assert!(sized.is_some(), "not re-published with the index's sizes");
    c.shutdown().await;
}
