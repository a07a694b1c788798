//! End-to-end: the real `gemmscope serve` over stdio, as an editor drives it.

mod lsp_client;

use std::process::Stdio;
use std::time::{Duration, Instant};

use lsp_client::{gemm_c, Client};
use serde_json::{json, Value};

struct Server {
    child: tokio::process::Child,
    client: Client,
}

fn spawn(cache: &std::path::Path) -> Server {
    spawn_with(cache, &[])
}

fn spawn_with(cache: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .arg("serve")
        .env("GEMMSCOPE_CACHE_DIR", cache)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start gemmscope serve");
    let out = child.stdout.take().unwrap();
    let inp = child.stdin.take().unwrap();
    Server {
        child,
        client: Client::new(out, inp),
    }
}

impl Server {
    async fn stop(mut self) {
        self.client.shutdown().await;
        let st = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("server exits after `exit`")
            .unwrap();
        assert!(st.success(), "{st:?}");
    }
}

const CAPS: fn() -> Value = || {
    json!({"window": {"workDoneProgress": true},
           "workspace": {"inlayHint": {"refreshSupport": true}}})
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_follow_edits_with_utf16_ranges() {
    let cache = tempfile::tempdir().unwrap();
    let mut s = spawn(cache.path());
    let c = &mut s.client;
    let init = c.initialize(json!({"trusted": false}), CAPS()).await;
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["textDocumentSync"]["change"], 2, "{init}");
    assert_eq!(caps["hoverProvider"], true);
    // A comment with non-ASCII before the loop: UTF-16 columns differ from bytes.
    let text = gemm_c(64, 48, 32).replace(
        "    for (int i = 0; i < M; i++)",
        "/* é𝔸 */ for (int i = 0; i < M; i++)",
    );
    let uri = "file:///tmp/gemmscope-lsp-test/mm.c";
    c.open(uri, "c", 1, &text).await;
    let d = c.diagnostics(uri, Some(1)).await;
    assert_eq!(d.as_array().unwrap().len(), 1, "{d}");
    let d0 = &d[0];
    assert_eq!(d0["code"], "GS101");
    assert_eq!(d0["source"], "gemmscope");
    assert!(d0["codeDescription"]["href"]
        .as_str()
        .unwrap()
        .ends_with("rules.md#gs101"));
    // "/* é𝔸 */ " is 12 bytes but 10 UTF-16 units; line 5 (0-based).
    assert_eq!(
        d0["range"]["start"],
        json!({"line": 5, "character": 10}),
        "{d0}"
    );
    assert_eq!(d0["range"]["end"]["line"], 8);
    let msg = d0["message"].as_str().unwrap();
    assert!(msg.contains("64×48×32"), "{msg}");
    // The first diagnostic carries an estimate at once (model and reference
    // data: nothing is measured in an untrusted workspace), labelled as such,
    // and its severity follows the speed-up on offer.
    assert!(msg.contains("per output here (reference data"), "{msg}");
    assert!(msg.contains("faster"), "{msg}");
    assert_eq!(d0["severity"], 2, "a large speed-up: warning");
    let related = d0["relatedInformation"].as_array().unwrap();
    assert_eq!(related.len(), 3, "{related:?}");
    assert_eq!(related[0]["message"], "M = 64 (defined here)");
    assert_eq!(related[0]["location"]["range"]["start"]["line"], 0);
    assert_eq!(related[2]["location"]["range"]["start"]["line"], 2);

    // Edit K: 32 → 40 (incremental, on line 2).
    c.change(
        uri,
        2,
        json!([{"range": {"start": {"line": 2, "character": 10}, "end": {"line": 2, "character": 12}}, "text": "40"}]),
    )
    .await;
    let d = c.diagnostics(uri, Some(2)).await;
    assert!(
        d[0]["message"].as_str().unwrap().contains("64×48×40"),
        "{d}"
    );

    // Hover on the loop: the table's placeholder with the reason.
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 6, "character": 12}}),
        )
        .await;
    let md = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(md.contains("not trusted"), "{md}");
    assert!(md.contains("GS101"), "{md}");
    // Nothing measured, but the estimate gives an inlay hint at the end of
    // the loop header; and never any progress.
    let ih = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 20, "character": 0}}}),
        )
        .await;
    let hints = ih["result"].as_array().unwrap();
    assert_eq!(hints.len(), 1, "{ih}");
    assert!(
        hints[0]["label"].as_str().unwrap().ends_with("/output"),
        "{ih}"
    );
    assert_eq!(hints[0]["position"]["line"], 5, "{ih}");
    // Hover away from any finding.
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
        )
        .await;
    assert_eq!(h["result"], Value::Null);
    assert!(c.progress().is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_json_rpc_errors_and_the_server_goes_on() {
    let cache = tempfile::tempdir().unwrap();
    let mut s = spawn(cache.path());
    let c = &mut s.client;
    c.initialize(json!({}), json!({})).await;
    c.send_raw(&lsp_client::frame(
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":",
    ))
    .await;
    let e = c
        .wait_for(Duration::from_secs(20), |m| m.get("error").is_some())
        .await
        .expect("an error response");
    assert_eq!(e["error"]["code"], -32700, "{e}");
    let r = c.request("gemmscope/noSuchMethod", json!({})).await;
    assert_eq!(r["error"]["code"], -32601, "{r}");
    // Bad params for a known request.
    let r = c.request("textDocument/hover", json!({"nope": 1})).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // Still serving.
    let uri = "file:///tmp/gemmscope-lsp-test/ok.c";
    c.open(uri, "c", 1, &gemm_c(8, 8, 8)).await;
    assert_eq!(c.diagnostics(uri, Some(1)).await[0]["code"], "GS101");
    s.stop().await;
}

fn have_cc() -> bool {
    std::process::Command::new("cc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measures_in_the_background_then_answers_from_the_store() {
    if !have_cc() {
        gemmscope_microbench::testing::skip(
            "measures_in_the_background_then_answers_from_the_store",
            "no C compiler on this machine",
        );
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let opts = json!({"trusted": true, "measure": true, "calibrate": false,
               "candidates": ["c-naive-O1"], "budget": 0.2});
    let uri = "file:///tmp/gemmscope-lsp-test/small.c";
    let text = gemm_c(16, 16, 16);

    let mut s = spawn(cache.path());
    let c = &mut s.client;
    c.initialize(opts.clone(), CAPS()).await;
    c.open(uri, "c", 1, &text).await;
    // First the finding at once, then measured numbers.
    let first = c.diagnostics(uri, Some(1)).await;
    assert_eq!(first[0]["code"], "GS101");
    let end = c
        .wait_for(Duration::from_secs(120), |m| {
            m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
        })
        .await
        .expect("measurement ends");
    let token = end["params"]["token"].clone();
    let prog: Vec<&Value> = c
        .progress()
        .into_iter()
        .filter(|m| m["params"]["token"] == token)
        .collect();
    assert_eq!(prog[0]["params"]["value"]["kind"], "begin");
    assert_eq!(prog[0]["params"]["value"]["cancellable"], true);
    assert!(prog[0]["params"]["value"]["title"]
        .as_str()
        .unwrap()
        .contains("16×16×16"));
    let report = prog
        .iter()
        .find(|m| m["params"]["value"]["kind"] == "report")
        .expect("a report");
    assert_eq!(report["params"]["value"]["percentage"], 0);
    assert!(report["params"]["value"]["message"]
        .as_str()
        .unwrap()
        .contains("1/1: naive C -O1"));
    assert!(end["params"]["value"]["message"]
        .as_str()
        .unwrap()
        .contains("measured 1 of 1"));
    let d = c
        .wait_for(Duration::from_secs(30), |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["diagnostics"][0]["message"]
                    .as_str()
                    .is_some_and(|s| s.contains("per output here (measured)"))
        })
        .await
        .expect("measured numbers replace the diagnostic");
    let msg = d["params"]["diagnostics"][0]["message"].as_str().unwrap();
    assert!(msg.contains("measured"), "{msg}");
    let ih = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 20, "character": 0}}}),
        )
        .await;
    let hint = &ih["result"][0];
    assert!(hint["label"].as_str().unwrap().ends_with("/output"), "{ih}");
    assert_eq!(hint["position"]["line"], 5);
    assert_eq!(hint["position"]["character"], 31, "end of the loop header");
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 8, "character": 20}}),
        )
        .await;
    let md = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(md.contains("| naive C -O1"), "{md}");
    assert!(md.contains("measured here:"), "{md}");
    s.stop().await;

    // A new server with the same store: answered from it, no progress.
    let mut s = spawn(cache.path());
    let c = &mut s.client;
    c.initialize(opts, CAPS()).await;
    c.open(uri, "c", 1, &text).await;
    let d = c
        .wait_for(Duration::from_secs(120), |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["diagnostics"][0]["message"]
                    .as_str()
                    .is_some_and(|s| s.contains("per output here (cached"))
        })
        .await
        .expect("numbers from the store");
    let msg = d["params"]["diagnostics"][0]["message"].as_str().unwrap();
    assert!(msg.contains("cached"), "{msg}");
    c.wait_for(Duration::from_secs(30), |m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.contains("every candidate is in the result store"))
    })
    .await
    .expect("the job is answered from the store");
    assert!(c.progress().is_empty(), "{:?}", c.progress());
    s.stop().await;
}

