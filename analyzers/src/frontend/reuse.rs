//! Lowered functions kept between two lowerings of an edited text, so that
//! an edit re-lowers only the functions it touched ([`LowerCache`], C and
//! CUDA/C++; the language server keeps one per open document).
//!
//! A function's lowering is a function of its own text, the column it
//! starts at, its top-level context (preprocessor branch, class, template
//! parameters) and what the declarations pass collected from the whole
//! file (macros, constants, typedefs, globals, class fields, inlined
//! helpers). The key holds all of these: the file-level state enters as one
//! fingerprint computed after the declarations pass. A function whose
//! lowering changes that state (a `#define` or an `enum` in its body) is
//! never reused, and the functions after it are keyed with it folded into
//! the fingerprint. A reused function is the earlier result with its spans
//! moved by the distance the function moved (the text before it may have
//! changed length); one with a span outside its own text is not kept.
//! `tests/` (server) checks that an edited document's findings equal a
//! fresh check of its text after every edit.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::ir::{Function, Span, StmtKind};

/// Lowered functions by key, from the previous lowering (see the module
/// comment). Holds only the functions of the latest lowering.
#[derive(Default)]
pub struct LowerCache {
    entries: HashMap<u64, Entry>,
    /// Filled during a lowering; replaces `entries` at its end.
    next: HashMap<u64, Entry>,
    /// Functions reused and lowered anew by the latest lowering.
    pub reused: usize,
    pub lowered: usize,
}

impl std::fmt::Debug for LowerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LowerCache")
            .field("functions", &self.entries.len())
            .field("reused", &self.reused)
            .field("lowered", &self.lowered)
            .finish()
    }
}

struct Entry {
    /// The function's text, compared on a hit (the key is a hash).
    text: Box<[u8]>,
    /// The rest of the key, compared too.
    context: u64,
    start_byte: usize,
    start_line: usize,
    function: Option<Function>,
}

/// Where a function is and what it is lowered with.
pub(crate) struct Site<'a> {
    pub text: &'a [u8],
    pub start_byte: usize,
    /// 0-based, as tree-sitter counts.
    pub start_row: usize,
    pub start_column: usize,
    /// The file-level fingerprint and the top-level context, hashed.
    pub context: u64,
}

impl Site<'_> {
    fn key(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.context.hash(&mut h);
        self.start_column.hash(&mut h);
        self.text.hash(&mut h);
        h.finish()
    }
}

impl LowerCache {
    pub fn new() -> LowerCache {
        LowerCache::default()
    }

    pub(crate) fn start(&mut self) {
        self.next.clear();
        self.reused = 0;
        self.lowered = 0;
    }

    pub(crate) fn finish(&mut self) {
        self.entries = std::mem::take(&mut self.next);
    }

    /// The function lowered earlier at `site`'s key, moved to where it is now.
    pub(crate) fn get(&mut self, site: &Site) -> Option<Option<Function>> {
        let key = site.key();
        let e = self.entries.remove(&key)?;
        if *e.text != *site.text || e.context != site.context {
            return None;
        }
        let mut f = e.function.clone();
        if let Some(f) = &mut f {
            let db = site.start_byte as isize - e.start_byte as isize;
            let dl = (site.start_row + 1) as isize - e.start_line as isize;
            if db != 0 || dl != 0 {
                shift_function(f, db, dl);
            }
        }
        self.next.insert(key, e);
        self.reused += 1;
        Some(f)
    }

    /// Keeps `function`, just lowered at `site` (unless a span of it lies
    /// outside the function's text).
    pub(crate) fn put(&mut self, site: &Site, function: &Option<Function>) {
        self.lowered += 1;
        let end = site.start_byte + site.text.len();
        if let Some(f) = function {
            let mut inside = within(f.span, site.start_byte, end);
            for s in &f.body {
                s.walk(&mut |s| {
                    inside &= within(s.span, site.start_byte, end);
                    if let StmtKind::Loop(l) = &s.kind {
                        inside &= within(l.header, site.start_byte, end);
                    }
                });
            }
            if !inside {
                return;
            }
        }
        self.next.insert(
            site.key(),
            Entry {
                text: site.text.into(),
                context: site.context,
                start_byte: site.start_byte,
                start_line: site.start_row + 1,
                function: function.clone(),
            },
        );
    }
}

fn within(s: Span, start: usize, end: usize) -> bool {
    start <= s.start_byte && s.end_byte <= end
}

fn shift(s: &mut Span, db: isize, dl: isize) {
    s.start_byte = s.start_byte.wrapping_add_signed(db);
    s.end_byte = s.end_byte.wrapping_add_signed(db);
    s.start_line = s.start_line.wrapping_add_signed(dl);
    s.end_line = s.end_line.wrapping_add_signed(dl);
}

