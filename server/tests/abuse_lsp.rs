//! The real `gemmscope serve` over stdio under abuse: malformed JSON-RPC,
//! unknown methods, requests for documents never opened, positions out of
//! range, a burst of 1,000 edits, a 20 MB file and 10,000-deep nesting.
//! After every abuse case the server must still answer a valid request
//! (a diagnostic and a hover on a fresh document), and at the end its peak
//! resident memory (`VmHWM`) must be under [`MEMORY_BOUND`].
//!
//! Complements `lsp_stdio.rs` (truncated JSON, one unknown method, bad
//! hover params) and `lsp_duplex.rs` (5,000-deep braces, a 10 MB file, in
//! memory): these run as a separate process so that memory can be read.

mod lsp_client;

use std::process::Stdio;
use std::time::Duration;

use lsp_client::{frame, gemm_c, Client};
use serde_json::{json, Value};

/// The server's peak resident memory must stay under this (the 20 MB file
/// is held as text, as the JSON it arrived in, and once more while an edit
/// replaces it).
const MEMORY_BOUND: u64 = 1 << 30;

struct Server {
    child: tokio::process::Child,
    client: Client,
    /// Fresh documents opened by `still_serving`.
    probes: u32,
}

fn spawn(cache: &std::path::Path) -> Server {
    spawn_logging(cache, Stdio::null())
}

/// With the server's stderr (its log) going to `log`.
fn spawn_logging(cache: &std::path::Path, log: Stdio) -> Server {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .arg("serve")
        .env("GEMMSCOPE_CACHE_DIR", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start gemmscope serve");
    let out = child.stdout.take().unwrap();
    let inp = child.stdin.take().unwrap();
    Server {
        child,
        client: Client::new(out, inp),
        probes: 0,
    }
}

/// `VmHWM` (peak resident set) and `VmRSS` of a process, in bytes.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

impl Server {
    /// Opens a new document with a GEMM in it and asks for its diagnostics
    /// and a hover: the server is alive and serving.
    async fn still_serving(&mut self, after: &str) {
        self.probes += 1;
        let uri = format!("file:///tmp/gemmscope-abuse/probe{}.c", self.probes);
        let c = &mut self.client;
        c.open(&uri, "c", 1, &gemm_c(8, 8, self.probes + 1)).await;
        let d = tokio::time::timeout(Duration::from_secs(60), c.diagnostics(&uri, Some(1)))
            .await
            .unwrap_or_else(|_| panic!("no diagnostics after {after}"));
        assert_eq!(d[0]["code"], "GS101", "after {after}: {d}");
        let h = c
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": uri}, "position": {"line": 6, "character": 12}}),
            )
            .await;
        let md = h["result"]["contents"]["value"].as_str().unwrap_or("");
        assert!(md.contains("GS101"), "hover after {after}: {h}");
    }

    /// Peak memory so far; asserts the bound.
    fn peak(&self, after: &str) -> u64 {
        let pid = self.child.id().expect("server still running");
        let (hwm, rss) = memory(pid);
        assert!(hwm > 0, "cannot read /proc/{pid}/status");
        eprintln!(
            "abuse: after {after}: peak RSS {:.1} MiB, RSS now {:.1} MiB",
            hwm as f64 / (1 << 20) as f64,
            rss as f64 / (1 << 20) as f64
        );
        assert!(
            hwm < MEMORY_BOUND,
            "peak RSS {hwm} bytes after {after} is over the bound of {MEMORY_BOUND}"
        );
        hwm
    }

    async fn stop(mut self) {
        self.client.shutdown().await;
        let st = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("server exits after `exit`")
            .unwrap();
        assert!(st.success(), "{st:?}");
    }
}