/// The benchmark children (`gemmscope __bench-child`) of process `parent`.
fn bench_children(parent: u32) -> Vec<u32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // `pid (comm) state ppid ...`; comm may hold spaces, not `)`.
        let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
        let mut f = after.split_whitespace();
        let (state, ppid) = (f.next(), f.next().and_then(|p| p.parse::<u32>().ok()));
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == Some(parent)
            && state != Some("Z")
            && String::from_utf8_lossy(&cmd).contains("__bench-child")
        {
            v.push(pid);
        }
    }
    v
}

/// Gone, or a zombie nobody waits for.
fn process_gone(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.is_empty()
        || stat
            .rsplit_once(')')
            .is_some_and(|x| x.1.trim_start().starts_with('Z'))
}

/// Waits (up to 120 s: the worker probes the toolchain first) for the
/// server's one benchmark child to be running.
async fn running_bench_child(server: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(&pid) = bench_children(server).first() {
            return pid;
        }
        assert!(Instant::now() < deadline, "no benchmark child started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server measuring the self-test candidate that never returns: without
/// a kill it would run to its wall-clock limit (60 s + 4 × budget).
async fn hanging_measurement(cache: &std::path::Path) -> (Server, u32) {
    let mut s = spawn_with(cache, &[("GEMMSCOPE_SELFTEST", "1")]);
    let c = &mut s.client;
    let opts = json!({"trusted": true, "calibrate": false, "candidates": ["selftest-hang"], "budget": 100});
    c.initialize(opts, CAPS()).await;
    let uri = "file:///tmp/gemmscope-lsp-test/cancel.c";
    c.open(uri, "c", 1, &gemm_c(32, 32, 32)).await;
    let server = s.child.id().unwrap();
    let bench = running_bench_child(server).await;
    (s, bench)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_measurement_kills_the_running_candidate() {
    let cache = tempfile::tempdir().unwrap();
    let (mut s, bench) = hanging_measurement(cache.path()).await;
    let c = &mut s.client;
    let begin = c
        .wait_for(Duration::from_secs(60), |m| {
            m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin"
        })
        .await
        .expect("measurement begins");
    let token = begin["params"]["token"].clone();
    let t = Instant::now();
    c.notify("window/workDoneProgress/cancel", json!({"token": token}))
        .await;
    // The candidate hangs for its whole wall limit (460 s) unless killed:
    // the end must come promptly (10 s leaves room for a loaded machine).
    let end = c
        .wait_for(Duration::from_secs(10), |m| {
            m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
        })
        .await
        .expect("the cancel ends the measurement at once");
    let msg = end["params"]["value"]["message"].as_str().unwrap();
    assert_eq!(msg, "cancelled after 0 of 1 candidates");
    assert!(process_gone(bench), "benchmark child {bench} still running");
    eprintln!("cancel → end: {:?}", t.elapsed());
    // Still serving.
    let uri = "file:///tmp/gemmscope-lsp-test/ok.c";
    c.open(uri, "c", 1, &gemm_c(8, 8, 8)).await;
    assert_eq!(c.diagnostics(uri, Some(1)).await[0]["code"], "GS101");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_and_exit_kill_a_running_benchmark() {
    let cache = tempfile::tempdir().unwrap();
    let (s, bench) = hanging_measurement(cache.path()).await;
    // `stop` waits (20 s at most) for the server to exit after `exit`.
    s.stop().await;
    assert!(
        process_gone(bench),
        "benchmark child {bench} outlived the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_stdin_kills_a_running_benchmark() {
    let cache = tempfile::tempdir().unwrap();
    let (mut s, bench) = hanging_measurement(cache.path()).await;
    // The editor goes away without shutdown: its end of the pipe closes.
    s.client.close().await;
    let st = tokio::time::timeout(Duration::from_secs(20), s.child.wait())
        .await
        .expect("the server exits when its input closes")
        .unwrap();
    assert!(st.success(), "{st:?}");
    assert!(
        process_gone(bench),
        "benchmark child {bench} outlived the server"
    );
}

/// The `$/progress` begin of the start-up calibration, within `t`.
async fn calibration_begin(c: &mut Client, t: Duration) -> Option<Value> {
    c.wait_for(t, |m| {
        m["method"] == "$/progress"
            && m["params"]["value"]["kind"] == "begin"
            && m["params"]["value"]["title"]
                .as_str()
                .is_some_and(|s| s.contains("calibrating this machine"))
    })
    .await
}

/// The end of the progress named `token`, within `t`.
async fn progress_end(c: &mut Client, token: &Value, t: Duration) -> Option<Value> {
    c.wait_for(t, |m| {
        m["method"] == "$/progress"
            && m["params"]["token"] == *token
            && m["params"]["value"]["kind"] == "end"
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_trusted_start_calibrates_once_and_the_default_advice_uses_it() {
    if !have_cc() {
        gemmscope_microbench::testing::skip(
            "the_first_trusted_start_calibrates_once_and_the_default_advice_uses_it",
            "no C compiler on this machine",
        );
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let store = cache.path().join("results.sqlite3");
    // `calibrate` left at its default (on).
    let opts =
        json!({"trusted": true, "measure": true, "candidates": ["c-naive-O1"], "budget": 0.2});
    let uri = "file:///tmp/gemmscope-lsp-test/cal.c";
    let text = gemm_c(40, 40, 40);
    let key = || {
        let m = gemmscope_microbench::fingerprint::Machine::detect(
            &gemmscope_microbench::toolchain::Toolchain::default(),
        );
        gemmscope_microbench::calibrate::cpu_key(&m)
    };

    // 1. Cancelled at its first step: nothing stored, the server serves on.
    let mut s = spawn(cache.path());
    let c = &mut s.client;
    c.initialize(opts.clone(), CAPS()).await;
    c.open(uri, "c", 1, &text).await;
    assert_eq!(c.diagnostics(uri, Some(1)).await[0]["code"], "GS101");
    let begin = calibration_begin(c, Duration::from_secs(120))
        .await
        .expect("a trusted start with no calibration calibrates");
    assert_eq!(begin["params"]["value"]["cancellable"], true);
    let token = begin["params"]["token"].clone();
    c.notify("window/workDoneProgress/cancel", json!({"token": token}))
        .await;
    let end = progress_end(c, &token, Duration::from_secs(60))
        .await
        .expect("the cancel ends the calibration");
    let msg = end["params"]["value"]["message"].as_str().unwrap();
    assert!(msg.contains("cancelled; nothing stored"), "{msg}");
    assert!(
        gemmscope_microbench::calibrate::load(&store, &key()).is_none(),
        "a cancelled calibration is not stored"
    );
    s.stop().await;

    // 2. The next start asks again and runs it through; then the file's
    // problem is measured.
    let mut s = spawn(cache.path());
    let c = &mut s.client;
    c.initialize(opts.clone(), CAPS()).await;
    c.open(uri, "c", 1, &text).await;
    let begin = calibration_begin(c, Duration::from_secs(120))
        .await
        .expect("calibrates again");
    let token = begin["params"]["token"].clone();
    assert!(begin["params"]["value"]["message"]
        .as_str()
        .unwrap()
        .ends_with(" problems"));
    let end = progress_end(c, &token, Duration::from_secs(400))
        .await
        .expect("the calibration ends");
    let msg = end["params"]["value"]["message"].as_str().unwrap();
    assert!(msg.starts_with("calibrated this machine: "), "{msg}");
    let reports = c
        .progress()
        .into_iter()
        .filter(|m| m["params"]["token"] == token && m["params"]["value"]["kind"] == "report")
        .count();
    assert!(reports >= 10, "one report per problem: {reports}");
    let cal = gemmscope_microbench::calibrate::load(&store, &key()).expect("stored");
    assert!(cal.rows.len() >= 20, "{} points", cal.rows.len());
    // (Measured now, or by the first server after its cancel.)
    c.wait_for(Duration::from_secs(120), |m| {
        let end = m["method"] == "$/progress"
            && m["params"]["value"]["kind"] == "end"
            && m["params"]["value"]["message"]
                .as_str()
                .is_some_and(|s| s.contains("measured 1 of 1"));
        let stored = m["method"] == "window/logMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.contains("every candidate is in the result store"));
        end || stored
    })
    .await
    .expect("the file's problem is measured after the calibration");
    s.stop().await;

    // 3. `check --bench off` on the same store now predicts from it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cal.c");
    std::fs::write(&file, &text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(["check", "--bench", "off"])
        .arg(&file)
        .env("GEMMSCOPE_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("calibrated here"), "{said}");

    // 4. A later start does not calibrate again.
    let mut s = spawn(cache.path());
    let c = &mut s.client;
    c.initialize(opts, CAPS()).await;
    c.open(uri, "c", 1, &text).await;
    c.wait_for(Duration::from_secs(60), |m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.contains("every candidate is in the result store"))
    })
    .await
    .expect("answered from the store");
    let again = c.progress().into_iter().any(|m| {
        m["params"]["value"]["title"]
            .as_str()
            .is_some_and(|s| s.contains("calibrating"))
    });
    assert!(!again, "calibrated again: {:?}", c.progress());
    s.stop().await;
}
