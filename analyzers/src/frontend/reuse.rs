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
