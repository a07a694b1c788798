//! `gemmscope report --open`: hands the written page to the desktop's
//! opener (`xdg-open` on Linux and BSD, `open` on macOS, `cmd /c start` on
//! Windows). The opener is started detached (no pipes, not waited for
//! beyond a moment) and any failure only means the path is printed
//! instead: a missing browser never fails the run. This is the one
//! process the `gemmscope` crate itself starts, on the user's request; it
//! runs no user code and no benchmark.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The opener commands to try, in order, for this platform.
fn openers() -> &'static [&'static [&'static str]] {
    if cfg!(target_os = "macos") {
        &[&["open"]]
    } else if cfg!(windows) {
        &[&["cmd", "/c", "start", ""]]
    } else {
        &[&["xdg-open"], &["gio", "open"]]
    }
}

/// Tries to open `path` in a browser. `Ok(opener)` when an opener started
/// and did not fail at once; `Err(why)` otherwise (the caller prints the
/// path).
pub fn open(path: &Path) -> Result<String, String> {
    let mut why = Vec::new();
    for argv in openers() {
        let mut c = Command::new(argv[0]);
        c.args(&argv[1..])
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match c.spawn() {
            Err(e) => why.push(format!("{}: {e}", argv[0])),
            Ok(mut child) => {
                // xdg-open returns at once when it hands over; give it a
                // moment to say it could not.
                let deadline = Instant::now() + Duration::from_secs(3);
                loop {
                    match child.try_wait() {
                        Ok(Some(st)) if st.success() => return Ok(argv.join(" ")),
                        Ok(Some(st)) => {
                            why.push(format!("{} exited with {st}", argv[0]));
                            break;
                        }
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(20))
                        }
                        // Still running: it is the browser itself, or waiting
                        // on it; leave it be.
                        Ok(None) => return Ok(argv.join(" ")),
                        Err(e) => {
                            why.push(format!("{}: {e}", argv[0]));
                            break;
                        }
                    }
                }
            }
        }
    }
    Err(why.join("; "))
}
