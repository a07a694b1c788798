//! Many edits through the language server, each answered with the same
//! findings as a fresh `check_text` of the text at that version: inserts
//! and deletions inside the GEMM's function (a bound changed, the
//! multiply broken and restored, a second GEMM added and removed) and
//! outside it (lines added above, a comment typed, a helper edited), one
//! by one and in bursts sent without waiting.

mod lsp_client;

use std::sync::Arc;

use gemmscope::config::{Configs, Overrides};
use gemmscope::file_check::{check_text, Input};
use serde_json::{json, Value};

const URI: &str = "untitled:edits.c";

/// (code, start line, start character, end line, end character, message)
/// of every active finding, as the diagnostics carry them (ASCII text:
/// byte columns are UTF-16 columns).
type Seen = Vec<(String, u64, u64, u64, u64, String)>;

fn expected(text: &str) -> Seen {
    let s = Arc::new(Configs::new(Overrides::default()).unwrap().settings(None));
    let input = Input {
        path: "edits.c",
        text,
        flags: None,
        from_disk: false,
        old_tree: None,
        project: None,
    };
    let c = check_text(input, &s, None).unwrap();
    let col = |line: usize, byte: usize| {
        let start = text
            .split_inclusive('\n')
            .take(line - 1)
            .map(str::len)
            .sum::<usize>();
        (byte - start) as u64
    };
    c.report
        .active()
        .map(|r| {
            let g = &r.finding.range;
            (
                r.finding.code.to_string(),
                g.start_line as u64 - 1,
                col(g.start_line, g.start_byte),
                g.end_line as u64 - 1,
                col(g.end_line, g.end_byte),
                r.finding.message.clone(),
            )
        })
        .collect()
}

fn seen(d: &Value) -> Seen {
    d.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            let r = &x["range"];
            let msg = x["message"].as_str().unwrap();
            // The finding's message, before the advice's headline.
            let msg = msg.split(" — ").next().unwrap().to_string();
            (
                x["code"].as_str().unwrap().to_string(),
                r["start"]["line"].as_u64().unwrap(),
                r["start"]["character"].as_u64().unwrap(),
                r["end"]["line"].as_u64().unwrap(),
                r["end"]["character"].as_u64().unwrap(),
                msg,
            )
        })
        .collect()
}

/// The byte offset of (line, character) in ASCII `text`.
fn offset(text: &str, line: usize, ch: usize) -> usize {
    text.split_inclusive('\n')
        .take(line)
        .map(str::len)
        .sum::<usize>()
        + ch
}

/// The line and column of the first `needle` in `text`.
fn find(text: &str, needle: &str) -> Option<(usize, usize)> {
    let at = text.find(needle)?;
    let line = text[..at].matches('\n').count();
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    Some((line, col))
}

/// One edit: replace `old` (its first occurrence; empty: insert at the
/// start of line `at_line`) by `new`.
struct Edit {
    old: &'static str,
    new: &'static str,
    at_line: usize,
}

const fn e(old: &'static str, new: &'static str) -> Edit {
    Edit {
        old,
        new,
        at_line: 0,
    }
}

const fn ins(at_line: usize, new: &'static str) -> Edit {
    Edit {
        old: "",
        new,
        at_line,
    }
}

/// The change event of `ed` applied to `text`; `None` (nothing done) where
/// `ed.old` is not in it.
fn apply(text: &mut String, ed: &Edit) -> Option<Value> {
    let (line, ch, len) = if ed.old.is_empty() {
        (ed.at_line, 0, 0)
    } else {
        let (l, c) = find(text, ed.old)?;
        (l, c, ed.old.len())
    };
    let start = offset(text, line, ch);
    let end_text = &text[..start + len];
    let end_line = end_text.matches('\n').count();
    let end_ch = start + len - end_text.rfind('\n').map_or(0, |i| i + 1);
    text.replace_range(start..start + len, ed.new);
    Some(json!([{"range": {"start": {"line": line, "character": ch},
                      "end": {"line": end_line, "character": end_ch}},
            "text": ed.new}]))
}

fn initial() -> String {
    let mut s = String::from("/* edits */\n#include <stddef.h>\n");
    for n in 0..40 {
        s.push_str(&format!(
            "static double f{n}(const double *x, size_t len) {{\n    double acc = 0.0;\n    for (size_t i = 0; i < len; i++)\n        acc += x[i] * 0.5;\n    return acc;\n}}\n\n"
        ));
    }
    s.push_str(&lsp_client::gemm_c(128, 96, 64));
    for n in 0..40 {
        s.push_str(&format!(
            "int g{n}(int a, int b) {{\n    int r = 0;\n    while (a > b) {{ r += a % 7; a--; }}\n    return r;\n}}\n\n"
        ));
    }
    s
}

const EDITS: &[Edit] = &[
    // Outside the GEMM: above it, a comment, a helper.
    ins(0, "// a new first line\n"),
    e("/* edits */", "/* edits, typed */"),
    e("acc += x[i] * 0.5;", "acc += x[i] * 0.25;"),
    ins(5, "static int extra(int v) { return v * 2; }\n"),
    // Inside the GEMM's function: bounds, the product, the loop nest.
    e("#define K 64", "#define K 640"),
    e("i < M; i++", "i < 17; i++"),
    e("A[i][k] * B[k][j]", "A[i][k] + B[k][j]"),
    e("A[i][k] + B[k][j]", "A[i][k] * B[k][j]"),
    e("C[i][j] += ", "C[i][j] = "),
    e("C[i][j] = ", "C[i][j] += "),
    e(
        "void mm(void) {",
        "void mm2(void) {\n    for (int i = 0; i < 32; i++)\n        for (int j = 0; j < 32; j++)\n            for (int k = 0; k < 32; k++)\n                C[i][j] += A[i][k] * B[k][j];\n}\nvoid mm(void) {",
    ),
    e("void mm2(void) {", "void mm2(void) { /* half typed"),
    e("void mm2(void) { /* half typed", "void mm2(void) {"),
    e("i < 17; i++", "i < M; i++"),
    // Outside again, after it.
    e("int g39(int a, int b) {", "int g39(int a, int b, int c) {"),
    ins(3, ""),
    e("// a new first line\n", ""),
    e("static int extra(int v) { return v * 2; }\n", ""),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_says_what_a_fresh_check_says() {
    let mut c = lsp_client::start_in_memory();
    c.initialize(json!({"trusted": false}), json!({})).await;
    let mut text = initial();
    c.open(URI, "c", 1, &text).await;
    let d = c.diagnostics(URI, Some(1)).await;
    assert_eq!(seen(&d), expected(&text));
    assert_eq!(seen(&d).len(), 1, "{d}");
    let mut v = 1;
    // One edit at a time: every version is answered.
    for ed in EDITS {
        v += 1;
        let changes = apply(&mut text, ed).expect("each edit applies in turn");
        c.change(URI, v, changes).await;
        let d = c.diagnostics(URI, Some(v)).await;
        assert_eq!(seen(&d), expected(&text), "after version {v}: {}", ed.new);
    }
    // Bursts: the newest version is answered, and says what a fresh check
    // of its text says.
    for round in 0..3 {
        for ed in EDITS.iter().skip(round).step_by(2) {
            if let Some(changes) = apply(&mut text, ed) {
                v += 1;
                c.change(URI, v, changes).await;
            }
        }
        let d = c.diagnostics(URI, Some(v)).await;
        assert_eq!(
            seen(&d),
            expected(&text),
            "after the burst up to version {v}"
        );
    }
    c.shutdown().await;
}
