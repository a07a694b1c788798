//! The result store across processes: the language server measuring in the
//! background, several `gemmscope bench` runs writing and `check --bench
//! cached` runs reading, all at once on one store, lose nothing and leave
//! it intact; a damaged store file is moved aside and rebuilt with a
//! warning by each of them. (Threads and test processes writing one store
//! are unit tests in `microbench/src/store.rs`.)
//!
//! The `rust-gemm` candidate runs in the benchmark child itself (no
//! compiler needed), so these tests run on any machine.

mod lsp_client;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use gemmscope_microbench::store::{Store, FILE_NAME};
use lsp_client::{gemm_c, Client};
use serde_json::{json, Value};

fn gemmscope(args: &[&str], cache: &Path, cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(args)
        .env("GEMMSCOPE_CACHE_DIR", cache)
        .current_dir(cwd)
        .output()
        .expect("run gemmscope")
}

fn bench(m: u32, cache: &Path) -> Output {
    let m = m.to_string();
    gemmscope(
        &[
            "bench",
            "gemm",
            "--m",
            &m,
            "--n",
            "48",
            "--k",
            "48",
            "--candidates",
            "rust-gemm",
            "--budget",
            "0.2",
            "--format",
            "json",
        ],
        cache,
        Path::new("/"),
    )
}

fn corrupt_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".corrupt-"))
        .collect()
}

fn spawn_server(cache: &Path) -> (tokio::process::Child, Client) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .arg("serve")
        .env("GEMMSCOPE_CACHE_DIR", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let c = Client::new(child.stdout.take().unwrap(), child.stdin.take().unwrap());
    (child, c)
}

const OPTS: fn() -> Value = || json!({"trusted": true, "measure": true, "calibrate": false, "budget": 0.3, "candidates": ["rust-gemm"]});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_bench_and_check_share_one_store_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("mm.c"), gemm_c(64, 64, 64)).unwrap();

    let (mut child, mut c) = spawn_server(&cache);
    c.initialize(OPTS(), json!({"window": {"workDoneProgress": true}}))
        .await;
    const DOCS: u32 = 4;
    for i in 0..DOCS {
        let uri = format!("file:///tmp/gemmscope-store/doc{i}.c");
        c.open(&uri, "c", 1, &gemm_c(40 + i, 40, 40)).await;
    }
    // Meanwhile: 3 processes each bench 4 sizes, and `check --bench cached`
    // reads the same store, 3 times.
    const BENCHERS: u32 = 3;
    const SIZES: u32 = 4;
    let writers: Vec<_> = (0..BENCHERS)
        .map(|t| {
            let cache = cache.clone();
            tokio::task::spawn_blocking(move || {
                (0..SIZES)
                    .map(|j| bench(60 + 10 * t + j, &cache))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let reader = {
        let (cache, work) = (cache.clone(), work.clone());
        tokio::task::spawn_blocking(move || {
            (0..3)
                .map(|_| {
                    gemmscope(
                        &["check", "--bench", "cached", "--format", "json", "."],
                        &cache,
                        &work,
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    let mut ended = 0;
    while ended < DOCS {
        c.wait_for(Duration::from_secs(240), |m| {
            m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
        })
        .await
        .expect("the server's measurements end");
        ended += 1;
    }
    for w in writers {
        for o in w.await.unwrap() {
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(0), "{err}");
            assert!(!err.contains("result store"), "{err}");
            let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(doc["rows"][0]["status"], "ok", "{doc}");
        }
    }
    for o in reader.await.unwrap() {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(!err.contains("result store"), "{err}");
        assert!(!err.contains("damaged"), "{err}");
    }
    let logs: Vec<String> = c
        .seen
        .iter()
        .filter(|m| m["method"] == "window/logMessage")
        .filter_map(|m| m["params"]["message"].as_str().map(String::from))
        .collect();
    assert!(!logs.iter().any(|l| l.contains("damaged")), "{logs:?}");
    c.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;

    // Intact (the integrity check on open passes, nothing moved aside) and
    // complete: one row per bench run and per server problem.
    let (s, warnings) = Store::open(&cache.join(FILE_NAME)).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(corrupt_files(&cache).is_empty());
    assert_eq!(s.count().unwrap(), u64::from(BENCHERS * SIZES + DOCS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_moved_aside_and_rebuilt_with_a_warning_by_each_command() {
    let garbage: Vec<u8> = (0..20_000u32).map(|i| (i * 31 + 7) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("mm.c"), gemm_c(32, 32, 32)).unwrap();

    // `bench`: warns, moves the file aside, stores its row in a new one.
    let cache = dir.path().join("bench");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join(FILE_NAME), &garbage).unwrap();
    let o = bench(16, &cache);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("damaged") && err.contains(".corrupt-"),
        "{err}"
    );
    let moved = corrupt_files(&cache);
    assert_eq!(moved.len(), 1);
    assert_eq!(std::fs::read(&moved[0]).unwrap(), garbage);
    let (s, w) = Store::open(&cache.join(FILE_NAME)).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(s.count().unwrap(), 1);

    // `check --bench cached`: the same, and the check itself goes on.
    let cache = dir.path().join("check");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join(FILE_NAME), &garbage).unwrap();
    let o = gemmscope(&["check", "--bench", "cached", "."], &cache, &work);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("damaged") && err.contains(".corrupt-"),
        "{err}"
    );
    assert_eq!(corrupt_files(&cache).len(), 1);

    // The server (trusted): a logged warning, then it measures into the new
    // store.
    let cache = dir.path().join("serve");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join(FILE_NAME), &garbage).unwrap();
    let (mut child, mut c) = spawn_server(&cache);
    c.initialize(OPTS(), json!({"window": {"workDoneProgress": true}}))
        .await;
    c.wait_for(Duration::from_secs(60), |m| {
        m["method"] == "window/logMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|s| s.contains("damaged") && s.contains(".corrupt-"))
    })
    .await
    .expect("a logged warning about the damaged store");
    c.open(
        "file:///tmp/gemmscope-store/s.c",
        "c",
        1,
        &gemm_c(24, 24, 24),
    )
    .await;
    c.wait_for(Duration::from_secs(240), |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    })
    .await
    .expect("the measurement ends");
    c.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    assert_eq!(corrupt_files(&cache).len(), 1);
    let (s, w) = Store::open(&cache.join(FILE_NAME)).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(s.count().unwrap(), 1);
}