fn logs(c: &Client) -> Vec<String> {
    c.seen
        .iter()
        .filter(|m| m["method"] == "window/logMessage")
        .map(|m| m["params"]["message"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Waits for the error response to a malformed frame (id as recovered).
async fn error_for(c: &mut Client, what: &str) -> Value {
    c.wait_for(Duration::from_secs(20), |m| {
        m.get("error").is_some() && m.get("method").is_none()
    })
    .await
    .unwrap_or_else(|| panic!("no error response to {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_rpc_gets_errors_and_the_server_goes_on() {
    let cache = tempfile::tempdir().unwrap();
    let mut s = spawn(cache.path());
    s.client.initialize(json!({}), json!({})).await;
    s.still_serving("initialize").await;
    let mut cases = 0;

    // Bodies that are not JSON, or JSON that is not JSON-RPC 2.0: a parse
    // error (-32700), with the id where it can be read.
    let bad_bodies: &[(&str, &[u8], Value)] = &[
        ("not JSON", b"hello, server", Value::Null),
        (
            "invalid UTF-8",
            b"{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"\xff\xfe\"}",
            json!(41),
        ),
        (
            "a JSON array (batch)",
            br#"[{"jsonrpc":"2.0","id":42,"method":"shutdown"}]"#,
            Value::Null,
        ),
        ("a JSON number", b"12345", Value::Null),
        (
            "JSON-RPC 1.0",
            br#"{"id":43,"method":"textDocument/hover","params":{}}"#,
            json!(43),
        ),
        (
            "method not a string",
            br#"{"jsonrpc":"2.0","id":44,"method":7}"#,
            json!(44),
        ),
        ("empty body", b"", Value::Null),
        (
            "nesting 100,000 deep",
            &{
                let mut v = b"{\"jsonrpc\":\"2.0\",\"id\":45,\"method\":\"x\",\"params\":".to_vec();
                v.extend(std::iter::repeat_n(b'[', 100_000));
                v.extend(std::iter::repeat_n(b']', 100_000));
                v.push(b'}');
                v
            },
            json!(45),
        ),
    ];
    for (what, body, id) in bad_bodies {
        let mut f = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        f.extend_from_slice(body);
        s.client.send_raw(&f).await;
        let e = error_for(&mut s.client, what).await;
        assert_eq!(e["error"]["code"], -32700, "{what}: {e}");
        assert_eq!(e["id"], *id, "{what}: {e}");
        s.still_serving(what).await;
        cases += 1;
    }

    // Broken framing: no Content-Length, a non-number, a negative one.
    for (what, raw) in [
        (
            "no Content-Length",
            "Content-Type: application/json\r\n\r\n",
        ),
        ("Content-Length: abc", "Content-Length: abc\r\n\r\n"),
        ("Content-Length: -5", "Content-Length: -5\r\n\r\n"),
    ] {
        s.client.send_raw(raw.as_bytes()).await;
        let e = error_for(&mut s.client, what).await;
        assert_eq!(e["error"]["code"], -32700, "{what}: {e}");
        s.still_serving(what).await;
        cases += 1;
    }

    // Extra headers are fine.
    let body = json!({"jsonrpc": "2.0", "id": 900, "method": "shutdownX"}).to_string();
    s.client
        .send_raw(
            format!(
                "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await;
    let r = s.client.response(json!(900)).await;
    assert_eq!(r["error"]["code"], -32601, "{r}");
    cases += 1;

    // Unknown methods: requests get -32601, notifications are ignored
    // (`$/` ones by the spec), whatever their params.
    for (i, m) in [
        "workspace/executeCommand",
        "textDocument/formatting",
        "$/secret",
        "x",
    ]
    .iter()
    .enumerate()
    {
        let r = s.client.request(m, json!({"a": [1, 2, {"b": null}]})).await;
        assert!(
            r["error"]["code"] == -32601 || r["error"]["code"] == -32602,
            "{m}: {r}"
        );
        s.client.notify(m, json!(i)).await;
        cases += 2;
    }
    s.client
        .notify("$/cancelRequest", json!({"id": 123456}))
        .await;
    s.client
        .notify("$/setTrace", json!({"value": "verbose"}))
        .await;
    // A response to a request the server never sent.
    s.client
        .send(json!({"jsonrpc": "2.0", "id": 987654, "result": {"x": 1}}))
        .await;
    // Wrong params for notifications: dropped (no reply is possible).
    s.client
        .notify("textDocument/didOpen", json!({"textDocument": 5}))
        .await;
    s.client
        .notify("textDocument/didChange", json!([1, 2, 3]))
        .await;
    s.client
        .notify("workspace/didChangeConfiguration", json!(null))
        .await;
    cases += 6;
    // A second initialize is refused.
    let r = s
        .client
        .request("initialize", json!({"capabilities": {}}))
        .await;
    assert!(r.get("error").is_some(), "{r}");
    cases += 1;
    s.still_serving("unknown methods and bad notifications")
        .await;
    eprintln!("abuse: {cases} malformed-message cases");
    s.peak("malformed messages");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unopened_documents_and_positions_out_of_range() {
    let cache = tempfile::tempdir().unwrap();
    let mut s = spawn(cache.path());
    s.client
        .initialize(json!({}), json!({"textDocument": {"diagnostic": {}}}))
        .await;
    let ghost = "file:///tmp/gemmscope-abuse/never-opened.c";
    let c = &mut s.client;
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": ghost}, "position": {"line": 0, "character": 0}}),
        )
        .await;
    assert_eq!(h["result"], Value::Null, "{h}");
    let ih = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": ghost},
                   "range": {"start": {"line": 0, "character": 0}, "end": {"line": 9, "character": 0}}}),
        )
        .await;
    assert!(ih.get("error").is_none() && ih["result"].is_null(), "{ih}");
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": ghost}}),
        )
        .await;
    assert_eq!(d["result"]["items"], json!([]), "{d}");
    // Changes and closes of documents never opened; a URI that is not a file.
    c.change(ghost, 2, json!([{"text": "int x;"}])).await;
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": ghost}}),
    )
    .await;
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": "untitled:Untitled-1"}}),
    )
    .await;
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": "not a uri at all"}, "position": {"line": 0, "character": 0}}),
        )
        .await;
    assert!(h["result"].is_null() || h["error"]["code"] == -32602, "{h}");
    let mut cases = 7;

    // A real document, then positions and ranges far outside it.
    let uri = "file:///tmp/gemmscope-abuse/range.c";
    let text = gemm_c(16, 16, 16);
    c.open(uri, "c", 1, &text).await;
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(d["result"]["items"][0]["code"], "GS101", "{d}");
    let max = u32::MAX;
    for (line, ch) in [(0, max), (max, 0), (max, max), (9, 5000), (1_000_000, 1)] {
        let h = c
            .request(
                "textDocument/hover",
                json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": ch}}),
            )
            .await;
        assert!(h.get("error").is_none(), "hover {line}:{ch}: {h}");
        cases += 1;
    }
    for (a, b) in [((max, max), (0, 0)), ((0, 0), (max, max)), ((5, 3), (2, 1))] {
        let ih = c
            .request(
                "textDocument/inlayHint",
                json!({"textDocument": {"uri": uri},
                       "range": {"start": {"line": a.0, "character": a.1},
                                 "end": {"line": b.0, "character": b.1}}}),
            )
            .await;
        assert!(ih.get("error").is_none(), "inlay {a:?}-{b:?}: {ih}");
        cases += 1;
    }
    // Negative positions are not LSP (uinteger): invalid params.
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": -1, "character": -1}}),
        )
        .await;
    assert_eq!(h["error"]["code"], -32602, "{h}");
    cases += 1;
    // Edits with ranges beyond the text, reversed, and with huge lengths
    // are clamped, never a panic.
    let mut v = 2;
    for r in [
        json!({"start": {"line": max, "character": max}, "end": {"line": max, "character": max}}),
        json!({"start": {"line": 5, "character": 9}, "end": {"line": 1, "character": 0}}),
        json!({"start": {"line": 0, "character": max}, "end": {"line": 0, "character": max}}),
    ] {
        c.change(
            uri,
            v,
            json!([{"range": r, "rangeLength": 99999999, "text": "\n// é𝔸\n"}]),
        )
        .await;
        v += 1;
        cases += 1;
    }
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(d["result"]["items"][0]["code"], "GS101", "{d}");
    // Versions going backwards or repeated: refused, the text stays.
    c.change(uri, 1, json!([{"text": ""}])).await;
    c.change(uri, i32::MIN, json!([{"text": ""}])).await;
    c.change(uri, v - 1, json!([{"text": ""}])).await;
    cases += 3;
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(d["result"]["items"][0]["code"], "GS101", "{d}");
    // Opening the same URI twice replaces it.
    c.open(uri, "c", 100, "int nothing;\n").await;
    let d = c
        .request(
            "textDocument/diagnostic",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    assert_eq!(d["result"]["items"], json!([]), "{d}");
    cases += 1;
    eprintln!("abuse: {cases} unopened-document and out-of-range cases");
    s.peak("out-of-range positions");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_rapid_edits_end_on_the_right_text() {
    let cache = tempfile::tempdir().unwrap();
    let log_path = cache.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut s = spawn_logging(cache.path(), Stdio::from(log));
    s.client.initialize(json!({}), json!({})).await;
    let uri = "file:///tmp/gemmscope-abuse/typing.c";
    // K starts as 1; each edit appends one digit to it, in a burst of 1,000
    // notifications sent without waiting; then 500 deletions of one digit.
    let text = gemm_c(8, 8, 1);
    s.client.open(uri, "c", 1, &text).await;
    let k_line = 2;
    let mut k = String::from("1");
    let mut burst = Vec::new();
    for v in 2..1002 {
        let col = ("#define K ".len() + k.len()) as u32;
        let digit = char::from(b'0' + (v % 10) as u8);
        k.push(digit);
        let change = json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": uri, "version": v},
                       "contentChanges": [{"range": {"start": {"line": k_line, "character": col},
                                                     "end": {"line": k_line, "character": col}},
                                           "text": digit.to_string()}]}});
        burst.extend(frame(&change.to_string()));
    }
    let mut v = 1002;
    for _ in 0..500 {
        let col = ("#define K ".len() + k.len()) as u32;
        k.pop();
        let change = json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
            "params": {"textDocument": {"uri": uri, "version": v},
                       "contentChanges": [{"range": {"start": {"line": k_line, "character": col - 1},
                                                     "end": {"line": k_line, "character": col}},
                                           "text": ""}]}});
        burst.extend(frame(&change.to_string()));
        v += 1;
    }
    let last = v - 1;
    s.client.send_raw(&burst).await;
    // The last version's diagnostics come, and K is the 501-digit number
    // (too large for a dim: the finding says the size as written).
    let d = s.client.diagnostics(uri, Some(last)).await;
    assert_eq!(d.as_array().map(Vec::len), Some(1), "{d}");
    let h = s
        .client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 6, "character": 12}}),
        )
        .await;
    assert!(h["result"]["contents"]["value"].is_string(), "{h}");
    // Published versions never go back (one may be published twice).
    let versions: Vec<i64> = s
        .client
        .seen
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
        .filter_map(|m| m["params"]["version"].as_i64())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{versions:?}");
    // Every edit was applied, in order: none was refused as stale.
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(!log.contains("ignored: have version"), "{log}");
    eprintln!(
        "abuse: 1,500 edits in one burst, {} analyses published",
        versions.len()
    );
    // Then the text is whole: replace K's line and check the dims.
    s.client
        .change(
            uri,
            last + 1,
            json!([{"range": {"start": {"line": k_line, "character": 0},
                              "end": {"line": k_line + 1, "character": 0}},
                    "text": "#define K 77\n"}]),
        )
        .await;
    let d = s.client.diagnostics(uri, Some(last + 1)).await;
    assert!(
        d[0]["message"].as_str().unwrap_or("").contains("8×8×77"),
        "{d}"
    );
    s.still_serving("1,500 edits").await;
    s.peak("1,500 edits");
    s.stop().await;
}

