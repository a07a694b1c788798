//! `gemmscope report` end to end, in a real browser: the real binary writes
//! the report of docs/examples, headless Chromium (Debian's `chromium`)
//! loads it, and the DOM after load must have one section per finding
//! (each with its ladder, or the reason it has none, in words), one
//! roofline and one summary row per finding, with nothing in the console.
//! The screenshot is saved (and copied to docs/screens/report.png when
//! GEMMSCOPE_UPDATE_SCREENSHOT=1). A second report, of a file whose name and
//! code carry markup, must show that markup as text.
//!
//! Without Chromium the browser part prints SKIPPED, unless CI is set: then
//! it fails (.ci/run installs `chromium`). The language server's hover
//! links to the finding's section of a `gemmscope-report.html` next to the
//! file.

mod lsp_client;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gemmscope-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn report(paths: &[&Path], out: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .current_dir(root())
        .arg("report")
        .args(paths)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "report failed: {stderr}");
    assert!(stderr.contains("gemmscope: wrote "), "{stderr}");
    std::fs::read_to_string(out).unwrap()
}

fn findings_of_check(path: &str) -> usize {
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .current_dir(root())
        .args(["check", path, "--format", "json", "--no-estimates"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["findings"].as_array().unwrap().len()
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs headless Chromium on `file` with `args`; (stdout, console lines).
fn browse(chrome: &Path, profile: &Path, file: &Path, args: &[String]) -> (String, Vec<String>) {
    let o = Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    let console: Vec<String> = stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect();
    assert!(o.status.success(), "chromium failed: {stderr}");
    (String::from_utf8_lossy(&o.stdout).into_owned(), console)
}

/// Chromium, or `None` with SKIPPED printed (a failure under CI).
fn browser_or_skip() -> Option<PathBuf> {
    let c = chromium();
    if c.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed and CI is set: install Debian's `chromium` (.ci/run does)");
        }
        eprintln!("SKIPPED: no chromium on PATH (Debian: apt-get install chromium)");
    }
    c
}

fn count(s: &str, pat: &str) -> usize {
    s.matches(pat).count()
}

#[test]
fn the_report_of_the_examples_renders_in_chromium() {
    let dir = temp_dir("examples");
    let out = dir.join("report.html");
    let html = report(&[Path::new("docs/examples")], &out);
    // Self-contained: no script, nothing fetched.
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script",
        "src=",
        "href=\"http",
        "url(http",
        "@import",
        "<link",
    ] {
        assert!(!lower.contains(bad), "the page has {bad}");
    }
    let n = findings_of_check("docs/examples");
    assert!(n >= 4, "{n}");
    let Some(chrome) = browser_or_skip() else {
        return;
    };
    let profile = dir.join("profile");
    // The console check must be able to fail: a page with an error.
    let bad = dir.join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><p>x</p><script>notDefined();</script>",
    )
    .unwrap();
    let (_, console) = browse(&chrome, &profile, &bad, &["--dump-dom".into()]);
    assert!(
        console.iter().any(|l| l.contains("Uncaught")),
        "this chromium does not log console errors on stderr: {console:?}"
    );

    let (dom, console) = browse(&chrome, &profile, &out, &["--dump-dom".into()]);
    assert!(console.is_empty(), "console: {console:#?}");
    assert_eq!(
        count(&dom, "<section class=\"finding\""),
        n,
        "one section per finding"
    );
    assert_eq!(
        count(&dom, "<svg class=\"chart roofline\""),
        1,
        "one roofline"
    );
    let body = &dom[dom.find("<table class=\"summary\"").expect("summary table")..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    assert_eq!(count(body, "<tr"), n, "one summary row per finding");
    // Each finding: its ladder, or why there is none, in words.
    let mut ladders = 0;
    for s in dom.split("<section class=\"finding\"").skip(1) {
        let s = &s[..s.find("</section>").unwrap()];
        let l = count(s, "<svg class=\"chart ladder\"");
        let why = count(s, "No estimate at the code's size: ");
        assert_eq!(l + why, 1, "a ladder or the reason: {s}");
        ladders += l;
        // Every bar says how it is known.
        assert_eq!(count(s, "<g class=\"bar\""), count(s, "How known: "));
    }
    assert!(ladders >= 2, "{ladders}");
    // The screenshot.
    let png = dir.join("report.png");
    let (_, console) = browse(
        &chrome,
        &profile,
        &out,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1280,2400".into(),
        ],
    );
    assert!(console.is_empty(), "console: {console:#?}");
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{}",
        bytes.len()
    );
    eprintln!("screenshot: {}", png.display());
    if std::env::var_os("GEMMSCOPE_UPDATE_SCREENSHOT").is_some() {
        std::fs::copy(&png, root().join("docs/screens/report.png")).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn markup_from_user_files_is_shown_as_text_in_chromium() {
    let dir = temp_dir("inject");
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let evil = src.join("<img src=x onerror=alert(1)>.c");
    std::fs::write(
        &evil,
        "#define N 256\nfloat A[N][N], B[N][N], C[N][N];\nvoid f(void) {\n    for (int i = 0; i < N; i++) /* <script>alert(2)</script> */\n        for (int j = 0; j < N; j++)\n            for (int k = 0; k < N; k++)\n                C[i][j] += A[i][k] * B[k][j];\n}\n",
    )
    .unwrap();
    let out = dir.join("report.html");
    let html = report(&[src.as_path()], &out);
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script") && !lower.contains("<img"));
    assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;.c"));
    let Some(chrome) = browser_or_skip() else {
        return;
    };
    let (dom, console) = browse(&chrome, &dir.join("profile"), &out, &["--dump-dom".into()]);
    assert!(console.is_empty(), "console: {console:#?}");
    let lower = dom.to_ascii_lowercase();
    assert!(
        !lower.contains("<script") && !lower.contains("<img"),
        "markup became elements"
    );
    assert!(dom.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert_eq!(count(&dom, "<section class=\"finding\""), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn open_without_a_browser_prints_the_path_and_succeeds() {
    let dir = temp_dir("open");
    let empty = dir.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = dir.join("r.html");
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .current_dir(root())
        .env("PATH", &empty)
        .args(["report", "docs/examples/matmul.c", "--open", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("no browser could be started"), "{stderr}");
    assert!(
        stdout.trim().starts_with("file:///") && stdout.trim().ends_with("r.html"),
        "{stdout}"
    );
    assert!(out.is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hover_links_to_the_finding_s_section_of_the_report() {
    use serde_json::json;
    let dir = temp_dir("hover");
    let file = dir.join("a.c");
    let text = lsp_client::gemm_c(64, 48, 32);
    std::fs::write(&file, &text).unwrap();
    let page = dir.join("gemmscope-report.html");
    let html = report(&[dir.as_path()], &page);
    let cache = dir.join("cache");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .arg("serve")
        .env("GEMMSCOPE_CACHE_DIR", &cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut c = lsp_client::Client::new(child.stdout.take().unwrap(), child.stdin.take().unwrap());
    c.initialize(json!({"trusted": false}), json!({})).await;
    let uri = format!("file://{}", file.display());
    c.open(&uri, "c", 1, &text).await;
    c.diagnostics(&uri, Some(1)).await;
    let h = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 5, "character": 8}}),
        )
        .await;
    let md = h["result"]["contents"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let at = md
        .find("gemmscope-report.html#")
        .unwrap_or_else(|| panic!("no link: {md}"));
    let anchor: String = md[at + "gemmscope-report.html#".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    assert!(anchor.starts_with("gs101-a-c-6-"), "{anchor}");
    assert!(md.contains("](file:///"), "{md}");
    assert!(
        html.contains(&format!("id=\"{anchor}\"")),
        "the page has the section"
    );
    c.shutdown().await;
    let _ = child.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
}
