//! What the fuzz targets call: one front end on raw bytes, and the whole
//! `check` pipeline — the one per-file function that `check` and the
//! language server call (`gemmscope::file_check::check_text`: analyse,
//! select, levels, suppressions, fingerprints, advice), the Finding →
//! Problem conversion, and every output format. Each also checks a few invariants that a
//! user would notice if broken (ranges inside the text, outputs that parse
//! as JSON), so a wrong answer is a crash too, not only a panic.

use std::sync::{Arc, OnceLock};

use gemmscope::advice::{Advisor, BenchMode};
use gemmscope::check::{Presenter, Summary};
use gemmscope::config::{Configs, Overrides, Settings};
use gemmscope::file_check::{check_text, FileReport, Input, NotChecked};
use gemmscope::report::{github::Github, json::Json, sarif::Sarif, text::Text};
use gemmscope_analyzers::{analyze_as, Analysis, IncludeResolver, Lang};

/// Answers every quoted include with the file's own text: include cycles,
/// self-inclusion and many distinct header names all at once.
pub struct SelfIncludes<'a>(pub &'a str);

impl IncludeResolver for SelfIncludes<'_> {
    fn resolve(&self, _from_path: &str, _include: &str) -> Option<String> {
        Some(self.0.to_string())
    }
}

/// The file name a language is analysed under.
pub fn path_for(lang: Lang) -> &'static str {
    match lang {
        Lang::C => "fuzz/input.c",
        Lang::Cuda => "fuzz/input.cu",
        Lang::Python => "fuzz/input.py",
    }
}

/// Bytes as the CLI and the server read a file: lossy UTF-8.
pub fn text_of(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Invariants of any analysis of `text`.
pub fn check_analysis(a: &Analysis, text: &str) {
    for f in &a.findings {
        for (what, s) in [("range", f.range), ("key_range", f.key_range)] {
            assert!(
                s.start_byte <= s.end_byte && s.end_byte <= text.len(),
                "{} {what} {s:?} outside the text of {} bytes",
                f.code,
                text.len()
            );
            assert!(
                s.start_line >= 1 && s.start_line <= s.end_line,
                "{} {what} lines {s:?}",
                f.code
            );
        }
        assert!(
            f.confidence.is_finite() && (0.0..=1.0).contains(&f.confidence),
            "{} confidence {}",
            f.code,
            f.confidence
        );
    }
}

/// One front end on raw bytes, with includes that resolve to the input.
pub fn front_end(lang: Lang, data: &[u8]) {
    let text = text_of(data);
    let a = analyze_as(lang, path_for(lang), &text, &SelfIncludes(&text));
    // Headers share the input's text, so every range is still inside it.
    check_analysis(&a, &text);
}

fn advisor() -> &'static Advisor {
    static A: OnceLock<Advisor> = OnceLock::new();
    // `off`: the model and the shipped reference data; nothing is probed,
    // measured or read from a store.
    A.get_or_init(|| Advisor::for_bench(BenchMode::Off))
}

/// The settings of a run with a speed-up gate (so that the gate's paths
/// run too) and no configuration file.
fn settings() -> &'static Arc<Settings> {
    static S: OnceLock<Arc<Settings>> = OnceLock::new();
    S.get_or_init(|| {
        let o = Overrides {
            no_config: true,
            fail_on_speedup: Some(2.0),
            ..Overrides::default()
        };
        Arc::new(Configs::new(o).expect("no configuration file").settings(None))
    })
}

fn render(p: &mut dyn Presenter, file: &FileReport, summary: &Summary) {
    p.file(file).expect("writing to memory");
    p.finish(summary).expect("writing to memory");
}