/// A C file of about `bytes` bytes with a GEMM at its end.
fn big_c(bytes: usize) -> String {
    let mut big = String::with_capacity(bytes + 1024);
    let mut i = 0u64;
    while big.len() < bytes {
        big.push_str(&format!("static int filler_{i} = {i};\n"));
        i += 1;
    }
    big.push_str(&gemm_c(8, 8, 8));
    big
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_mb_file_and_10000_deep_nesting() {
    let cache = tempfile::tempdir().unwrap();
    let mut s = spawn(cache.path());
    s.client.initialize(json!({}), json!({})).await;

    // 20 MB: over the default maxFileBytes (16 MiB), skipped with a reason.
    let uri = "file:///tmp/gemmscope-abuse/big.c";
    let big = big_c(20 << 20);
    s.client.open(uri, "c", 1, &big).await;
    assert_eq!(s.client.diagnostics(uri, Some(1)).await, json!([]));
    assert!(
        logs(&s.client)
            .iter()
            .any(|l| l.contains("big.c") && l.contains("maxFileBytes")),
        "{:?}",
        logs(&s.client)
    );
    s.still_serving("a 20 MB file").await;
    // An edit at its end (incremental) and a full replacement of 20 MB.
    let lines = big.lines().count() as u32;
    s.client
        .change(
            uri,
            2,
            json!([{"range": {"start": {"line": lines, "character": 0},
                              "end": {"line": lines, "character": 0}}, "text": "// end\n"}]),
        )
        .await;
    assert_eq!(s.client.diagnostics(uri, Some(2)).await, json!([]));
    s.client
        .change(uri, 3, json!([{"text": big_c(20 << 20)}]))
        .await;
    assert_eq!(s.client.diagnostics(uri, Some(3)).await, json!([]));
    // Shrunk back: analysed again.
    s.client
        .change(uri, 4, json!([{"text": gemm_c(8, 8, 8)}]))
        .await;
    assert_eq!(s.client.diagnostics(uri, Some(4)).await[0]["code"], "GS101");
    s.still_serving("20 MB edits").await;
    let after_big = s.peak("a 20 MB file");
    s.client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;

    // 10,000-deep nesting in each language: over the default maxNesting,
    // skipped with a reason.
    let deep_c = format!(
        "void f(void) {}{}\n{}",
        "{".repeat(10_000),
        "}".repeat(10_000),
        gemm_c(8, 8, 8)
    );
    // (10,000 indentation levels would be a 50 MB file: brackets instead.)
    let deep_py = format!(
        "x = {}1{}\nN = 4\n{}",
        "[".repeat(10_000),
        "]".repeat(10_000),
        "def f(A, B, C):\n    for i in range(N):\n        pass\n"
    );
    let deep_cu = format!(
        "__global__ void k(float *A) {{ A[0] = {}1{}; }}\n",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let docs = [
        ("deep.c", "c", deep_c.as_str()),
        ("deep.py", "python", deep_py.as_str()),
        ("deep.cu", "cuda", deep_cu.as_str()),
    ];
    for (name, lang, text) in docs {
        let uri = format!("file:///tmp/gemmscope-abuse/{name}");
        s.client.open(&uri, lang, 1, text).await;
        assert_eq!(
            s.client.diagnostics(&uri, Some(1)).await,
            json!([]),
            "{name}"
        );
        assert!(
            logs(&s.client)
                .iter()
                .any(|l| l.contains(name) && l.contains("maxNesting")),
            "{name}: {:?}",
            logs(&s.client)
        );
        s.still_serving(name).await;
    }
    // With the guard lifted the analyzers' own depth caps hold: the deep C
    // file is analysed and its GEMM found.
    s.client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"maxNesting": 1_000_000}}),
        )
        .await;
    for (name, lang, text) in docs {
        let uri = format!("file:///tmp/gemmscope-abuse/unguarded-{name}");
        s.client.open(&uri, lang, 1, text).await;
        let d = s.client.diagnostics(&uri, Some(1)).await;
        if name == "deep.c" {
            assert_eq!(d[0]["code"], "GS101", "{d}");
        }
        s.still_serving(&format!("unguarded {name}")).await;
    }
    let peak = s.peak("10,000-deep nesting");
    // A high-water mark does not go down, but the kernel reads it as the
    // larger of the last recorded mark and the current RSS, and the current
    // RSS comes from per-CPU counters that are summed approximately: a later
    // reading can come out a little lower (0.4 MiB in one CI run). Allow for
    // that error, not for a mark that went back.
    assert!(
        peak + (8 << 20) >= after_big,
        "peak RSS went down from {after_big} to {peak} bytes"
    );
    s.stop().await;
}
