//! Where one language-server edit's time goes, stage by stage, on the
//! same 5,000-line C file as `lsp_latency` (the edit: one character
//! inserted in the comment on line 0, as there). In process, no LSP.
//!
//! `cargo bench -p gemmscope --bench lsp_stages` (prints the median and
//! p99 of each stage over 100 edits).

#[path = "../tests/lsp_client/mod.rs"]
mod lsp_client;

use std::sync::Arc;
use std::time::Instant;

use gemmscope::config::{Configs, Overrides};
use gemmscope::file_check::{check_text, check_text_reusing, index_text, Input, Reuse};
use gemmscope_analyzers::{
    analyze_parsed, detectors, frontend, normalize, parse, BuildContext, Lang, NoIncludes, TreeEdit,
};

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 100 } else { 3 };
    let settings = Arc::new(
        Configs::new(Overrides {
            no_config: true,
            ..Overrides::default()
        })
        .unwrap()
        .settings(None),
    );
    let mut text = lsp_client::big_c_file();
    let build = BuildContext::default();
    let mut tree = parse(Lang::C, &text, None);
    let names = [
        "parse from scratch",
        "incremental parse",
        "lower",
        "normalize",
        "detectors",
        "analyze_parsed (all 4 + sizes)",
        "index_text (LSP reindex)",
        "check_text (incremental)",
        "check_text_reusing (+ index)",
    ];
    let mut reuse = Reuse::default();
    let mut t: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    // `LSP_STAGES_ONLY_REUSE=1`: only the re-using check, many times (to
    // profile it alone).
    if std::env::var_os("LSP_STAGES_ONLY_REUSE").is_some() {
        for _ in 0..n * 10 {
            tree.edit(&TreeEdit::replace(&text, 3, 3, "x"));
            text.insert(3, 'x');
            let input = Input {
                path: "big.c",
                text: &text,
                flags: None,
                from_disk: true,
                old_tree: Some(tree.clone()),
                project: None,
            };
            tree = check_text_reusing(input, &settings, None, Some(&mut reuse))
                .unwrap()
                .tree;
        }
        return;
    }
    for _ in 0..n {
        let mut lap = |i: usize, t0: Instant| t[i].push(t0.elapsed().as_secs_f64() * 1e3);
        let e = TreeEdit::replace(&text, 3, 3, "x");
        text.insert(3, 'x');
        let t0 = Instant::now();
        let _ = parse(Lang::C, &text, None);
        lap(0, t0);
        tree.edit(&e);
        let t0 = Instant::now();
        let new = parse(Lang::C, &text, Some(&tree));
        lap(1, t0);
        let t0 = Instant::now();
        let mut file = frontend::lower_parsed(&new, "big.c", &text, &NoIncludes, &build);
        lap(2, t0);
        let t0 = Instant::now();
        normalize::normalize(&mut file);
        lap(3, t0);
        let t0 = Instant::now();
        let reported = detectors::run_all(&file, &text);
        lap(4, t0);
        assert_eq!(reported.len(), 1);
        let t0 = Instant::now();
        let a = analyze_parsed("big.c", &text, &new, &NoIncludes, &build);
        lap(5, t0);
        assert_eq!(a.findings.len(), 1);
        let t0 = Instant::now();
        let _ = index_text("big.c", &text, None, None);
        lap(6, t0);
        let input = Input {
            path: "big.c",
            text: &text,
            flags: None,
            from_disk: false,
            old_tree: Some(new.clone()),
            project: None,
        };
        let t0 = Instant::now();
        let c = check_text(input, &settings, None).unwrap();
        lap(7, t0);
        assert_eq!(c.report.findings.len(), 1);
        let input = Input {
            path: "big.c",
            text: &text,
            flags: None,
            from_disk: true,
            old_tree: Some(new.clone()),
            project: None,
        };
        let t0 = Instant::now();
        let r = check_text_reusing(input, &settings, None, Some(&mut reuse)).unwrap();
        lap(8, t0);
        assert_eq!(r.report.findings.len(), 1);
        assert!(matches!(r.index, Some(Some(_))));
        tree = new;
    }
    let (reused, lowered) = reuse.counts();
    println!("the last edit: {reused} functions re-used, {lowered} lowered anew");
    for (name, v) in names.iter().zip(t.iter_mut()) {
        println!(
            "{name:>28}: p50 {:7.2} ms  p99 {:7.2} ms",
            pct(v, 0.5),
            pct(v, 0.99)
        );
    }
}
