//! Runs one benchmark child process under limits: its own process group, low
//! priority, CPU-time and address-space rlimits, no core dumps, and a
//! wall-clock deadline after which the whole group is killed. Whatever the
//! child does (hang, crash, fork), the caller gets a [`ChildOutcome`] back.
//!
//! Descendants that leave the process group (`setsid`, `setpgid`, a
//! daemon's double fork) are found too, and killed with the child: each
//! run marks its child's environment with a unique [`MARK`] value that its
//! descendants inherit, and the child is a child subreaper (orphaned
//! descendants are re-parented to it, not to init, while it lives). When
//! the child ends or its deadline passes, every process carrying the mark
//! and, while the child still lives, every descendant of it, is stopped
//! and then killed. What escapes: a descendant that both clears its
//! environment and outlives the child; it still carries the rlimits and
//! the niceness (docs/security.md).
//!
//! A caller can also stop a child early: [`run_cancellable`] kills the
//! whole group as soon as a flag is set.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Resource limits for one child.
#[derive(Clone, Debug)]
pub struct Limits {
    /// RLIMIT_CPU, seconds of CPU time (all threads together).
    pub cpu_seconds: u64,
    /// RLIMIT_AS, bytes of address space; `None` leaves it unlimited (the
    /// CUDA driver reserves terabytes of virtual address space, so GPU jobs
    /// cannot run under an address-space limit).
    pub address_space: Option<u64>,
    /// Wall-clock deadline; the process group is killed when it passes.
    pub wall: Duration,
    /// Added niceness (0..19).
    pub nice: i32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_seconds: 120,
            address_space: Some(16 << 30),
            wall: Duration::from_secs(60),
            nice: 10,
        }
    }
}

/// How the child ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Killed by us at the wall-clock deadline.
    TimedOut,
    /// Killed by us because the caller cancelled it.
    Cancelled,
}

/// What came back from the child.
#[derive(Debug)]
pub struct ChildOutcome {
    pub exit: Exit,
    pub stdout: Vec<u8>,
    /// The last part of stderr (capped), for error messages.
    pub stderr: String,
    pub wall: Duration,
}

impl ChildOutcome {
    /// A one-line reason for a failed child, e.g. `killed by SIGSEGV`.
    pub fn describe_failure(&self) -> String {
        let what = match &self.exit {
            Exit::Code(c) => format!("exited with status {c}"),
            Exit::Signal(s) => format!("killed by {}", signal_name(*s)),
            Exit::TimedOut => format!(
                "timed out after {:.1} s (process group killed)",
                self.wall.as_secs_f64()
            ),
            // Whatever it printed while being killed is beside the point.
            Exit::Cancelled => return "cancelled".into(),
        };
        if self.stderr.contains("memory allocation of") {
            return format!("{what}: out of memory (the address-space limit was reached)");
        }
        let last = self
            .stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        if last.is_empty() {
            what
        } else {
            format!("{what}: {last}")
        }
    }
}

fn signal_name(s: i32) -> String {
    match s {
        libc::SIGKILL => "SIGKILL (CPU-time or memory limit, or killed)".into(),
        libc::SIGXCPU => "SIGXCPU (CPU-time limit)".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGILL => "SIGILL".into(),
        other => format!("signal {other}"),
    }
}

/// The environment variable that marks a run's processes.
pub const MARK: &str = "GEMMSCOPE_SANDBOX_RUN";

/// A value of [`MARK`] unique to one run.
fn new_mark() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{}-{t}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every process (but this one) whose environment has `MARK=mark`, and
/// every descendant of `root` (by parent pid), as far as /proc shows them.
fn marked_or_below(mark: &str, root: Option<i32>) -> Vec<i32> {
    let me = std::process::id() as i32;
    let needle = format!("{MARK}={mark}");
    let mut parent_of: Vec<(i32, i32)> = Vec::new();
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
            if env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
                found.push(pid);
                continue;
            }
        }
        if root.is_some() {
            // `pid (comm) state ppid ...`; comm may contain spaces and ')'.
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                if let Some(ppid) = stat
                    .rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<i32>().ok())
                {
                    parent_of.push((pid, ppid));
                }
            }
        }
    }
    if let Some(root) = root {
        let mut tree = vec![root];
        let mut i = 0;
        while i < tree.len() {
            let p = tree[i];
            for (c, pp) in &parent_of {
                if *pp == p && !tree.contains(c) {
                    tree.push(*c);
                }
            }
            i += 1;
        }
        for p in tree.into_iter().skip(1) {
            if !found.contains(&p) {
                found.push(p);
            }
        }
    }
    found
}

/// Stops every marked process and every descendant of `root` (so none can
/// fork or exit and be re-parented meanwhile), until a scan finds no new
/// one, then kills them all.
fn kill_marked(mark: &str, root: Option<i32>) {
    let mut stopped: Vec<i32> = Vec::new();
    for _ in 0..64 {
        let new: Vec<i32> = marked_or_below(mark, root)
            .into_iter()
            .filter(|p| !stopped.contains(p))
            .collect();
        if new.is_empty() {
            break;
        }
        for p in new {
            // SAFETY: plain syscall on a process this run started.
            unsafe {
                libc::kill(p, libc::SIGSTOP);
            }
            stopped.push(p);
        }
    }
    for p in stopped {
        // SAFETY: as above.
        unsafe {
            libc::kill(p, libc::SIGKILL);
        }
    }
}

