//! A benchmark child cannot outlive its limits: descendants that leave the
//! process group (`setsid`, a daemon's double fork) are killed with it,
//! whether the child hangs until its deadline or exits at once; a
//! grandchild holding the pipes open does not hang the caller; limits are
//! inherited by every descendant. (The basic cases — CPU, address space,
//! wall clock of the group, crash, output cap — are unit tests in
//! `src/sandbox.rs`.)

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use gemmscope_microbench::sandbox::{run, ChildOutcome, Exit, Limits, MARK};

fn sh(script: &str, limits: &Limits) -> ChildOutcome {
    let argv: Vec<OsString> = vec!["/bin/sh".into(), "-c".into(), script.into()];
    run(&argv, b"", Path::new("/"), limits, &[]).unwrap()
}

/// Shell: wait until the descendant has written its pid to `{PF}` (so
/// that it is not killed before the test can know it).
const WAIT: &str = "while [ ! -s {PF} ]; do sleep 0.01; done";

fn short(wall_ms: u64) -> Limits {
    Limits {
        wall: Duration::from_millis(wall_ms),
        ..Limits::default()
    }
}

/// Alive and not a zombie.
fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // SAFETY: signal 0 only checks existence.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists && !stat.is_empty() && !stat.contains(") Z")
}

/// Waits for a pid file the script writes, then for the process to be gone.
fn pid_from(file: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(p) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return p;
        }
        assert!(Instant::now() < deadline, "no pid in {}", file.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn assert_gone(pid: i32, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        if Instant::now() > deadline {
            // Do not leave it behind for the next test run.
            // SAFETY: plain syscall on the test's own stray process.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            panic!("{what}: process {pid} outlived the sandbox");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn have(cmd: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_setsid_grandchild_of_a_hung_child_is_killed_at_the_deadline() {
    if !have("setsid") {
        gemmscope_microbench::testing::skip(
            "a_setsid_grandchild_of_a_hung_child_is_killed_at_the_deadline",
            "no setsid(1)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pf = dir.path().join("gc.pid");
    // setsid(1) forks when it is a group leader; `exec` makes the pid the
    // sleeper's either way.
    let script = format!(
        "setsid sh -c 'echo $$ > {p}; exec sleep 1000' & {WAIT}; sleep 1000",
        p = pf.display()
    )
    .replace("{PF}", &pf.display().to_string());
    let o = sh(&script, &short(3000));
    assert_eq!(o.exit, Exit::TimedOut);
    let gc = pid_from(&pf);
    assert_gone(gc, "setsid grandchild of a hung child");
}

#[test]
fn a_daemon_left_by_a_child_that_exits_at_once_is_killed() {
    if !have("setsid") {
        gemmscope_microbench::testing::skip(
            "a_daemon_left_by_a_child_that_exits_at_once_is_killed",
            "no setsid(1)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pf = dir.path().join("daemon.pid");
    // The classic double fork: a subshell starts a new session and exits,
    // the child exits 0 at once; the daemon is an orphan in another group
    // with its output closed.
    let script = format!(
        "(setsid sh -c 'echo $$ > {p}; exec sleep 1000' </dev/null >/dev/null 2>&1 &); {WAIT}; exit 0",
        p = pf.display()
    )
    .replace("{PF}", &pf.display().to_string());
    let o = sh(&script, &short(20_000));
    assert_eq!(o.exit, Exit::Code(0));
    let d = pid_from(&pf);
    assert_gone(d, "daemon of a child that exited");
}

#[test]
fn a_descendant_that_clears_its_environment_is_killed_while_the_child_lives() {
    if !have("setsid") || !have("env") {
        gemmscope_microbench::testing::skip(
            "a_descendant_that_clears_its_environment_is_killed_while_the_child_lives",
            "no setsid(1) or env(1)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pf = dir.path().join("clean.pid");
    // No mark in its environment, a new session, and its parent (the
    // subshell) gone: the child, a subreaper, still holds it in its tree.
    let script = format!(
        "(env -i setsid sh -c 'echo $$ > {p}; exec sleep 1000' </dev/null >/dev/null 2>&1 &); {WAIT}; sleep 1000",
        p = pf.display()
    )
    .replace("{PF}", &pf.display().to_string());
    let o = sh(&script, &short(3000));
    assert_eq!(o.exit, Exit::TimedOut);
    let d = pid_from(&pf);
    assert_gone(d, "environment-clearing descendant");
}

#[test]
fn a_grandchild_holding_the_pipes_open_does_not_hang_the_caller() {
    if !have("setsid") {
        gemmscope_microbench::testing::skip(
            "a_grandchild_holding_the_pipes_open_does_not_hang_the_caller",
            "no setsid(1)",
        );
        return;
    }
    // The grandchild keeps stdin, stdout and stderr; the child exits at
    // once; 32 MiB of input are never read.
    let argv: Vec<OsString> = vec![
        "/bin/sh".into(),
        "-c".into(),
        "setsid sleep 1000 & exit 0".into(),
    ];
    let input = vec![b'x'; 32 << 20];
    let t = Instant::now();
    let o = run(&argv, &input, Path::new("/"), &short(30_000), &[]).unwrap();
    assert_eq!(o.exit, Exit::Code(0));
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "the caller waited {:?} for a grandchild",
        t.elapsed()
    );
}

#[test]
fn descendants_inherit_the_limits() {
    // The CPU-time and address-space limits and the niceness apply to a
    // grandchild in its own session too.
    if !have("setsid") {
        gemmscope_microbench::testing::skip("descendants_inherit_the_limits", "no setsid(1)");
        return;
    }
    let limits = Limits {
        cpu_seconds: 7,
        address_space: Some(3 << 30),
        wall: Duration::from_secs(20),
        nice: 10,
    };
    let o = sh(
        "setsid sh -c 'cat /proc/self/limits; echo nice $(cut -d\" \" -f19 /proc/self/stat)'",
        &limits,
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    let cpu = line("Max cpu time");
    assert_eq!(cpu[3], "7", "{out}");
    let aspace = line("Max address space");
    assert_eq!(aspace[3], (3u64 << 30).to_string(), "{out}");
    let core = line("Max core file size");
    assert_eq!(core[4], "0", "{out}");
    let nice: i32 = line("nice")[1].parse().unwrap();
    assert!(nice >= 10, "{out}");
}

#[test]
fn the_mark_is_private_to_each_run() {
    let a = sh(&format!("printenv {MARK}"), &Limits::default());
    let b = sh(&format!("printenv {MARK}"), &Limits::default());
    let (a, b) = (
        String::from_utf8_lossy(&a.stdout).trim().to_string(),
        String::from_utf8_lossy(&b.stdout).trim().to_string(),
    );
    assert!(!a.is_empty() && a != b, "{a:?} {b:?}");
    // Never the caller's own: this process is not marked.
    assert!(std::env::var(MARK).is_err());
}