fn shift_function(f: &mut Function, db: isize, dl: isize) {
    shift(&mut f.span, db, dl);
    for s in &mut f.body {
        s.walk_mut(&mut |s| {
            shift(&mut s.span, db, dl);
            if let StmtKind::Loop(l) = &mut s.kind {
                shift(&mut l.header, db, dl);
            }
        });
    }
}

/// Hashes a map in key order (a `HashMap`'s own order is not stable).
pub(crate) fn hash_map<V: std::fmt::Debug>(h: &mut impl Hasher, m: &HashMap<String, V>) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_unstable();
    keys.len().hash(h);
    for k in keys {
        k.hash(h);
        format!("{:?}", m[k]).hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::{lower_parsed, lower_parsed_reusing, parse};
    use crate::ir::Lang;
    use crate::{BuildContext, NoIncludes};

    /// Lowers `texts` in turn through one cache; each must equal a fresh
    /// lowering. Returns the (reused, lowered) counts of the last one.
    fn agree(lang: Lang, texts: &[String]) -> (usize, usize) {
        let mut cache = LowerCache::new();
        let b = BuildContext::default();
        for (i, t) in texts.iter().enumerate() {
            let p = parse(lang, t, None);
            let fresh = lower_parsed(&p, "f.c", t, &NoIncludes, &b);
            let reused = lower_parsed_reusing(&p, "f.c", t, &NoIncludes, &b, Some(&mut cache));
            assert_eq!(fresh, reused, "text {i}:\n{t}");
        }
        (cache.reused, cache.lowered)
    }

    /// Edits of every fixture: a line above everything, a character in the
    /// middle of the file, a blank line at the end, a byte changed inside
    /// the first loop, and the first `#define`'s value changed.
    #[test]
    fn reused_functions_equal_fresh_ones_over_the_corpus() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus");
        let mut files = 0;
        let mut reused = 0;
        for (dir, lang) in [("c", Lang::C), ("cuda", Lang::Cuda)] {
            for e in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
                let Ok(t) = std::fs::read_to_string(e.path()) else {
                    continue;
                };
                let mid = t.len() / 2;
                let mid = (mid..t.len()).find(|&i| t.is_char_boundary(i)).unwrap();
                let mut texts = vec![t.clone(), format!("// one more line\n{t}")];
                let mut m = texts[1].clone();
                m.insert(mid + 17, ' ');
                texts.push(m.clone());
                texts.push(format!("{m}\n\n"));
                if let Some(at) = m.find("for (") {
                    let mut l = m.clone();
                    l.insert_str(at, "{ int unused_here = 1; }\n");
                    texts.push(l);
                }
                if let Some(at) = m.find("#define ") {
                    let end = m[at..].find('\n').map_or(m.len(), |e| at + e);
                    let mut d = m.clone();
                    d.insert_str(end, " + 1");
                    texts.push(d);
                }
                texts.push(t);
                reused += agree(lang, &texts).0;
                files += 1;
            }
        }
        assert!(files > 50, "{files} fixtures");
        assert!(reused > 0, "nothing was re-used");
    }

    /// A `#define` or `enum` in a function body changes what the functions
    /// after it see: that function is never re-used, and the later ones
    /// are keyed with it.
    #[test]
    fn a_definition_inside_a_body_is_seen_by_the_functions_after_it() {
        let a = "void a(void) {\n#define N 16\n}\nfloat A[64][64];\nvoid b(void) { for (int i = 0; i < N; i++) A[i][i] = 0; }\n";
        let changed = a.replace("#define N 16", "#define N 32");
        let enums = "void a(void) { enum { N = 8 }; }\nfloat A[64][64];\nvoid b(void) { for (int i = 0; i < N; i++) A[i][i] = 0; }\n";
        let enums2 = enums.replace("N = 8", "N = 9");
        let (reused, lowered) = agree(Lang::C, &[a.to_string(), changed.clone(), changed]);
        // `a` is lowered anew each time; `b` only when `N` changed.
        assert_eq!((reused, lowered), (1, 1));
        agree(Lang::C, &[enums.to_string(), enums2]);
    }

    /// A function moved by an edit before it keeps its findings' places.
    #[test]
    fn moved_functions_are_shifted() {
        let t = "float A[8][8], B[8][8], C[8][8];\nvoid mm(void) {\n    for (int i = 0; i < 8; i++)\n        for (int j = 0; j < 8; j++)\n            for (int k = 0; k < 8; k++)\n                C[i][j] += A[i][k] * B[k][j];\n}\n";
        let (reused, lowered) = agree(Lang::C, &[t.to_string(), format!("\n\n/* x */ {t}")]);
        assert_eq!(
            (reused, lowered),
            (1, 0),
            "moved two lines and 9 bytes down"
        );
        let (reused, lowered) = agree(Lang::C, &[t.to_string(), t.replace("k < 8", "k < 7")]);
        assert_eq!((reused, lowered), (0, 1), "edited inside");
    }
}
