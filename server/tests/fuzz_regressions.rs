//! Every input a fuzz target found a crash with, kept as a source file in
//! `fuzz/regressions/` (C, CUDA/C++ or Python by extension), through what
//! the fuzz targets run (docs/security.md): the front end, the Finding →
//! Problem conversion, the estimate for `check --bench off`, and every
//! output format. Runs in the debug profile, where integer overflow
//! panics.

use std::path::Path;

use gemmscope::advice::{Advisor, BenchMode};
use gemmscope::check::{CheckOptions, Presenter};
use gemmscope::report::{github::Github, json::Json, sarif::Sarif, text::Text};
use gemmscope_analyzers::{analyze, NoIncludes};

#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    let est = Advisor::for_bench(BenchMode::Off);
    for path in &files {
        let shown = path.display().to_string();
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let a = analyze(&shown, &text, &NoIncludes).unwrap();
        for f in &a.findings {
            assert!(f.range.end_byte <= text.len(), "{shown}: {:?}", f.range);
            match gemmscope::advice::problem_for(f) {
                Ok(p) => {
                    p.validate().unwrap();
                    assert!(p.outputs() > 0 && p.flops() > 0.0, "{shown}: {p:?}");
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
            if let Some(s) = est.advise(f).best {
                assert!(s.factor.is_finite() && s.factor > 0.0, "{shown}: {s:?}");
            }
        }
        // The whole check, rendered in every format.
        let opts = CheckOptions::new(vec![path.clone()]);
        let out = gemmscope::check::collect_all(&opts).unwrap();
        assert!(
            out.summary.errors.is_empty(),
            "{shown}: {:?}",
            out.summary.errors
        );
        let render = |p: &mut dyn Presenter| {
            for f in &out.files {
                p.file(f).unwrap();
            }
            p.finish(&out.summary).unwrap();
        };
        let mut json = Vec::new();
        render(&mut Json::new(&mut json));
        serde_json::from_slice::<serde_json::Value>(&json).unwrap();
        render(&mut Text::new(Vec::new(), false));
        render(&mut Sarif::new(Vec::new()));
        render(&mut Github::new(Vec::new()));
    }
}
