//! Incremental sync with incremental re-parsing: a document edited through
//! many `didChange`s (UTF-16 ranges, multi-byte characters, lines inserted
//! and deleted, edits arriving while analyses run) gets exactly the
//! diagnostics that opening its final text afresh gets.

mod lsp_client;

use lsp_client::{gemm_c, Client};
use serde_json::{json, Value};

fn start() -> Client {
    lsp_client::start_in_memory()
}

/// The byte offset of (line, UTF-16 column) in `text` — the test's own
/// reading of LSP positions, independent of the server's.
fn offset(text: &str, line: u32, col: u32) -> usize {
    let mut start = 0;
    for _ in 0..line {
        start += text[start..].find('\n').expect("line exists") + 1;
    }
    let mut units = 0;
    for (i, ch) in text[start..].char_indices() {
        if units >= col || ch == '\n' {
            return start + i;
        }
        units += ch.len_utf16() as u32;
    }
    text.len()
}

/// A document being edited on the client's side.
struct Doc {
    text: String,
    version: i32,
}

impl Doc {
    /// One content change: applied here, returned for `didChange`.
    fn change(&mut self, (sl, sc): (u32, u32), (el, ec): (u32, u32), new: &str) -> Value {
        let a = offset(&self.text, sl, sc);
        let b = offset(&self.text, el, ec);
        self.text.replace_range(a..b, new);
        json!({"range": {"start": {"line": sl, "character": sc},
                         "end": {"line": el, "character": ec}},
               "text": new})
    }

    async fn send(&mut self, c: &mut Client, uri: &str, changes: Vec<Value>) -> i32 {
        self.version += 1;
        c.change(uri, self.version, Value::Array(changes)).await;
        self.version
    }
}

/// Diagnostics with the document's URI taken out, to compare two documents.
fn strip(d: &Value, uri: &str) -> String {
    d.to_string().replace(uri, "<uri>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_edits_give_the_diagnostics_of_a_fresh_open() {
    let mut c = start();
    c.initialize(json!({"trusted": false}), json!({})).await;

    // C: the GEMM after a comment with 2-, 3- and 4-byte characters.
    let uri = "file:///mem/edited.c";
    let mut d = Doc {
        text: gemm_c(64, 48, 32).replace("void mm", "/* é中𝔸 */ void mm"),
        version: 1,
    };
    c.open(uri, "c", 1, &d.text).await;
    let first = c.diagnostics(uri, Some(1)).await;
    assert_eq!(first[0]["code"], "GS101", "{first}");

    // A burst of edits sent without waiting: analyses overlap with them.
    // Line 4 is `/* é中𝔸 */ void mm(void) {`: "é中𝔸" is 4 UTF-16 units.
    let ch = vec![d.change((4, 7), (4, 7), "𝔸 ")];
    d.send(&mut c, uri, ch).await;
    let ch = vec![d.change((2, 10), (2, 12), "40")]; // K 32 → 40
    d.send(&mut c, uri, ch).await;
    // Insert lines (a helper function) before the GEMM's function.
    let ch = vec![d.change(
        (4, 0),
        (4, 0),
        "static int twice(int x) {\n    return 2 * x; /* ² */\n}\n",
    )];
    d.send(&mut c, uri, ch).await;
    // Several changes in one notification: indent the k loop with
    // multi-byte text, then change M.
    let ch = vec![
        d.change((10, 0), (10, 0), "/* Σ */"),
        d.change((0, 10), (0, 12), "128"),
    ];
    d.send(&mut c, uri, ch).await;
    // Delete lines: the helper again (lines 4–6).
    let ch = vec![d.change((4, 0), (7, 0), "")];
    let v = d.send(&mut c, uri, ch).await;
    let mid = c.diagnostics(uri, Some(v)).await;
    assert!(
        mid[0]["message"].as_str().unwrap().contains("128×48×40"),
        "{mid}"
    );
    assert!(d
        .text
        .contains("/* Σ */            for (int k = 0; k < K; k++)\n"));
    // A syntax error and its repair, each waited for.
    // Line 7 is `/* Σ */            for (int k = 0; k < K; k++)`.
    let ch = vec![d.change((7, 43), (7, 46), "")]; // `k++)` → `k`: no `)`
    let v = d.send(&mut c, uri, ch).await;
    c.diagnostics(uri, Some(v)).await;
    let ch = vec![d.change((7, 43), (7, 43), "++)")];
    d.send(&mut c, uri, ch).await;
    // Join two lines and split one: the `#define N` line merged into the
    // `#define M` line's comment, then a new `#define N`.
    let ch = vec![
        d.change((0, 13), (1, 0), " // "),
        d.change((0, 17), (0, 17), "\n"),
    ];
    let v = d.send(&mut c, uri, ch).await;
    let edited = c.diagnostics(uri, Some(v)).await;

    let fresh_uri = "file:///mem/fresh.c";
    c.open(fresh_uri, "c", 1, &d.text).await;
    let fresh = c.diagnostics(fresh_uri, Some(1)).await;
    assert_eq!(fresh.as_array().unwrap().len(), 1, "{fresh}\n{}", d.text);
    assert_eq!(strip(&edited, uri), strip(&fresh, fresh_uri), "{}", d.text);

    // Python: lines inserted into and deleted from the nest, multi-byte
    // comments, a dim changed.
    let uri = "file:///mem/edited.py";
    let mut d = Doc {
        text: "N = 64\n# é\ndef mm(A, B):\n    C = [[0.0] * N for _ in range(N)]\n    for i in range(N):\n        for j in range(N):\n            for k in range(N):\n                C[i][j] += A[i][k] * B[k][j]\n    return C\n".into(),
        version: 1,
    };
    c.open(uri, "python", 1, &d.text).await;
    assert_eq!(c.diagnostics(uri, Some(1)).await[0]["code"], "GS101");
    let ch = vec![d.change((1, 3), (1, 3), "中𝔸")];
    d.send(&mut c, uri, ch).await;
    let ch = vec![d.change((6, 0), (6, 0), "            # Σ\n            s = 0\n")];
    d.send(&mut c, uri, ch).await;
    let ch = vec![d.change((0, 4), (0, 6), "256")];
    d.send(&mut c, uri, ch).await;
    let ch = vec![d.change((6, 0), (7, 0), "")];
    let v = d.send(&mut c, uri, ch).await;
    let edited = c.diagnostics(uri, Some(v)).await;
    let fresh_uri = "file:///mem/fresh.py";
    c.open(fresh_uri, "python", 1, &d.text).await;
    let fresh = c.diagnostics(fresh_uri, Some(1)).await;
    assert_eq!(fresh.as_array().unwrap().len(), 1, "{fresh}\n{}", d.text);
    assert!(
        fresh[0]["message"]
            .as_str()
            .unwrap()
            .contains("256×256×256"),
        "{fresh}"
    );
    assert_eq!(strip(&edited, uri), strip(&fresh, fresh_uri), "{}", d.text);
    c.shutdown().await;
}