/// The whole `check` pipeline on one file's text, as `check` runs it on a
/// file it read (no includes: the input has no folder). A panic that the
/// per-file check caught is re-raised: it is what the fuzzer looks for.
pub fn pipeline(lang: Lang, text: &str) {
    let path = path_for(lang);
    let input = Input {
        path,
        text,
        flags: None,
        from_disk: false,
        old_tree: None,
        project: None,
    };
    let checked = match check_text(input, settings(), Some(advisor())) {
        Ok(c) => c,
        Err(NotChecked::Internal(why)) => panic!("check_text caught a panic: {why}"),
        Err(e) => panic!("{path} not checked: {e}"),
    };
    check_analysis(&checked.analysis, text);
    let file: FileReport = checked.report;
    let mut summary = Summary {
        files_checked: 1,
        syntax_problems: file.syntax_problems.len(),
        bench_modes: vec![BenchMode::Off],
        speedup_gates: vec![2.0],
        ..Summary::default()
    };
    for r in &file.findings {
        // What the server measures for this finding; the engine checks it
        // before running anything.
        if let Ok(p) = gemmscope::advice::problem_for(&r.finding) {
            let _ = p.describe();
            let _ = gemmscope_microbench::store::problem_key(&p);
            if p.validate().is_ok() {
                assert!(p.flops() > 0.0 && p.outputs() > 0, "{p:?}");
            }
        }
        if let Some(e) = &r.advice.best {
            assert!(
                e.factor.is_finite() && e.factor > 0.0,
                "speed-up {e:?} for {}",
                r.finding.message
            );
        }
        if r.is_active() {
            summary.active += 1;
            *summary.by_code.entry(r.finding.code.to_string()).or_default() += 1;
        } else {
            summary.suppressed += 1;
        }
    }
    let mut text_out = Vec::new();
    render(&mut Text::new(&mut text_out, true), &file, &summary);
    let mut json_out = Vec::new();
    render(&mut Json::new(&mut json_out), &file, &summary);
    let v: serde_json::Value =
        serde_json::from_slice(&json_out).expect("the JSON output parses as JSON");
    assert_eq!(
        v["findings"].as_array().map(Vec::len),
        Some(summary.active),
        "JSON findings"
    );
    let mut sarif_out = Vec::new();
    render(&mut Sarif::new(&mut sarif_out), &file, &summary);
    serde_json::from_slice::<serde_json::Value>(&sarif_out).expect("SARIF parses as JSON");
    let mut gh_out = Vec::new();
    render(&mut Github::new(&mut gh_out), &file, &summary);
    // GitHub workflow commands are one per line, and text from the file
    // never starts a command of its own (`::set-env`, `::add-mask`, ...).
    for line in String::from_utf8_lossy(&gh_out).lines() {
        if line.starts_with("::") {
            assert!(
                ["::warning ", "::error ", "::notice "]
                    .iter()
                    .any(|k| line.starts_with(k)),
                "workflow command injected: {line}"
            );
        }
    }
}

/// The pipeline for each language in turn (seeds need no language tag).
pub fn pipeline_all(data: &[u8]) {
    let text = text_of(data);
    for lang in [Lang::C, Lang::Cuda, Lang::Python] {
        pipeline(lang, &text);
    }
}

pub mod gen;

/// The structured target: render, then run the pipeline on a thread with
/// the stack `check`'s workers get (2 MiB), where deep recursion would
/// overflow first.
pub fn structured(p: &gen::Program) {
    let bytes = gen::render(p);
    let lang = p.lang();
    // Triage: `GEMMSCOPE_FUZZ_SAVE=dir` writes each rendered input there
    // as a source file (run the target on one artifact to see it).
    if let Some(dir) = std::env::var_os("GEMMSCOPE_FUZZ_SAVE") {
        let ext = path_for(lang).rsplit('.').next().unwrap_or("txt");
        let name = format!("input-{:016x}.{ext}", fnv(&bytes));
        let _ = std::fs::write(std::path::Path::new(&dir).join(name), &bytes);
    }
    let text = text_of(&bytes);
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            front_end(lang, text.as_bytes());
            pipeline(lang, &text);
        })
        .expect("spawn")
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, x| {
        (h ^ u64::from(*x)).wrapping_mul(0x100_0000_01b3)
    })
}
