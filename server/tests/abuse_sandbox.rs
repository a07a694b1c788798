//! Nothing from the user's file is ever compiled or executed: fixtures
//! whose code would create a marker file if it ran are analysed, checked
//! and served with measurement on in a trusted workspace; the marker never
//! appears, every generated source is free of the fixtures' identifiers,
//! and generated files live only in private (0700) directories under
//! `$TMPDIR` that are gone afterwards. In an untrusted workspace nothing is
//! measured and nothing is written there at all.

mod lsp_client;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lsp_client::Client;
use serde_json::json;

/// Identifiers used only in the fixtures.
const USER_MARK: &str = "zq_";

/// A `$/progress` of a measurement (not of the workspace's indexing).
fn is_measuring(m: &serde_json::Value) -> bool {
    m["method"] == "$/progress"
        && m["params"]["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("gemmscope/measure/"))
}

fn fixture_c(marker: &Path) -> String {
    format!(
        r#"#include <stdio.h>
#define ZQ_ROWS 24
#define ZQ_COLS 20
#define ZQ_INNER 28
float zq_left[ZQ_ROWS][ZQ_INNER], zq_right[ZQ_INNER][ZQ_COLS], zq_out[ZQ_ROWS][ZQ_COLS];
__attribute__((constructor)) static void zq_boom(void) {{
    FILE *f = fopen("{m}", "w");
    if (f) fclose(f);
}}
void zq_payload(void) {{
    for (int zq_i = 0; zq_i < ZQ_ROWS; zq_i++)
        for (int zq_j = 0; zq_j < ZQ_COLS; zq_j++)
            for (int zq_k = 0; zq_k < ZQ_INNER; zq_k++)
                zq_out[zq_i][zq_j] += zq_left[zq_i][zq_k] * zq_right[zq_k][zq_j];
}}
int main(void) {{ zq_boom(); zq_payload(); return 0; }}
"#,
        m = marker.display()
    )
}

fn fixture_py(marker: &Path) -> String {
    format!(
        r#"open("{m}", "w").close()
import os
os.system("touch {m}")
ZQ_ROWS = 26
ZQ_COLS = 22
ZQ_INNER = 30

def zq_payload(zq_left, zq_right, zq_out):
    for zq_i in range(ZQ_ROWS):
        for zq_j in range(ZQ_COLS):
            for zq_k in range(ZQ_INNER):
                zq_out[zq_i][zq_j] += zq_left[zq_i][zq_k] * zq_right[zq_k][zq_j]

if __name__ == "__main__":
    zq_payload([], [], [])
"#,
        m = marker.display()
    )
}

/// Directories seen (with their mode) and source-like files seen (with
/// their text).
type Seen = (BTreeMap<PathBuf, u32>, BTreeMap<PathBuf, String>);

/// Watches a temp dir while the server or CLI runs: every directory seen
/// (with its mode) and the text of every source-like file seen.
struct Spy {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

fn walk(
    dir: &Path,
    depth: usize,
    dirs: &mut BTreeMap<PathBuf, u32>,
    files: &mut BTreeMap<PathBuf, String>,
) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.is_dir() {
            dirs.entry(p.clone())
                .or_insert(m.permissions().mode() & 0o777);
            if depth < 4 {
                walk(&p, depth + 1, dirs, files);
            }
        } else if m.is_file()
            && p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "c" | "h" | "py" | "cu" | "json" | "sh"))
        {
            if let Ok(t) = std::fs::read_to_string(&p) {
                if !t.is_empty() {
                    files.insert(p, t);
                }
            }
        }
    }
}