/// A new private (0700, whatever the umask) directory in `root` named
/// `prefix…`, removed when the handle drops: where generated sources and
/// binaries go. (A plain `tempfile` directory gets the umask's default
/// mode, usually 0755: readable by every user.)
pub fn private_dir(prefix: &str, root: &Path) -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(root)
}

/// Caps on what is read back, so that a runaway child cannot exhaust memory.
const MAX_STDOUT: usize = 16 << 20;
const MAX_STDERR: usize = 64 << 10;

fn read_capped(mut r: impl Read, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if out.len() < cap {
                    let take = n.min(cap - out.len());
                    out.extend_from_slice(&buf[..take]);
                }
                // Keep draining past the cap so the child never blocks on a full pipe.
            }
        }
    }
    out
}

/// Runs `argv` with `stdin` as its standard input, in `cwd`, under `limits`.
/// Errors only when the process cannot be started at all.
pub fn run(
    argv: &[OsString],
    stdin: &[u8],
    cwd: &Path,
    limits: &Limits,
    env: &[(String, String)],
) -> std::io::Result<ChildOutcome> {
    run_cancellable(argv, stdin, cwd, limits, env, None)
}

/// [`run`], and when `cancel` is set (by another thread) while the child
/// runs, its whole process group is killed at once ([`Exit::Cancelled`]).
/// A flag already set when it is called starts nothing and reports
/// `Cancelled`.
pub fn run_cancellable(
    argv: &[OsString],
    stdin: &[u8],
    cwd: &Path,
    limits: &Limits,
    env: &[(String, String)],
    cancel: Option<&AtomicBool>,
) -> std::io::Result<ChildOutcome> {
    let cancelled = || cancel.is_some_and(|c| c.load(Ordering::SeqCst));
    if cancelled() {
        return Ok(ChildOutcome {
            exit: Exit::Cancelled,
            stdout: Vec::new(),
            stderr: String::new(),
            wall: Duration::ZERO,
        });
    }
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mark = new_mark();
    cmd.env(MARK, &mark);
    let cpu = limits.cpu_seconds;
    let aspace = limits.address_space;
    let nice = limits.nice;
    // SAFETY: only async-signal-safe libc calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Orphaned descendants stay below the child while it lives.
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
            let set = |res, soft: u64, hard: u64| {
                let lim = libc::rlimit {
                    rlim_cur: soft as libc::rlim_t,
                    rlim_max: hard as libc::rlim_t,
                };
                libc::setrlimit(res, &lim)
            };
            set(libc::RLIMIT_CPU, cpu, cpu + 2);
            set(libc::RLIMIT_CORE, 0, 0);
            if let Some(a) = aspace {
                set(libc::RLIMIT_AS, a, a);
            }
            libc::setpriority(libc::PRIO_PROCESS, 0, nice);
            // If the thread that started it dies (the whole parent process
            // killed), the child is killed too instead of running on to
            // its limits; its own children are reached through the group
            // kill of a parent that exits normally.
            #[cfg(target_os = "linux")]
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pgid = child.id() as i32;
    let mut sin = child.stdin.take().expect("piped stdin");
    let sout = child.stdout.take().expect("piped stdout");
    let serr = child.stderr.take().expect("piped stderr");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&input);
    });
    let out_t = std::thread::spawn(move || read_capped(sout, MAX_STDOUT));
    let err_t = std::thread::spawn(move || read_capped(serr, MAX_STDERR * 16));
    let exit = loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                break match (st.code(), st.signal()) {
                    (Some(c), _) => Exit::Code(c),
                    (None, Some(s)) => Exit::Signal(s),
                    _ => Exit::Code(-1),
                };
            }
            Ok(None) => {}
            Err(_) => break Exit::Code(-1),
        }
        if start.elapsed() >= limits.wall {
            // The child's whole tree while it still holds it together,
            // then the group.
            kill_marked(&mark, Some(pgid));
            // SAFETY: plain syscall; the group is the child's own.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
            let _ = child.wait();
            break Exit::TimedOut;
        }
        if cancelled() {
            // SAFETY: as above.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
            let _ = child.wait();
            break Exit::Cancelled;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Kill whatever the child left behind in its group (grandchildren that
    // still hold the pipes open), so the readers below finish.
    // SAFETY: as above; ESRCH when the group is already gone is fine.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    // And whatever left the group but still carries this run's mark.
    kill_marked(&mark, None);
    let wall = start.elapsed();
    let _ = writer.join();
    let stdout = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    let tail = &err[err.len().saturating_sub(MAX_STDERR)..];
    Ok(ChildOutcome {
        exit,
        stdout,
        stderr: String::from_utf8_lossy(tail).into_owned(),
        wall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, limits: &Limits) -> ChildOutcome {
        let argv: Vec<OsString> = vec!["/bin/sh".into(), "-c".into(), script.into()];
        run(&argv, b"hello", Path::new("/"), limits, &[]).unwrap()
    }

    #[test]
    fn private_dirs_are_0700_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let d = private_dir("gemmscope-test-", root.path()).unwrap();
        let mode = std::fs::metadata(d.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let p = d.path().to_path_buf();
        drop(d);
        assert!(!p.exists());
    }

    #[test]
    fn stdin_in_stdout_out() {
        let o = sh("cat; echo oops >&2; exit 3", &Limits::default());
        assert_eq!(o.exit, Exit::Code(3));
        assert_eq!(o.stdout, b"hello");
        assert!(o.describe_failure().contains("exited with status 3: oops"));
    }

    #[test]
    fn hung_child_and_its_grandchildren_are_killed_at_the_deadline() {
        let limits = Limits {
            wall: Duration::from_millis(300),
            ..Limits::default()
        };
        // The grandchild writes its pid, then both sleep "forever".
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("gc.pid");
        let script = format!("sleep 1000 & echo $! > {}; sleep 1000", pidfile.display());
        let o = sh(&script, &limits);
        assert_eq!(o.exit, Exit::TimedOut);
        assert!(o.wall < Duration::from_secs(5));
        let gc: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: signal 0 only checks existence.
        let alive = unsafe { libc::kill(gc, 0) } == 0;
        // A zombie still "exists" until reaped by init; check its state.
        let state = std::fs::read_to_string(format!("/proc/{gc}/stat")).unwrap_or_default();
        assert!(
            !alive || state.contains(") Z"),
            "grandchild {gc} survived: {state}"
        );
    }

    #[test]
    fn setting_the_cancel_flag_kills_the_child_group_at_once() {
        let flag = std::sync::Arc::new(AtomicBool::new(false));
        let setter = {
            let f = flag.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                f.store(true, Ordering::SeqCst);
                Instant::now()
            })
        };
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("gc.pid");
        let script = format!("sleep 1000 & echo $! > {}; sleep 1000", pidfile.display());
        let argv: Vec<OsString> = vec!["/bin/sh".into(), "-c".into(), script.into()];
        let o = run_cancellable(
            &argv,
            b"",
            Path::new("/"),
            &Limits::default(),
            &[],
            Some(&flag),
        )
        .unwrap();
        let set_at = setter.join().unwrap();
        let late = set_at.elapsed();
        assert_eq!(o.exit, Exit::Cancelled);
        assert_eq!(o.describe_failure(), "cancelled");
        assert!(
            late < Duration::from_millis(500),
            "returned {late:?} after the flag was set"
        );
        let gc: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: signal 0 only checks existence.
        let alive = unsafe { libc::kill(gc, 0) } == 0;
        let state = std::fs::read_to_string(format!("/proc/{gc}/stat")).unwrap_or_default();
        assert!(
            !alive || state.contains(") Z"),
            "grandchild {gc} survived: {state}"
        );
        // A flag set before the call starts nothing.
        let o = run_cancellable(
            &argv,
            b"",
            Path::new("/"),
            &Limits::default(),
            &[],
            Some(&flag),
        )
        .unwrap();
        assert_eq!((o.exit, o.wall), (Exit::Cancelled, Duration::ZERO));
    }

    #[test]
    fn cpu_limit_kills_a_spinning_child() {
        let limits = Limits {
            cpu_seconds: 1,
            wall: Duration::from_secs(20),
            ..Limits::default()
        };
        let o = sh("while :; do :; done", &limits);
        assert!(
            matches!(o.exit, Exit::Signal(s) if s == libc::SIGXCPU || s == libc::SIGKILL),
            "{:?}",
            o.exit
        );
        assert!(
            o.describe_failure().contains("CPU-time"),
            "{}",
            o.describe_failure()
        );
    }

    #[test]
    fn address_space_limit_stops_a_huge_allocation() {
        let limits = Limits {
            address_space: Some(256 << 20),
            ..Limits::default()
        };
        // python3 or not, `head -c` of /dev/zero into a shell variable grows memory.
        let o = sh(
            "x=$(head -c 600000000 /dev/zero | tr '\\0' a); echo ${#x}",
            &limits,
        );
        assert_ne!(o.exit, Exit::Code(0), "{:?} {}", o.exit, o.stderr);
    }

    #[test]
    fn crash_is_reported_with_the_signal() {
        let o = sh("kill -SEGV $$", &Limits::default());
        assert_eq!(o.exit, Exit::Signal(libc::SIGSEGV));
        assert!(o.describe_failure().contains("SIGSEGV"));
    }

    #[test]
    fn output_is_capped() {
        let o = sh("head -c 40000000 /dev/zero", &Limits::default());
        assert_eq!(o.exit, Exit::Code(0));
        assert_eq!(o.stdout.len(), MAX_STDOUT);
    }
}
