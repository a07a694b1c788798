//! `textDocument/codeAction` through the server (in memory): the quick fix
//! for a diagnostic is a `WorkspaceEdit` whose application yields the
//! library call, after which the diagnostic is gone.

mod lsp_client;

use lsp_client::{gemm_c, Client};
use serde_json::{json, Value};

fn start() -> Client {
    lsp_client::start_in_memory()
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

/// A file on disk is analysed, and fixed, with the flags of the
/// compile_commands.json found above it (as clangd finds it): `-DN=96`
/// gives the diagnostic its size, and `-DUSE_DOUBLE` makes the quick fix
/// `cblas_dgemm`, where the default build would say `cblas_sgemm`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_on_disk_use_their_compile_commands_flags() {
    let dir = tempfile::tempdir().unwrap();
    let src = "#ifdef USE_DOUBLE\ntypedef double real;\n#else\ntypedef float real;\n#endif\n\nvoid mm(const real *A, const real *B, real *C)\n{\n    for (int i = 0; i < N; i++)\n        for (int j = 0; j < N; j++)\n            for (int k = 0; k < N; k++)\n                C[i*N + j] += A[i*N + k] * B[k*N + j];\n}\n";
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::create_dir_all(dir.path().join("build")).unwrap();
    let file = dir.path().join("src/mm.c");
    std::fs::write(&file, src).unwrap();
    let root = dir.path().display();
    std::fs::write(
        dir.path().join("build/compile_commands.json"),
        format!(
            "[{{\"directory\": \"{root}/build\", \"file\": \"../src/mm.c\", \
             \"command\": \"cc -O2 -DN=96 -DUSE_DOUBLE -c ../src/mm.c\"}}]"
        ),
    )
    .unwrap();
    let mut c = start();
    c.initialize(json!({}), json!({"textDocument": {"diagnostic": {}}}))
        .await;
    let uri = format!("file://{}", file.display());
    c.open(&uri, "c", 1, src).await;
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let diag = d["result"]["items"][0].clone();
    assert_eq!(diag["code"], "GS101", "{d}");
    assert!(
        diag["message"].as_str().unwrap().contains("96×96×96"),
        "{diag}"
    );
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
    let edits = r["result"][0]["edit"]["changes"][&uri]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"));
    let fixed = apply(src, edits);
    assert!(fixed.contains("cblas_dgemm(CblasRowMajor"), "{fixed}");
    c.shutdown().await;
}

/// "Assume a size for this loop…" writes a `gemmscope: size` comment for the
/// names of the unknown sizes; once applied, the diagnostic has the size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_a_size_writes_the_annotation() {
    let mut c = start();
    c.initialize(json!({}), json!({"textDocument": {"diagnostic": {}}}))
        .await;
    let uri = "file:///mem/assume/a.c";
    let text = "void mm(const float *A, const float *B, float *C, int n, int k)\n{\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int p = 0; p < k; p++)\n                C[i*n + j] += A[i*k + p] * B[p*n + j];\n}\n";
    c.open(uri, "c", 1, text).await;
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let diag = d["result"]["items"][0].clone();
    assert!(diag["message"].as_str().unwrap().contains("n×n×k"), "{d}");
    let r = c
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": diag["range"],
                   "context": {"diagnostics": [diag]}}),
        )
        .await;
    let actions = r["result"].as_array().unwrap_or_else(|| panic!("{r}"));
    let a = actions
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .is_some_and(|t| t.contains("assume a size"))
        })
        .unwrap_or_else(|| panic!("{r}"));
    assert_eq!(a["kind"], "refactor.rewrite");
    let edited = apply(text, a["edit"]["changes"][uri].as_array().unwrap());
    assert!(
        edited.contains("{\n    // gemmscope: size n=1024 k=1024\n    for (int i = 0;"),
        "{edited}"
    );
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"text": edited}]}),
    )
    .await;
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let msg = d["result"]["items"][0]["message"].as_str().unwrap_or("");
    assert!(msg.contains("1024×1024×1024"), "{d}");
    c.shutdown().await;
}
