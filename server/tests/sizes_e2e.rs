//! A size from a call site in another file reaches every presenter: the
//! text message and its `= sizes:` line, the JSON and SARIF dims with their
//! source, and in the editor the diagnostic, the hover and the inlay hint
//! (docs/sizes.md).

mod lsp_client;

use std::path::Path;
use std::process::Command;
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

const MAIN: &str = "void mm(float *C, const float *A, const float *B, int n);\n\
int main(void)\n\
{\n\
    static float A[700 * 700], B[700 * 700], C[700 * 700];\n\
    int size = 700;\n\
    mm(C, A, B, size);\n\
    return 0;\n\
}\n";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kernel.c"), KERNEL).unwrap();
    std::fs::write(dir.path().join("main.c"), MAIN).unwrap();
    dir
}

fn check(dir: &Path, format: &str) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(["check", "--no-config", "--format", format, "."])
        .current_dir(dir)
        .output()
        .expect("run gemmscope");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn assert_call_site(dim: &Value) {
    assert_eq!(dim["value"], 700, "{dim}");
    assert_eq!(dim["source"]["kind"], "call-site", "{dim}");
    assert_eq!(dim["source"]["caller"], "main", "{dim}");
    assert_eq!(dim["source"]["file"], "main.c", "{dim}");
    assert_eq!(dim["source"]["line"], 6, "{dim}");
    assert_eq!(dim["source"]["via"]["kind"], "local", "{dim}");
}

#[test]
fn a_call_site_size_reaches_the_text_the_json_and_the_sarif() {
    let dir = project();
    let text = check(dir.path(), "text");
    assert!(text.contains("GEMM 700×700×700"), "{text}");
    assert!(
        text.contains(
            "= sizes: M=700 (n at the call mm(…) in `main`, main.c:6; local size, line 5)"
        ),
        "{text}"
    );
    let json: Value = serde_json::from_str(&check(dir.path(), "json")).unwrap();
    let f = &json["findings"][0];
    assert!(f["message"].as_str().unwrap().contains("700×700×700"));
    for d in ["m", "n", "k"] {
        assert_call_site(&f["dims"][d]);
    }
    let sarif: Value = serde_json::from_str(&check(dir.path(), "sarif")).unwrap();
    let r = &sarif["runs"][0]["results"][0];
    assert!(r["message"]["text"]
        .as_str()
        .unwrap()
        .contains("700×700×700"));
    assert_call_site(&r["properties"]["dims"]["m"]);
}

#[test]
fn without_the_caller_the_size_stays_unknown() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kernel.c"), KERNEL).unwrap();
    // A caller of another function with the same parameter name.
    std::fs::write(
        dir.path().join("main.c"),
        "void other(int n);\nint main(void) { other(700); return 0; }\n",
    )
    .unwrap();
    let json: Value = serde_json::from_str(&check(dir.path(), "json")).unwrap();
    let m = &json["findings"][0]["dims"]["m"];
    assert_eq!(m["value"], Value::Null, "{m}");
    assert_eq!(m.get("source"), None, "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_site_size_reaches_the_editor() {
    let dir = project();
    let folder = format!("file://{}", dir.path().display());
    let mut c = lsp_client::start_in_memory();
    c.request(
        "initialize",
        json!({"processId": null, "capabilities": {},
               "workspaceFolders": [{"uri": folder, "name": "w"}]}),
    )
    .await;
    c.notify("initialized", json!({})).await;
    let uri = format!("{folder}/kernel.c");
    let d = c.diagnostics(&uri, None).await;
    assert_eq!(d[0]["code"], "GS101", "{d}");
    assert!(
        d[0]["message"].as_str().unwrap().contains("700×700×700"),
        "{d}"
    );
    let hover = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 2, "character": 6}}),
        )
        .await;
    let md = hover["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(md.contains("sizes: M=700"), "{md}");
    assert!(md.contains("main.c:6"), "{md}");
    let range = json!({"start": {"line": 0, "character": 0}, "end": {"line": 99, "character": 0}});
    let ih = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": uri}, "range": range}),
        )
        .await;
    let label = ih["result"][0]["label"].as_str().unwrap_or("");
    assert!(!label.is_empty(), "{ih}");
    // One number at the known size, not a range over assumed sizes.
    assert!(
        label.ends_with("/output") && !label.contains('–'),
        "{label}"
    );
    // The caller is edited: the kernel's size follows.
    let main_uri = format!("{folder}/main.c");
    c.open(&main_uri, "c", 1, &MAIN.replace("700;", "900;"))
        .await;
    let moved = c
        .wait_for(Duration::from_secs(20), |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri.as_str()
                && m["params"]["diagnostics"][0]["message"]
                    .as_str()
                    .is_some_and(|s| s.contains("900×900×900"))
        })
        .await;
    assert!(
        moved.is_some(),
        "the kernel was not re-analysed with the new call site"
    );
    c.drain(Duration::from_millis(10)).await;
    c.shutdown().await;
}

#[test]
fn a_wrapper_in_a_third_file_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kernel.c"), KERNEL).unwrap();
    std::fs::write(
        dir.path().join("wrap.c"),
        "void mm(float *C, const float *A, const float *B, int n);\n\
         void run(float *C, int n) { mm(C, C, C, n); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.c"),
        "void run(float *C, int n);\nint main(void) { run(0, 333); run(0, 333); run(0, 64); return 0; }\n",
    )
    .unwrap();
    let json: Value = serde_json::from_str(&check(dir.path(), "json")).unwrap();
    let m = &json["findings"][0]["dims"]["m"];
    assert_eq!(m["value"], 333, "{m}");
    assert_eq!(m["others"], json!([64]), "{m}");
    assert_eq!(m["source"]["caller"], "run", "{m}");
    assert_eq!(m["source"]["via"]["kind"], "call-site", "{m}");
    assert_eq!(m["source"]["via"]["sites"], 2, "{m}");
}

#[test]
fn a_call_site_argument_from_the_caller_s_header_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kernel.c"), KERNEL).unwrap();
    std::fs::write(
        dir.path().join("dims.h"),
        "#ifndef SMALL\n# define SIZE 1500\n#else\n# define SIZE 60\n#endif\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("main.c"),
        "#include \"dims.h\"\nvoid mm(float *C, const float *A, const float *B, int n);\n\
         int main(void) { mm(0, 0, 0, SIZE); return 0; }\n",
    )
    .unwrap();
    let json: Value = serde_json::from_str(&check(dir.path(), "json")).unwrap();
    let m = &json["findings"][0]["dims"]["m"];
    assert_eq!(m["value"], 1500, "{m}");
    assert_eq!(m["source"]["via"]["kind"], "constant", "{m}");
    assert_eq!(m["source"]["via"]["file"], "dims.h", "{m}");
    assert_eq!(m["source"]["via"]["line"], 2, "{m}");
}

#[test]
fn the_configuration_s_sizes_table_gives_a_function_its_sizes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kernel.c"), KERNEL).unwrap();
    std::fs::write(dir.path().join("gemmscope.toml"), "[sizes.mm]\nn = 2048\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(["check", "--format", "json", "kernel.c"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = &json["findings"][0]["dims"]["m"];
    assert_eq!(m["value"], 2048, "{m}");
    assert_eq!(
        m["source"],
        json!({"kind": "config", "function": "mm", "name": "n"})
    );
    // A value that is not a positive integer is a configuration error.
    std::fs::write(dir.path().join("gemmscope.toml"), "[sizes.mm]\nn = -4\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(["check", "kernel.c"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("gemmscope.toml"));
}
