//! How many files (and bytes) of a tree pass the prefilter:
//! `cargo run --release -p gemmscope-analyzers --example prefilter_share -- DIR...`
//! (reads files; an example, outside the analyzers' no-I/O library).

use gemmscope_analyzers::{prefilter, BuildContext, IncludeResolver, Lang};

struct Disk;
impl IncludeResolver for Disk {
    fn resolve(&self, from: &str, inc: &str) -> Option<String> {
        let p = std::path::Path::new(from).parent()?.join(inc);
        std::fs::read(p)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk(&e.path(), out);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
}

fn main() {
    for arg in std::env::args().skip(1) {
        let mut files = Vec::new();
        walk(std::path::Path::new(&arg), &mut files);
        let (mut n, mut bytes, mut kept, mut kept_bytes) = (0usize, 0usize, 0usize, 0usize);
        let t = std::time::Instant::now();
        for f in &files {
            let p = f.to_string_lossy();
            let Some(lang) = Lang::from_path(&p) else {
                continue;
            };
            let Ok(b) = std::fs::read(f) else { continue };
            let text = String::from_utf8_lossy(&b);
            n += 1;
            bytes += b.len();
            if prefilter::may_find(lang, &p, &text, &Disk, &BuildContext::default()) {
                kept += 1;
                kept_bytes += b.len();
                if std::env::var_os("SHOW").is_some() {
                    println!("  {p}");
                }
            }
        }
        println!(
            "{arg}: {kept}/{n} files ({:.1}%), {:.1}/{:.1} MB ({:.1}%), {:.2} s",
            100.0 * kept as f64 / n.max(1) as f64,
            kept_bytes as f64 / 1e6,
            bytes as f64 / 1e6,
            100.0 * kept_bytes as f64 / bytes.max(1) as f64,
            t.elapsed().as_secs_f64()
        );
    }
}