impl Spy {
    fn start(dir: &Path) -> Spy {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new((BTreeMap::new(), BTreeMap::new())));
        let (s, sn, d) = (stop.clone(), seen.clone(), dir.to_path_buf());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let (mut dirs, mut files) = (BTreeMap::new(), BTreeMap::new());
                walk(&d, 0, &mut dirs, &mut files);
                let mut g = sn.lock().unwrap();
                for (k, v) in dirs {
                    g.0.entry(k).or_insert(v);
                }
                g.1.extend(files);
                drop(g);
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Spy {
            stop,
            seen,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> Seen {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap();
        let g = self.seen.lock().unwrap();
        (g.0.clone(), g.1.clone())
    }
}

fn have_cc() -> bool {
    std::process::Command::new("cc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn have_python() -> bool {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn leftovers(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

struct Setup {
    _root: tempfile::TempDir,
    work: PathBuf,
    tmp: PathBuf,
    cache: PathBuf,
    marker: PathBuf,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join("workspace");
    let tmp = root.path().join("tmp");
    let cache = root.path().join("cache");
    for d in [&work, &tmp, &cache] {
        std::fs::create_dir(d).unwrap();
    }
    let marker = root.path().join("MARKER-if-this-exists-user-code-ran");
    std::fs::write(work.join("payload.c"), fixture_c(&marker)).unwrap();
    std::fs::write(work.join("payload.py"), fixture_py(&marker)).unwrap();
    Setup {
        work,
        tmp,
        cache,
        marker,
        _root: root,
    }
}

#[test]
fn check_neither_compiles_nor_runs_the_file_and_writes_no_temp_files() {
    let s = setup();
    let spy = Spy::start(&s.tmp);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(["check", "--format", "json", "."])
        .current_dir(&s.work)
        .env("TMPDIR", &s.tmp)
        .env("GEMMSCOPE_CACHE_DIR", &s.cache)
        .output()
        .unwrap();
    let (dirs, files) = spy.finish();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(codes.len(), 2, "one GEMM in each fixture: {doc}");
    assert!(!s.marker.exists(), "check ran the user's code");
    assert!(dirs.is_empty() && files.is_empty(), "{dirs:?} {files:?}");
    assert!(leftovers(&s.tmp).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_measurement_runs_only_generated_code_in_private_dirs() {
    if !have_cc() || !have_python() {
        gemmscope_microbench::testing::skip(
            "trusted_measurement_runs_only_generated_code_in_private_dirs",
            "needs a C compiler and python3",
        );
        return;
    }
    let s = setup();
    let spy = Spy::start(&s.tmp);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .arg("serve")
        .env("GEMMSCOPE_CACHE_DIR", &s.cache)
        .env("TMPDIR", &s.tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut c = Client::new(child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let folder = format!("file://{}", s.work.display());
    c.request(
        "initialize",
        json!({"processId": null,
               "capabilities": {"window": {"workDoneProgress": true}},
               "workspaceFolders": [{"uri": folder, "name": "w"}],
               "initializationOptions": {"trusted": true, "measure": true, "calibrate": false, "budget": 1.0,
                                         "candidates": ["c-naive-O1", "python-loop"]}}),
    )
    .await;
    c.notify("initialized", json!({})).await;
    // Opened in the editor as well (the editor's text wins; same code).
    let uri = format!("{folder}/payload.c");
    c.open(&uri, "c", 1, &fixture_c(&s.marker)).await;
    // Both problems (24×20×28 from C, 26×22×30 from Python) are measured.
    let mut ended = Vec::new();
    while ended.len() < 2 {
        let end = c
            .wait_for(Duration::from_secs(240), |m| {
                is_measuring(m) && m["params"]["value"]["kind"] == "end"
            })
            .await
            .expect("both measurements end");
        ended.push(
            end["params"]["value"]["message"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
    }
    let titles: Vec<String> = c
        .progress()
        .iter()
        .filter(|m| is_measuring(m) && m["params"]["value"]["kind"] == "begin")
        .map(|m| {
            m["params"]["value"]["title"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert!(titles.iter().any(|t| t.contains("24×20×28")), "{titles:?}");
    assert!(titles.iter().any(|t| t.contains("26×22×30")), "{titles:?}");
    assert!(
        ended.iter().all(|m| m.contains("measured 2 of 2")),
        "{ended:?}"
    );
    c.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    let (dirs, files) = spy.finish();

    assert!(!s.marker.exists(), "the user's code ran");
    // Work dirs were private, and none is left.
    assert!(
        dirs.keys().any(|d| d
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("gemmscope-bench-")),
        "no work dir seen: {dirs:?}"
    );
    for (d, mode) in &dirs {
        if d.parent() == Some(s.tmp.as_path()) {
            assert_eq!(*mode, 0o700, "{} has mode {mode:o}", d.display());
        }
    }
    assert!(leftovers(&s.tmp).is_empty(), "{:?}", leftovers(&s.tmp));
    // The generated C was seen, and no generated file has a user identifier
    // or the marker's path in it.
    assert!(
        files
            .keys()
            .any(|p| p.extension().is_some_and(|e| e == "c")),
        "no generated C source seen: {:?}",
        files.keys().collect::<Vec<_>>()
    );
    for (p, text) in &files {
        assert!(
            !text.contains(USER_MARK) && !text.contains("MARKER-if"),
            "{} contains text from the user's file",
            p.display()
        );
    }
    eprintln!(
        "sandbox: {} private dirs and {} generated files seen, none with user text",
        dirs.len(),
        files.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_workspace_measures_nothing_and_starts_nothing() {
    let s = setup();
    let spy = Spy::start(&s.tmp);
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .arg("serve")
        .env("GEMMSCOPE_CACHE_DIR", &s.cache)
        .env("TMPDIR", &s.tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut c = Client::new(child.stdout.take().unwrap(), child.stdin.take().unwrap());
    let folder = format!("file://{}", s.work.display());
    // `measure: true` but not trusted; and a compiler that would leave a
    // marker if it were ever started.
    let evil_cc = s.work.join("evil-cc.sh");
    std::fs::write(
        &evil_cc,
        format!("#!/bin/sh\ntouch {}\nexec cc \"$@\"\n", s.marker.display()),
    )
    .unwrap();
    std::fs::set_permissions(&evil_cc, std::fs::Permissions::from_mode(0o755)).unwrap();
    c.request(
        "initialize",
        json!({"processId": null, "capabilities": {"window": {"workDoneProgress": true}},
               "workspaceFolders": [{"uri": folder, "name": "w"}],
               "initializationOptions": {"trusted": false, "measure": true, "budget": 0.2,
                                         "compiler": evil_cc.display().to_string(),
                                         "python": evil_cc.display().to_string()}}),
    )
    .await;
    c.notify("initialized", json!({})).await;
    // The workspace scan publishes both files, in either order.
    let mut seen = std::collections::HashMap::new();
    let (uc, up) = (
        format!("{folder}/payload.c"),
        format!("{folder}/payload.py"),
    );
    while seen.len() < 2 {
        let m = c
            .wait_for(std::time::Duration::from_secs(60), |m| {
                m["method"] == "textDocument/publishDiagnostics"
                    && (m["params"]["uri"] == uc.as_str() || m["params"]["uri"] == up.as_str())
            })
            .await
            .expect("diagnostics for both workspace files");
        seen.insert(
            m["params"]["uri"].as_str().unwrap().to_string(),
            m["params"]["diagnostics"].clone(),
        );
    }
    for d in seen.values() {
        assert_eq!(d[0]["code"], "GS101", "{d}");
    }
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": format!("{folder}/payload.c")},
                   "position": {"line": 11, "character": 8}}),
        )
        .await;
    let md = h["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(md.contains("not trusted"), "{md}");
    // A settings change that keeps `trusted` false changes nothing.
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"measure": true, "budget": 0.3}}),
    )
    .await;
    c.drain(Duration::from_secs(2)).await;
    // No child process was ever started by the server.
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    assert!(children.trim().is_empty(), "server children: {children}");
    c.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    let (dirs, files) = spy.finish();
    // Only the workspace's indexing shows progress: nothing is measured.
    assert!(
        !c.progress().iter().any(|m| is_measuring(m)),
        "{:?}",
        c.progress()
    );
    assert!(
        !s.marker.exists(),
        "a configured tool was started untrusted"
    );
    assert!(dirs.is_empty() && files.is_empty(), "{dirs:?} {files:?}");
    assert!(!c.seen.iter().any(|m| {
        m["method"] == "window/workDoneProgress/create"
            && m["params"]["token"]
                .as_str()
                .is_some_and(|t| t.starts_with("gemmscope/measure/"))
    }));
}
