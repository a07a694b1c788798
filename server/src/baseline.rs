//! Baselines: `--write-baseline FILE` records today's findings, and
//! `--baseline FILE` then fails only on findings not in it.
//!
//! A finding is identified by its path (relative to the baseline file's
//! folder), its code, and a fingerprint: a hash of the enclosing function's
//! name and the key statement's text with all whitespace removed. Line
//! numbers are not part of it, so edits above a finding do not make it new;
//! changing the key statement or renaming the function does. Identical
//! findings are counted, so a second copy of a baselined nest is new.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use gemmscope_analyzers::Finding;
use serde::{Deserialize, Serialize};

/// The baseline file's format version.
pub const FORMAT: u32 = 1;

/// FNV-1a, 64 bits: stable across builds and platforms.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// The fingerprint of `f` in a file whose text is `text`.
pub fn fingerprint(f: &Finding, text: &str) -> String {
    let (s, e) = (f.key_range.start_byte, f.key_range.end_byte);
    let key = text.get(s.min(e)..e.min(text.len())).unwrap_or_default();
    let norm: String = key.chars().filter(|c| !c.is_whitespace()).collect();
    let func = f.function.as_deref().unwrap_or("");
    format!("{:016x}", fnv1a(&["gemmscope/v1", f.code, func, &norm]))
}

/// `path` relative to the folder `base` (both made absolute first), with
/// `/` separators.
pub fn relative(path: &Path, base: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let norm = |p: PathBuf| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    v.pop();
                }
                c => v.push(c.as_os_str().to_string_lossy().into_owned()),
            }
        }
        v
    };
    let p = norm(abs(path));
    let b = norm(abs(base));
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out: Vec<String> = vec!["..".into(); b.len() - common];
    out.extend(p[common..].iter().cloned());
    out.join("/")
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub path: String,
    pub code: String,
    pub function: Option<String>,
    pub fingerprint: String,
    pub count: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    gemmscope_baseline: u32,
    findings: Vec<Entry>,
}

/// A loaded baseline, consumed as findings match it.
pub struct Baseline {
    pub path: PathBuf,
    dir: PathBuf,
    left: BTreeMap<(String, String, String), u32>,
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{shown}: cannot read the baseline: {e}"))?;
        let f: FileFormat = serde_json::from_str(&text)
            .map_err(|e| format!("{shown}: not a gemmscope baseline: {e}"))?;
        if f.gemmscope_baseline != FORMAT {
            return Err(format!(
                "{shown}: baseline format {} (this gemmscope reads {FORMAT})",
                f.gemmscope_baseline
            ));
        }
        let mut left = BTreeMap::new();
        for e in f.findings {
            *left.entry((e.path, e.code, e.fingerprint)).or_insert(0) += e.count;
        }
        Ok(Baseline {
            path: path.to_path_buf(),
            dir: parent_dir(path),
            left,
        })
    }

    /// True (and the entry used up) when the finding at `file` is in the
    /// baseline.
    pub fn take(&mut self, file: &Path, code: &str, fingerprint: &str) -> bool {
        let key = (
            relative(file, &self.dir),
            code.to_string(),
            fingerprint.to_string(),
        );
        match self.left.get_mut(&key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Collects findings for `--write-baseline`.
pub struct Writer {
    pub path: PathBuf,
    dir: PathBuf,
    entries: BTreeMap<(String, String, Option<String>, String), u32>,
}

impl Writer {
    pub fn new(path: &Path) -> Writer {
        Writer {
            path: path.to_path_buf(),
            dir: parent_dir(path),
            entries: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, file: &Path, f: &Finding, fingerprint: &str) {
        let key = (
            relative(file, &self.dir),
            f.code.to_string(),
            f.function.clone(),
            fingerprint.to_string(),
        );
        *self.entries.entry(key).or_insert(0) += 1;
    }

    pub fn len(&self) -> usize {
        self.entries.values().map(|n| *n as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the file (sorted, so that it diffs well).
    pub fn write(&self) -> Result<(), String> {
        let findings: Vec<Entry> = self
            .entries
            .iter()
            .map(|((path, code, function, fp), n)| Entry {
                path: path.clone(),
                code: code.clone(),
                function: function.clone(),
                fingerprint: fp.clone(),
                count: *n,
            })
            .collect();
        let doc = FileFormat {
            gemmscope_baseline: FORMAT,
            findings,
        };
        let mut s = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        s.push('\n');
        std::fs::write(&self.path, s)
            .map_err(|e| format!("{}: cannot write the baseline: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/a/b/c.c"), Path::new("/a")), "b/c.c");
        assert_eq!(
            relative(Path::new("/a/b/c.c"), Path::new("/a/d")),
            "../b/c.c"
        );
        assert_eq!(
            relative(Path::new("/a/./b/../c.c"), Path::new("/a/")),
            "c.c"
        );
    }

    #[test]
    fn fnv_is_the_published_function() {
        // FNV-1a 64 test vectors.
        assert_eq!(fnv1a(&[""]), 0xcbf29ce484222325);
        assert_eq!(fnv1a(&["a"]), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(&["foobar"]), 0x85944171f73967e8);
    }
}
