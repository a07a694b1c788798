//! The cost of the project index (docs/sizes.md): `GEMMSCOPE_INDEX_DIR=DIR
//! cargo test -p gemmscope --test index_cost -- --ignored --nocapture`
//! indexes every C, CUDA/C++ and Python file under DIR on one thread, as
//! `gemmscope check` does per core before checking, and prints files/s.

use std::time::Instant;

use gemmscope::file_check::index_text;
use gemmscope_analyzers::{Lang, ProjectIndex};

#[test]
#[ignore = "a measurement: set GEMMSCOPE_INDEX_DIR"]
fn index_cost() {
    let Some(dir) = std::env::var_os("GEMMSCOPE_INDEX_DIR") else {
        return;
    };
    let files: Vec<_> = ignore::WalkBuilder::new(&dir)
        .build()
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| e.into_path())
        .filter(|p| Lang::from_path(&p.to_string_lossy()).is_some())
        .collect();
    let texts: Vec<(String, String)> = files
        .iter()
        .filter_map(|p| {
            let b = std::fs::read(p).ok()?;
            Some((
                p.display().to_string(),
                String::from_utf8_lossy(&b).into_owned(),
            ))
        })
        .collect();
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let t0 = Instant::now();
    let mut index = ProjectIndex::new();
    for (p, t) in &texts {
        if let Some(fi) = index_text(p, t, None, None) {
            index.insert(p, fi);
        }
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "{} files ({:.1} MB), {} indexed, {} call sites: {:.2} s on one thread, {:.0} files/s, {:.1} MB/s",
        texts.len(),
        bytes as f64 / 1e6,
        index.len(),
        index.call_count(),
        s,
        texts.len() as f64 / s,
        bytes as f64 / 1e6 / s
    );
}
