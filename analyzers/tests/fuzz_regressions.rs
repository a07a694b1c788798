//! The analyzers on every input a fuzz target crashed with
//! (`fuzz/regressions/`, language by extension): no panic (integer
//! overflow panics in this debug profile), every finding's range inside
//! the text. The server crate runs the same files through the whole
//! `check` pipeline (`server/tests/fuzz_regressions.rs`).

use std::path::Path;

use gemmscope_analyzers::{analyze, NoIncludes};

#[test]
fn fuzz_regressions_analyse_without_a_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = e.path();
        let shown = path.display().to_string();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let a = analyze(&shown, &text, &NoIncludes).unwrap();
        for f in &a.findings {
            assert!(
                f.range.start_byte <= f.range.end_byte && f.range.end_byte <= text.len(),
                "{shown}: {:?}",
                f.range
            );
        }
        n += 1;
    }
    assert!(n >= 5, "{n} files in {}", dir.display());
}
