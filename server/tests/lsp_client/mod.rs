//! A minimal LSP client for the tests: Content-Length framing over any
//! async stream pair, answers the server's requests (progress create,
//! capability registration, refreshes) with `null`, and keeps every
//! message it received for assertions.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// A server in this process over in-memory pipes (tokio duplex), with a
/// client on the other end; benchmark children are the real binary.
pub fn start_in_memory() -> Client {
    let (server_end, client_end) = tokio::io::duplex(1 << 22);
    let (sr, sw) = tokio::io::split(server_end);
    tokio::spawn(gemmscope::lsp::serve(
        sr,
        sw,
        gemmscope::lsp::ServeOptions {
            bench_child: vec![
                env!("CARGO_BIN_EXE_gemmscope").into(),
                "__bench-child".into(),
            ],
        },
    ));
    let (cr, cw) = tokio::io::split(client_end);
    Client::new(cr, cw)
}

pub struct Client {
    out: Box<dyn AsyncWrite + Unpin + Send>,
    rx: mpsc::UnboundedReceiver<Value>,
    /// Everything received so far, in order.
    pub seen: Vec<Value>,
    next_id: i64,
}

pub fn frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

impl Client {
    pub fn new<R, W>(input: R, output: W) -> Client
    where
        R: tokio::io::AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut r = BufReader::new(input);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    match r.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(v) = l.strip_prefix("Content-Length:") {
                        len = v.trim().parse::<usize>().ok();
                    }
                }
                let Some(n) = len else { return };
                let mut buf = vec![0; n];
                if r.read_exact(&mut buf).await.is_err() {
                    return;
                }
                let v: Value = serde_json::from_slice(&buf).expect("server sent invalid JSON");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client {
            out: Box::new(output),
            rx,
            seen: Vec::new(),
            next_id: 1,
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.out.write_all(bytes).await.unwrap();
        self.out.flush().await.unwrap();
    }

    pub async fn send(&mut self, v: Value) {
        let b = frame(&v.to_string());
        self.send_raw(&b).await;
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Next message, answering server requests on the way; `None` on
    /// timeout or end of stream.
    async fn next(&mut self, timeout: Duration) -> Option<Value> {
        let v = tokio::time::timeout(timeout, self.rx.recv())
            .await
            .ok()
            .flatten()?;
        if v.get("method").is_some() && v.get("id").is_some() {
            let id = v["id"].clone();
            self.send(json!({"jsonrpc": "2.0", "id": id, "result": null}))
                .await;
        }
        self.seen.push(v.clone());
        Some(v)
    }

    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        self.response(json!(id)).await
    }

    pub async fn response(&mut self, id: Value) -> Value {
        loop {
            let v = self
                .next(Duration::from_secs(60))
                .await
                .unwrap_or_else(|| panic!("no response to request {id}"));
            if v.get("method").is_none() && v["id"] == id {
                return v;
            }
        }
    }

    /// Waits for a message satisfying `pred` (looking at what arrived
    /// already first only when `include_seen`).
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            let v = self.next(left).await?;
            if pred(&v) {
                return Some(v);
            }
        }
    }

    /// Collects messages for `d`.
    pub async fn drain(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() || self.next(left).await.is_none() {
                return;
            }
        }
    }

    pub async fn initialize(&mut self, options: Value, caps: Value) -> Value {
        let r = self
            .request(
                "initialize",
                json!({"processId": null, "rootUri": null, "capabilities": caps,
                       "initializationOptions": options}),
            )
            .await;
        self.notify("initialized", json!({})).await;
        r
    }

    pub async fn open(&mut self, uri: &str, lang: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": lang, "version": version, "text": text}}),
        )
        .await;
    }

    pub async fn change(&mut self, uri: &str, version: i32, changes: Value) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
        )
        .await;
    }

    /// The next `publishDiagnostics` for `uri` (with `version` when given).
    pub async fn diagnostics(&mut self, uri: &str, version: Option<i32>) -> Value {
        let v = self
            .wait_for(Duration::from_secs(60), |m| {
                m["method"] == "textDocument/publishDiagnostics"
                    && m["params"]["uri"] == uri
                    && version.is_none_or(|x| m["params"]["version"] == x)
            })
            .await
            .unwrap_or_else(|| panic!("no diagnostics for {uri} {version:?}"));
        v["params"]["diagnostics"].clone()
    }

    /// Closes the client's end of the connection (the server sees its
    /// input end), as an editor that dies does.
    pub async fn close(&mut self) {
        let _ = self.out.flush().await;
        self.out = Box::new(tokio::io::sink());
    }

    pub async fn shutdown(&mut self) {
        let r = self.request("shutdown", Value::Null).await;
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null).await;
    }

    pub fn progress(&self) -> Vec<&Value> {
        self.seen
            .iter()
            .filter(|m| m["method"] == "$/progress")
            .collect()
    }
}

/// A C file with a GEMM at a known place (dims from `#define`s).
pub fn gemm_c(m: u32, n: u32, k: u32) -> String {
    format!(
        "#define M {m}\n#define N {n}\n#define K {k}\n\
         float A[M][K], B[K][N], C[M][N];\n\
         void mm(void) {{\n\
         \x20   for (int i = 0; i < M; i++)\n\
         \x20       for (int j = 0; j < N; j++)\n\
         \x20           for (int k = 0; k < K; k++)\n\
         \x20               C[i][j] += A[i][k] * B[k][j];\n\
         }}\n"
    )
}

/// 5,000 lines: many small functions with loops, the GEMM near the middle.
pub fn big_c_file() -> String {
    let mut s = String::from("/* line 0: edited by the benchmark */\n#include <stddef.h>\n");
    let mut n = 0;
    while s.lines().count() < 2500 {
        s.push_str(&format!(
            "static double f{n}(const double *x, size_t len) {{\n    double acc = 0.0;\n    for (size_t i = 0; i < len; i++) {{\n        if (x[i] > {n}.0) acc += x[i] * 0.5;\n        else acc -= x[i];\n    }}\n    return acc;\n}}\n\n"
        ));
        n += 1;
    }
    s.push_str(&gemm_c(256, 256, 256));
    while s.lines().count() < 5000 {
        s.push_str(&format!(
            "int g{n}(int a, int b) {{\n    int r = 0;\n    while (a > b) {{ r += a % 7; a--; }}\n    return r;\n}}\n\n"
        ));
        n += 1;
    }
    s
}
