//! docs/rules.md is generated from the detectors' doc comments; this test
//! fails when the two drift apart. `GEMMSCOPE_UPDATE_DOCS=1` rewrites it.

use std::path::PathBuf;

#[test]
fn rules_md_matches_the_detectors_doc_comments() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    let want = gemmscope_analyzers::detectors::rules_markdown();
    if std::env::var_os("GEMMSCOPE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/rules.md is out of date; run GEMMSCOPE_UPDATE_DOCS=1 cargo test -p gemmscope-tests --test rules_doc"
    );
}

#[test]
fn every_rule_is_documented_and_codes_are_unique() {
    let rules = gemmscope_analyzers::detectors::all_rules();
    let mut codes = std::collections::BTreeSet::new();
    for r in &rules {
        let m = r.meta();
        assert!(codes.insert(m.code), "duplicate code {}", m.code);
        assert!(m.code.starts_with("GS") && m.code.len() == 5, "{}", m.code);
        assert!(
            m.doc.lines().count() >= 5,
            "{}: doc comment too short",
            m.code
        );
        // What it finds, why it is slow, an example, when the rewrite is safe.
        for section in [
            "**What it finds",
            "**Why",
            "```",
            "**When the rewrite is safe",
        ] {
            assert!(
                m.doc.contains(section),
                "{}: doc comment has no `{section}` part",
                m.code
            );
        }
    }
}
