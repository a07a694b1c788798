//! The prefilter: a byte-level scan that says whether a file *could* hold a
//! finding, so that the caller can skip parsing, lowering and the detectors
//! for the (large) majority of files that cannot. [`may_find`] answers
//! `false` only when no detector can report anything for the text; every
//! doubt answers `true`. It reads no files itself: the headers a C file
//! includes come through the same [`IncludeResolver`] the front end uses.
//!
//! What each rule family needs, and why the scan is conservative for it:
//!
//! **Loop-nest rules on C/C++/CUDA host code** (GS101, GS104–GS108, GS201,
//! GS301; `detectors/contraction.rs`): a multiply-accumulate inside at
//! least two loops, since every shape gives its M/N/K (or output and
//! reduction) roles to distinct loop variables. Serial loops are lowered
//! only from `for` and `while` statements (`frontend/c/stmt.rs`; `do` and
//! the rest are `Opaque`), and function-like macros and inlined helpers are
//! expanded only as *expressions* (`frontend/c.rs`: `lower_snippet`,
//! `register_helper`), so a loop can never come from a macro or a header:
//! the `for`/`while` keywords are in the file's own text. The scan finds
//! each `for`/`while` (outside comments and literals), works out the extent
//! of its body (a braced block, or one statement with `if`/`else`, `do`
//! and nested loops followed), and keeps the file if another loop starts
//! inside that body and the extent holds a product: `*`, or a name with
//! `fma`/`mul` (`fmaf`, `__fmul_rn`, ... in `frontend/c/expr.rs`). Where
//! the product can be hidden — a function-like macro defined in the file,
//! on the command line or in a readable header, an `inline`/`__device__`
//! helper in the file or a header — the product is not required. A
//! loop that calls a function defined in the file (any loop, if the file
//! has two loop keywords) is kept as well: helpers called as statements
//! inside loops are inlined (`normalize.rs`), so the nest and its product
//! can be split between the caller and the helper. A
//! preprocessor conditional (`#if...`, `#else`, `#elif`) inside a body,
//! whose branches can unbalance the braces, extends that body to the end of
//! the file; so does a missing close.
//!
//! **CUDA kernels** (GS102, GS103; `cuda_naive_matmul.rs`,
//! `cuda_tiled_matmul.rs`): thread-index loops exist only in functions whose
//! specifiers spell `__global__` (`frontend/c.rs`: `fn_kind`): any file
//! with `__global__` is kept.
//!
//! **Warp matrix-multiply kernels** (GS109, `cuda_wmma_matmul.rs`): the
//! rule needs an `mma_sync` call inside a loop of a `__global__` or
//! `__device__` function; a file whose text spells `mma_sync` is kept (one
//! with `__global__` is kept already). A `__device__`-only file whose
//! `mma_sync` comes from a function-like macro is kept by the loop rules'
//! hidden-product case when its loops nest, not otherwise: a rare gap.
//!
//! **cuBLAS calls** (GS601, `cublas_slow_math.rs`): a call whose name starts
//! with `cublas`, written in the file or produced by a macro from a readable
//! header or the command line: the file is kept if its text, a `-D` value or
//! any header it includes (transitively, as the front end reads them)
//! contains `cublas`.
//!
//! **Python loops** (GS101–GS301 through `for`/`while` loops, comprehensions
//! and `sum(...)` generators, and GS401 `row_product_loop.rs`): the scan
//! splits the text into logical lines (brackets, strings, comments and
//! continuations followed) and takes each line holding `for`/`while` with
//! the indented block under it. That region is kept if it holds a `*` and
//! either a second loop keyword or the word `sum` (`np.sum(a * b)` is a
//! reduction loop), or a matrix-product name (`dot`, `inner`, `vdot`,
//! `matmul`, `mm`, `bmm`, `einsum`, ... — `frontend/python/expr.rs` turns
//! these and `@` into loops or `MatMul`), or an `@` operator (not a
//! decorator). When such a name is imported (possibly under another name,
//! `from numpy import dot as d`), any loop region is kept.
//!
//! **Python library idioms** (GS501 `manual_attention.rs`, GS602
//! `torch_fp32_matmul_cuda.rs`): GS602 needs a product and `cuda`
//! somewhere in the file (strings included: `device="cuda"`), and is
//! checked on the whole file. GS501 is local to one function: it needs a
//! product and a softmax call in the same function — the word `softmax`
//! (or, for a class's methods, `Softmax` anywhere in the class: an
//! `nn.Softmax` module bound in `__init__`),
//! or the manual form, `exp` called (`np.exp(`, `x.exp (`) with a `sum` and
//! a `/` — so a top-level block holding both is a candidate region (every
//! block with a product is, where an import names `softmax` or `exp`: it
//! may be renamed). A product here is an `@` operator or one of the
//! product names above, in code. A `*` counts when it is binary (an
//! operand before it, not `**`): `*args` and `**kwargs` never multiply.
//!
//! **Parsing only candidate functions** ([`python_candidates`]): loop
//! findings in Python are local to one function, so a kept Python file is
//! parsed with its other top-level `def`/`class` blocks blanked (spaces,
//! newlines kept: every offset and line of the rest is unchanged);
//! module-level statements, and whole classes with a candidate method, are
//! kept. A file that may hold GS602 (file-wide) is kept whole.
//!
//! `--no-prefilter` (server: `Settings::prefilter`) skips this module, and
//! `server/tests/prefilter_agree.rs` checks that both paths give identical
//! findings on the corpus and on large real trees.

use std::collections::HashSet;

use memchr::{memchr, memmem};

use crate::frontend::c::join_path;
use crate::ir::Lang;
use crate::{BuildContext, IncludeResolver};

/// Whether the detectors could report anything for `text` (of the file at
/// `path`, analysed as `lang` with these includes and build flags). `false`
/// means certainly nothing.
pub fn may_find(
    lang: Lang,
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
) -> bool {
    match lang {
        Lang::Python => python_may_find(text.as_bytes()),
        Lang::C | Lang::Cuda => c_may_find(path, text, includes, build),
    }
}

fn has(hay: &[u8], needle: &str) -> bool {
    memmem::find(hay, needle.as_bytes()).is_some()
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

// ---------------------------------------------------------------- C / CUDA

fn c_may_find(
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
) -> bool {
    let b = text.as_bytes();
    if has(b, "__global__") || has(b, "cublas") || has(b, "mma_sync") {
        return true;
    }
    let build_cublas = build
        .defines
        .iter()
        .any(|(n, v)| n.contains("cublas") || v.as_deref().is_some_and(|v| v.contains("cublas")));
    let build_fn_macro = build.defines.iter().any(|(n, _)| n.contains('('));
    if build_cublas {
        return true;
    }
    let mut headers: Option<HeaderFacts> = None;
    let header_facts = |headers: &mut Option<HeaderFacts>| -> HeaderFacts {
        *headers.get_or_insert_with(|| HeaderFacts::of(path, b, includes))
    };
    let loops = has(b, "for") || has(b, "while");
    if loops {
        let scan = CScan::new(b);
        let kws = scan.loop_keywords();
        let mut indirect: Option<bool> = None;
        for (n, &p) in kws.iter().enumerate() {
            let Some(end) = scan.loop_end(p) else {
                continue;
            };
            if kws.get(n + 1).is_none_or(|&q| q >= end) {
                continue;
            }
            let body = &b[p..end];
            if memchr(b'*', body).is_some() || has(body, "fma") || has(body, "mul") {
                return true;
            }
            let ind = *indirect.get_or_insert_with(|| {
                build_fn_macro || defines_hidden_product(b) || header_facts(&mut headers).hidden
            });
            if ind {
                return true;
            }
        }
        // A loop calling a function defined in this file: the normaliser
        // inlines such helpers (`normalize.rs`, pass 0), so the nest and its
        // product may be split between the caller's loop and the helper.
        if kws.len() >= 2 {
            let defined = scan.defined_functions();
            if !defined.is_empty() {
                for &p in &kws {
                    let Some(end) = scan.loop_end(p) else {
                        continue;
                    };
                    if scan.calls_any(p, end, &defined) {
                        return true;
                    }
                }
            }
        }
    }
    header_facts(&mut headers).cublas
}

/// A function-like macro definition (`#define F(`) or a helper that the
/// front end inlines (`inline`, `__device__`).
fn defines_hidden_product(b: &[u8]) -> bool {
    if has(b, "inline") || has(b, "__device__") {
        return true;
    }
    memmem::find_iter(b, b"define").any(|i| {
        let mut j = i + 6;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let start = j;
        while j < b.len() && is_ident(b[j]) {
            j += 1;
        }
        j > start && b.get(j) == Some(&b'(')
    })
}

/// What the headers a C file includes (transitively) bring.
#[derive(Clone, Copy, Default)]
struct HeaderFacts {
    /// Some header mentions `cublas`.
    cublas: bool,
    /// Some header defines a function-like macro or an inlinable helper.
    hidden: bool,
}

/// The front end's `#include` nesting limit.
const MAX_INCLUDE_DEPTH: usize = 8;

impl HeaderFacts {
    fn of(path: &str, text: &[u8], includes: &dyn IncludeResolver) -> HeaderFacts {
        let mut facts = HeaderFacts::default();
        let mut visited = HashSet::new();
        visited.insert(path.to_string());
        facts.walk(path, text, includes, &mut visited, 0);
        facts
    }

    fn walk(
        &mut self,
        path: &str,
        text: &[u8],
        includes: &dyn IncludeResolver,
        visited: &mut HashSet<String>,
        depth: usize,
    ) {
        if depth >= MAX_INCLUDE_DEPTH || (self.cublas && self.hidden) {
            return;
        }
        for (inc, angled) in include_names(text) {
            if !angled && visited.contains(&join_path(path, &inc)) {
                continue;
            }
            let Some((found, header)) = includes.find(path, &inc, angled) else {
                continue;
            };
            if !visited.insert(found.clone()) {
                continue;
            }
            let h = header.as_bytes();
            self.cublas |= has(h, "cublas");
            self.hidden |= defines_hidden_product(h);
            self.walk(&found, h, includes, visited, depth + 1);
        }
    }
}

/// The `#include "x"` (`false`) and `#include <x>` (`true`) names of a text.
fn include_names(b: &[u8]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for i in memmem::find_iter(b, b"include") {
        // `#` with only blanks before it on its line, and before `include`.
        let mut j = i;
        while j > 0 && (b[j - 1] == b' ' || b[j - 1] == b'\t') {
            j -= 1;
        }
        if j == 0 || b[j - 1] != b'#' {
            continue;
        }
        let mut k = j - 1;
        while k > 0 && (b[k - 1] == b' ' || b[k - 1] == b'\t') {
            k -= 1;
        }
        if k > 0 && b[k - 1] != b'\n' {
            continue;
        }
        let mut s = i + 7;
        while s < b.len() && (b[s] == b' ' || b[s] == b'\t') {
            s += 1;
        }
        let (close, angled) = match b.get(s) {
            Some(b'"') => (b'"', false),
            Some(b'<') => (b'>', true),
            _ => continue,
        };
        let rest = &b[s + 1..];
        let line = &rest[..memchr(b'\n', rest).unwrap_or(rest.len())];
        if let Some(e) = memchr(close, line) {
            out.push((String::from_utf8_lossy(&line[..e]).into_owned(), angled));
        }
    }
    out
}

/// Statement extents in C text, skipping comments and literals.
struct CScan<'a> {
    b: &'a [u8],
}

/// Nesting cap for [`CScan::stmt_end`] (deeper: to the end of the file).
const MAX_STMT_DEPTH: usize = 200;

impl<'a> CScan<'a> {
    fn new(b: &'a [u8]) -> Self {
        CScan { b }
    }

    /// The offsets of the `for`/`while` keywords outside comments,
    /// literals and preprocessor lines (a macro body never lowers to a
    /// loop), in order.
    fn loop_keywords(&self) -> Vec<usize> {
        let b = self.b;
        let mut out = Vec::new();
        let mut i = 0;
        let mut line_start = true;
        while i < b.len() {
            let c = b[i];
            if c == b'\n' {
                line_start = true;
                i += 1;
                continue;
            }
            if line_start && c == b'#' {
                i = self.directive_end(i).unwrap_or_else(|e| e);
                continue;
            }
            if !c.is_ascii_whitespace() {
                line_start = false;
            }
            if let Some(j) = self.skip_comment_or_literal(i) {
                i = j;
            } else if is_ident(c) {
                let s = i;
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                let w = &b[s..i];
                if w == b"for" || w == b"while" {
                    out.push(s);
                }
            } else {
                i += 1;
            }
        }
        out
    }

    /// If `i` starts a comment or a literal, the offset after it.
    fn skip_comment_or_literal(&self, i: usize) -> Option<usize> {
        let b = self.b;
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                // A line comment; a `\` before the newline continues it.
                let mut j = i + 2;
                loop {
                    match memchr(b'\n', &b[j..]) {
                        None => return Some(b.len()),
                        Some(n) => {
                            let nl = j + n;
                            if nl > 0 && b[nl - 1] == b'\\' {
                                j = nl + 1;
                            } else {
                                return Some(nl);
                            }
                        }
                    }
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                Some(memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + 2 + n + 2))
            }
            b'"' if i > 0 && b[i - 1] == b'R' => {
                // A raw string: R"delim( ... )delim".
                let open = memchr(b'(', &b[i + 1..]).map(|n| i + 1 + n)?;
                let delim = &b[i + 1..open];
                if delim.len() > 16 || delim.iter().any(|c| c.is_ascii_whitespace()) {
                    return Some(self.quoted(i, b'"'));
                }
                let mut close = Vec::with_capacity(delim.len() + 2);
                close.push(b')');
                close.extend_from_slice(delim);
                close.push(b'"');
                Some(memmem::find(&b[open..], &close).map_or(b.len(), |n| open + n + close.len()))
            }
            b'"' => Some(self.quoted(i, b'"')),
            // Not a digit separator (`1'000'000`).
            b'\'' if i == 0 || !b[i - 1].is_ascii_alphanumeric() => Some(self.quoted(i, b'\'')),
            _ => None,
        }
    }

    /// The offset after the literal opened by `q` at `i` (an unterminated
    /// one ends at the end of its line).
    fn quoted(&self, i: usize, q: u8) -> usize {
        let b = self.b;
        let mut j = i + 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                c if c == q => return j + 1,
                b'\n' => return j,
                _ => j += 1,
            }
        }
        b.len()
    }

    /// Skips blanks, comments and preprocessor lines from `i`. `Err`: a
    /// conditional (`#if...`, `#else`, `#elif`) was passed (the braces of
    /// its branches may not balance).
    fn skip_trivia(&self, mut i: usize) -> Result<usize, usize> {
        let b = self.b;
        while i < b.len() {
            let c = b[i];
            if c.is_ascii_whitespace() {
                i += 1;
            } else if c == b'/' && matches!(b.get(i + 1), Some(b'/' | b'*')) {
                i = self.skip_comment_or_literal(i).unwrap_or(i + 1);
            } else if c == b'#' {
                i = self.directive_end(i)?;
            } else {
                break;
            }
        }
        Ok(i)
    }

    /// The end of the preprocessor line at `i` (`#`), continuations
    /// included. `Err` for a
    /// conditional: `#if`, `#ifdef`, `#ifndef`, `#else`, `#elif` (with the
    /// end in the `Err`).
    fn directive_end(&self, i: usize) -> Result<usize, usize> {
        let b = self.b;
        let mut j = i + 1;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let conditional = b[j..].starts_with(b"el") || b[j..].starts_with(b"if");
        let end = loop {
            match memchr(b'\n', &b[j..]) {
                None => break b.len(),
                Some(n) => {
                    let nl = j + n;
                    if b[nl - 1] == b'\\' || (nl > 1 && b[nl - 1] == b'\r' && b[nl - 2] == b'\\') {
                        j = nl + 1;
                    } else {
                        break nl + 1;
                    }
                }
            }
        };
        if conditional {
            Err(end)
        } else {
            Ok(end)
        }
    }

    /// Names of the functions defined at top level (`name(...) {` at brace
    /// depth 0 outside comments, literals and preprocessor lines).
    fn defined_functions(&self) -> Vec<&'a [u8]> {
        let b = self.b;
        let mut out: Vec<&[u8]> = Vec::new();
        let (mut i, mut depth, mut line_start) = (0usize, 0usize, true);
        while i < b.len() {
            let c = b[i];
            if c == b'\n' {
                line_start = true;
                i += 1;
                continue;
            }
            if line_start && c == b'#' {
                i = self.directive_end(i).unwrap_or_else(|e| e);
                continue;
            }
            if !c.is_ascii_whitespace() {
                line_start = false;
            }
            if let Some(j) = self.skip_comment_or_literal(i) {
                i = j;
                continue;
            }
            match c {
                b'{' => depth += 1,
                b'}' => depth = depth.saturating_sub(1),
                _ if depth == 0 && is_ident(c) && (i == 0 || !is_ident(b[i - 1])) => {
                    let w = self.word(i);
                    let after = i + w.len();
                    if let Ok(o) = self.skip_trivia(after) {
                        if b.get(o) == Some(&b'(') {
                            if let Some(close) = self.after_group(o) {
                                if let Ok(k) = self.skip_trivia(close) {
                                    if b.get(k) == Some(&b'{') && !w.is_empty() {
                                        out.push(w);
                                    }
                                }
                            }
                        }
                    }
                    i = after.max(i + 1);
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        out
    }

    /// True if `b[from..to]` holds a call `name(` of one of `names`.
    fn calls_any(&self, from: usize, to: usize, names: &[&[u8]]) -> bool {
        let b = &self.b[..to.min(self.b.len())];
        let mut i = from;
        while i < b.len() {
            if is_ident(b[i]) && (i == 0 || !is_ident(b[i - 1])) {
                let w = self.word(i);
                let after = i + w.len();
                if names.contains(&w)
                    && matches!(self.skip_trivia(after), Ok(o) if b.get(o) == Some(&b'('))
                {
                    return true;
                }
                i = after.max(i + 1);
            } else {
                i += 1;
            }
        }
        false
    }

    /// The word at `i`, if any.
    fn word(&self, i: usize) -> &'a [u8] {
        let b = self.b;
        if i > 0 && i < b.len() && is_ident(b[i - 1]) {
            return &[];
        }
        let mut j = i;
        while j < b.len() && is_ident(b[j]) {
            j += 1;
        }
        &b[i..j]
    }

    /// The end of the loop whose keyword is at `kw` (`None`: not a loop,
    /// e.g. no `(` after it).
    fn loop_end(&self, kw: usize) -> Option<usize> {
        let w = self.word(kw).len();
        let open = match self.skip_trivia(kw + w) {
            Ok(o) => o,
            Err(_) => return Some(self.b.len()),
        };
        if self.b.get(open) != Some(&b'(') {
            return None;
        }
        Some(
            self.after_group(open)
                .map_or(self.b.len(), |h| self.stmt_end(h, 0)),
        )
    }

    /// The offset after the bracket group opened at `i` (`(`, `[` or `{`),
    /// every kind of bracket counted. `None`: not closed, or a
    /// preprocessor conditional inside.
    fn after_group(&self, i: usize) -> Option<usize> {
        let b = self.b;
        let mut depth = 0usize;
        let mut j = i;
        let mut line_start = true;
        while j < b.len() {
            let c = b[j];
            if line_start && c == b'#' {
                j = self.directive_end(j).ok()?;
                continue;
            }
            if let Some(k) = self.skip_comment_or_literal(j) {
                j = k;
                line_start = false;
                continue;
            }
            match c {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(j + 1);
                    }
                }
                _ => {}
            }
            if c == b'\n' {
                line_start = true;
            } else if !c.is_ascii_whitespace() {
                line_start = false;
            }
            j += 1;
        }
        None
    }

    /// The end of the statement starting at or after `i`.
    fn stmt_end(&self, i: usize, depth: usize) -> usize {
        let b = self.b;
        let eof = b.len();
        if depth > MAX_STMT_DEPTH {
            return eof;
        }
        let Ok(s) = self.skip_trivia(i) else {
            return eof;
        };
        if s >= eof {
            return eof;
        }
        if b[s] == b'{' {
            return self.after_group(s).unwrap_or(eof);
        }
        let w = self.word(s);
        match w {
            b"for" | b"while" | b"switch" | b"if" => {
                let Ok(open) = self.skip_trivia(s + w.len()) else {
                    return eof;
                };
                // `if constexpr (...)`.
                let open = if b[open..].starts_with(b"constexpr") {
                    match self.skip_trivia(open + 9) {
                        Ok(o) => o,
                        Err(_) => return eof,
                    }
                } else {
                    open
                };
                if b.get(open) != Some(&b'(') {
                    return self.simple_end(s);
                }
                let Some(h) = self.after_group(open) else {
                    return eof;
                };
                let end = self.stmt_end(h, depth + 1);
                if w != b"if" {
                    return end;
                }
                let Ok(e) = self.skip_trivia(end) else {
                    return eof;
                };
                if self.word(e) == b"else" {
                    return self.stmt_end(e + 4, depth + 1);
                }
                end
            }
            b"do" => {
                let body = self.stmt_end(s + 2, depth + 1);
                // `while (...);`
                let Ok(wh) = self.skip_trivia(body) else {
                    return eof;
                };
                if self.word(wh) == b"while" {
                    self.simple_end(wh)
                } else {
                    body
                }
            }
            _ => self.simple_end(s),
        }
    }

    /// The end of a simple statement at `s`: after the `;` outside brackets
    /// (lambdas and initialiser lists included), or at an unmatched `}`.
    fn simple_end(&self, s: usize) -> usize {
        let b = self.b;
        let mut j = s;
        while j < b.len() {
            if let Some(k) = self.skip_comment_or_literal(j) {
                j = k;
                continue;
            }
            match b[j] {
                b';' => return j + 1,
                b'(' | b'[' | b'{' => match self.after_group(j) {
                    Some(k) => j = k,
                    None => return b.len(),
                },
                b'}' | b')' | b']' => return j,
                b'#' if j == 0
                    || b[..j]
                        .iter()
                        .rev()
                        .take_while(|c| **c != b'\n')
                        .all(u8::is_ascii_whitespace) =>
                {
                    match self.directive_end(j) {
                        Ok(k) => j = k,
                        Err(_) => return b.len(),
                    }
                }
                _ => j += 1,
            }
        }
        b.len()
    }
}

// ---------------------------------------------------------------- Python

/// Names that the Python front end turns into products (`MatMul` or a dot
/// reduction loop), as method or module-function names.
fn is_py_product_word(w: &[u8]) -> bool {
    matches!(
        w,
        b"dot"
            | b"vdot"
            | b"inner"
            | b"matmul"
            | b"mm"
            | b"bmm"
            | b"addmm"
            | b"baddbmm"
            | b"addbmm"
            | b"einsum"
            | b"tensordot"
            | b"multi_dot"
            | b"chain_matmul"
            | b"linear"
            | b"Linear"
    )
}

/// One logical line of Python.
#[derive(Default)]
struct PyLine {
    /// Indentation width (tabs to the next multiple of 8).
    indent: usize,
    /// `for`/`while` keywords.
    loops: u32,
    star: bool,
    sum: bool,
    /// A product name or an `@` operator.
    product: bool,
    /// Starts with `import` or `from` and names a product (or `sum`).
    imports_product: bool,
    /// The word `softmax` in code.
    softmax: bool,
    /// The word `Softmax` (an `nn.Softmax` module, bound in one method and
    /// called in another).
    softmax_module: bool,
    /// The word `exp` called (`np.exp(`, `x.exp(`) or imported under
    /// another name (`exp as e`).
    exp_call: bool,
    /// A `/` in code.
    slash: bool,
    /// Starts with `import` or `from` and names `softmax` or `exp`.
    imports_softmax: bool,
    /// Starts with `class`.
    class: bool,
    /// May bind a `self.` attribute: an assignment (`=`, `+=`, `:=` at
    /// depth 0) after a `self.`, or a `self.x: T` annotation.
    self_assign: bool,
    /// Blank or only a comment.
    empty: bool,
    /// Starts with `def`, `async` or `class`.
    def: bool,
    /// Starts with `@` (a decorator, at the top level).
    decorator: bool,
    /// Its bytes.
    start: usize,
    end: usize,
}

fn python_may_find(b: &[u8]) -> bool {
    !matches!(python_scan(b), PyScan::Nothing)
}

/// A Python file's candidate part ([`python_candidates`]).
pub struct Part {
    /// The text with the left-out blocks blanked.
    pub text: String,
    /// The byte ranges not blanked, in order: whole lines.
    pub kept: Vec<std::ops::Range<usize>>,
}

/// What the Python scan found.
enum PyScan {
    Nothing,
    /// A whole-file idiom (GS501, GS602) may be there, or every loop counts.
    Whole,
    /// Only loop regions can hold findings: the logical lines, and which of
    /// them start a region that may.
    Regions(Vec<PyLine>, Vec<usize>),
}

fn python_scan(b: &[u8]) -> PyScan {
    let has_loop = has(b, "for") || has(b, "while");
    let has_cuda = has(b, "cuda");
    let softmax_text = has(b, "softmax") || has(b, "Softmax") || has(b, "exp");
    if !has_loop && !has_cuda && !softmax_text {
        return PyScan::Nothing;
    }
    let lines = py_lines(b);
    let any_product = lines.iter().any(|l| l.product);
    // GS602 reads the whole file (devices and settings anywhere in it).
    if has_cuda && any_product {
        return PyScan::Whole;
    }
    let mut starts = Vec::new();
    // GS501 is local to one function (`manual_attention.rs`: a product,
    // and a softmax call — named `softmax`, or `exp(...)` over a `sum` of
    // it — in the same function): a top-level block with both is a
    // candidate. A `softmax` or `exp` imported under another name can be
    // called as anything: then every block with a product is.
    if softmax_text && any_product {
        // The module-level statements are one function (`<module>`).
        let imported = lines.iter().any(|l| l.imports_softmax);
        let blocks = top_level_blocks(&lines);
        let module: Vec<&PyLine> = blocks
            .iter()
            .filter(|b| !b.2)
            .flat_map(|&(first, end, _)| &lines[first..end])
            .collect();
        let candidate = |block: &[&PyLine]| {
            let any = |f: fn(&PyLine) -> bool| block.iter().any(|l| f(l));
            let softmax = imported
                || any(|l| l.softmax)
                || any(|l| l.exp_call) && any(|l| l.sum) && any(|l| l.slash);
            softmax && any(|l| l.product)
        };
        if candidate(&module) {
            starts.extend(blocks.iter().find(|b| !b.2).map(|b| b.0));
        }
        for &(first, end, _) in blocks.iter().filter(|b| b.2) {
            // A class's methods are candidates one by one (its other lines
            // are never left out).
            let members =
                class_members(&lines, first, end).unwrap_or_else(|| vec![(first, end, true)]);
            // An `nn.Softmax` module bound anywhere in the class makes every
            // method with a product a candidate (`self.attend(dots)`).
            let module = lines[first..end].iter().any(|l| l.softmax_module);
            for (mf, me, _) in members {
                let block: Vec<&PyLine> = lines[mf..me].iter().collect();
                if candidate(&block) || module && block.iter().any(|l| l.product) {
                    starts.push(mf);
                }
            }
        }
    }
    if has_loop {
        let aliased = lines.iter().any(|l| l.imports_product);
        for (n, l) in lines.iter().enumerate() {
            if l.loops == 0 {
                continue;
            }
            if aliased {
                return PyScan::Whole;
            }
            let mut loops = 0;
            let (mut star, mut sum, mut product) = (false, false, false);
            for m in &lines[n..] {
                if !std::ptr::eq(m, l) && !m.empty && m.indent <= l.indent {
                    break;
                }
                loops += m.loops;
                star |= m.star;
                sum |= m.sum;
                product |= m.product;
            }
            if product || star && (loops >= 2 || sum) {
                starts.push(n);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    if starts.is_empty() {
        PyScan::Nothing
    } else {
        PyScan::Regions(lines, starts)
    }
}

/// The top-level blocks of a file's logical lines: `(first, end, is_def)`
/// for each top-level statement with the indented (and blank) lines under
/// it, decorators leading their `def`/`class`.
fn top_level_blocks(lines: &[PyLine]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        let l = &lines[n];
        if l.empty || l.indent > 0 {
            n += 1;
            continue;
        }
        let first = n;
        while n < lines.len() && lines[n].decorator && lines[n].indent == 0 {
            n += 1;
        }
        let is_def = lines.get(n).is_some_and(|l| l.def && l.indent == 0);
        n += 1;
        while n < lines.len() && (lines[n].empty || lines[n].indent > 0) {
            n += 1;
        }
        out.push((first, n.min(lines.len()), is_def));
    }
    out
}

/// The members of the top-level class block `[first, end)` (decorators
/// leading): `(first, end, is_def)` for each statement of its body with
/// the lines under it; `None` if the block is not a class or its body's
/// indentation is not one level throughout.
fn class_members(lines: &[PyLine], first: usize, end: usize) -> Option<Vec<(usize, usize, bool)>> {
    let mut n = first;
    while n < end && lines[n].decorator {
        n += 1;
    }
    if !lines.get(n)?.class {
        return None;
    }
    let indent = lines[n + 1..end]
        .iter()
        .find(|l| !l.empty)
        .map(|l| l.indent)?;
    let mut out = Vec::new();
    n += 1;
    while n < end {
        let l = &lines[n];
        if l.empty {
            n += 1;
            continue;
        }
        if l.indent != indent {
            return None;
        }
        let mf = n;
        while n < end && lines[n].decorator && lines[n].indent == indent {
            n += 1;
        }
        let is_def = lines.get(n).is_some_and(|l| l.def && l.indent == indent);
        n += 1;
        while n < end && (lines[n].empty || lines[n].indent > indent) {
            n += 1;
        }
        out.push((mf, n.min(end), is_def));
    }
    Some(out)
}

/// After a word ending at `i`: whether it is called (`(` after blanks,
/// line continuations and comments) or renamed (`as`).
fn called_or_aliased(b: &[u8], mut i: usize) -> bool {
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' | b'\\' | b'\x0c' => i += 1,
            b'#' => i = memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n),
            b'(' => return true,
            b'a' => return b[i..].starts_with(b"as") && b.get(i + 2).is_none_or(|c| !is_ident(*c)),
            _ => return false,
        }
    }
    false
}

/// For a Python text that [`may_find`] keeps: the same text with every
/// top-level `def`/`class` (decorators included) that holds no candidate
/// region replaced by blanks (newlines kept, so every byte offset,
/// line and column of the rest is unchanged), with the byte ranges left
/// as they were (whole lines: what [`crate::parse_ranges`] parses), or
/// `None` where nothing can be left out. Only loop findings are local to one function (GS501 and
/// GS602 look across the file, so a file that may hold those is kept
/// whole); module-level statements (constants, imports, shapes) are always
/// kept, and a class is kept whole when any of its methods is a candidate
/// (its `__init__` gives the shapes of `self.W`).
pub fn python_candidates(text: &str) -> Option<Part> {
    let b = text.as_bytes();
    let PyScan::Regions(lines, starts) = python_scan(b) else {
        return None;
    };
    let mut blank: Vec<(usize, usize)> = Vec::new();
    let holds = |from: usize, to: usize| {
        let k = starts.partition_point(|&s| s < from);
        starts.get(k).is_some_and(|&s| s < to)
    };
    // [first, end) without its trailing blank/comment lines (they may be a
    // suppression), as bytes.
    let bytes_of = |first: usize, end: usize| {
        let mut last = end;
        while last > first + 1 && lines[last - 1].empty {
            last -= 1;
        }
        (lines[first].start, lines[last - 1].end)
    };
    for (first, end, is_def) in top_level_blocks(&lines) {
        if !is_def {
            continue;
        }
        if !holds(first, end) {
            blank.push(bytes_of(first, end));
            continue;
        }
        // A class with a candidate method: its other methods are left out
        // too, except those that may bind a `self.` attribute (the shapes
        // its methods share: `frontend/python.rs`, `share_self_attributes`).
        if let Some(members) = class_members(&lines, first, end) {
            for (mf, me, m_def) in members {
                let binds = lines[mf..me].iter().any(|l| l.self_assign);
                if m_def && !binds && !holds(mf, me) {
                    blank.push(bytes_of(mf, me));
                }
            }
        }
    }
    if blank.is_empty() {
        return None;
    }
    let mut out = b.to_vec();
    let mut kept = Vec::with_capacity(blank.len() + 1);
    let mut at = 0;
    for (s, e) in blank {
        if s > at {
            kept.push(at..s);
        }
        at = e;
        for c in &mut out[s..e] {
            if *c != b'\n' && *c != b'\r' {
                *c = b' ';
            }
        }
    }
    if at < b.len() {
        kept.push(at..b.len());
    }
    // Only whole lines of ASCII were replaced by ASCII.
    let text = String::from_utf8(out).ok()?;
    Some(Part { text, kept })
}

/// Whether an operand ends just before `i` (blanks skipped), making the
/// operator at `i` binary.
fn operand_before(b: &[u8], i: usize) -> bool {
    let mut j = i;
    while j > 0 && (b[j - 1] == b' ' || b[j - 1] == b'\t') {
        j -= 1;
    }
    j > 0 && (is_ident(b[j - 1]) || matches!(b[j - 1], b')' | b']' | b'}' | b'"' | b'\'' | b'.'))
}

/// Splits Python text into logical lines.
fn py_lines(b: &[u8]) -> Vec<PyLine> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let (line, next) = py_line(b, i);
        out.push(line);
        i = next;
    }
    out
}

/// The logical line starting at `i` and the offset after it.
fn py_line(b: &[u8], mut i: usize) -> (PyLine, usize) {
    let mut l = PyLine {
        start: i,
        ..PyLine::default()
    };
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b'\x0c') {
        l.indent = if b[i] == b'\t' {
            (l.indent / 8 + 1) * 8
        } else {
            l.indent + 1
        };
        i += 1;
    }
    let mut depth = 0usize;
    let mut first = true;
    let mut first_word: &[u8] = &[];
    let mut empty = true;
    let mut self_dot = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' if depth == 0 => {
                i += 1;
                break;
            }
            b'=' if depth == 0 => {
                // Not `==`, `!=`, `<=`, `>=`.
                let prev = if i > 0 { b[i - 1] } else { 0 };
                if b.get(i + 1) == Some(&b'=') {
                    i += 2;
                } else {
                    l.self_assign |= self_dot && !matches!(prev, b'!' | b'<' | b'>');
                    i += 1;
                }
            }
            b':' if depth == 0 => {
                l.self_assign |= self_dot && first_word == b"self";
                i += 1;
            }
            b'\\' if b.get(i + 1) == Some(&b'\r') => i += 3,
            b'\\' => i += 2,
            b'#' => {
                i = memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
            }
            b'"' | b'\'' => {
                empty = false;
                first = false;
                i = py_string_end(b, i, c);
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'*' => {
                // A binary `*` or `*=` (not `**`, `*args`, `**kwargs`).
                if b.get(i + 1) == Some(&b'*') {
                    i += 2;
                    continue;
                }
                l.star |= operand_before(b, i);
                i += 1;
            }
            b'/' => {
                l.slash = true;
                i += 1;
            }
            b'@' => {
                // Not a decorator.
                if first {
                    l.decorator = true;
                } else {
                    l.product = true;
                }
                i += 1;
            }
            c if is_ident(c) => {
                let s = i;
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                let w = &b[s..i];
                if first {
                    first_word = w;
                }
                self_dot |= w == b"self" && b.get(i) == Some(&b'.');
                match w {
                    b"for" | b"while" => l.loops += 1,
                    b"sum" => l.sum = true,
                    b"softmax" => l.softmax = true,
                    b"Softmax" => l.softmax_module = true,
                    b"exp" => l.exp_call |= called_or_aliased(b, i),
                    _ => {
                        if is_py_product_word(w) {
                            l.product = true;
                        }
                    }
                }
                if first_word == b"import" || first_word == b"from" {
                    l.imports_product |= l.product || l.sum;
                    l.imports_softmax |= matches!(w, b"softmax" | b"exp");
                }
            }
            _ => i += 1,
        }
        if !c.is_ascii_whitespace() && c != b'#' {
            empty = false;
            first = false;
        }
    }
    l.empty = empty;
    l.def = matches!(first_word, b"def" | b"async" | b"class");
    l.class = first_word == b"class";
    l.end = i.min(b.len());
    let end = l.end;
    (l, end)
}

/// The offset after the string opened by `q` at `i` (triple quotes, and
/// escapes, followed; an unterminated single-quoted one ends at its line).
fn py_string_end(b: &[u8], i: usize, q: u8) -> usize {
    let triple = b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q);
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == q => {
                if !triple {
                    return j + 1;
                }
                if b.get(j + 1) == Some(&q) && b.get(j + 2) == Some(&q) {
                    return j + 3;
                }
                j += 1;
            }
            b'\n' if !triple => return j,
            _ => j += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoIncludes;

    fn c(text: &str) -> bool {
        may_find(Lang::C, "a.c", text, &NoIncludes, &BuildContext::default())
    }
    fn py(text: &str) -> bool {
        may_find(
            Lang::Python,
            "a.py",
            text,
            &NoIncludes,
            &BuildContext::default(),
        )
    }

    #[test]
    fn c_nests_with_a_product_pass() {
        assert!(c(
            "void f(){for(int i=0;i<n;i++) for(int k=0;k<n;k++) y[i]+=A[i][k]*x[k];}"
        ));
        assert!(c("void f(){for(i=0;i<n;i++){ if (a) { s = 0; } while (k<n) { s += fmaf(a[k], b[k], s); k++; } }}"));
        assert!(c("void f(){ for (i) if (c) g(); else for (k) y += a*b; }"));
        assert!(c(
            "void f(){ for (i;;) do { for (k;;) y += a*b; } while (x); }"
        ));
        assert!(c("__global__ void k(float *a) {}"));
        assert!(c("void f(){ cublasSgemm(h); }"));
    }

    #[test]
    fn c_without_a_nest_or_product_is_skipped() {
        assert!(!c("int f(int *a); struct s { int x[4]; };"));
        assert!(!c(
            "void f(){ for(i=0;i<n;i++) a[i] = b[i]*2; for (k=0;k<n;k++) c[k]=0; }"
        ));
        assert!(!c(
            "void f(){ for(i=0;i<n;i++) { g(\"}\"); for (k=0;k<n;k++) c[k]=0; } }"
        ));
        // A comment or a string cannot close the outer body early.
        assert!(c("void f(){ for(i=0;i<n;i++) { /* } */ g('}'); for (k=0;k<n;k++) c[i]+=a[k]*b[i][k]; } }"));
    }

    #[test]
    fn c_hidden_products_and_unbalanced_branches_are_kept() {
        assert!(c("#define MUL(a, b) ((a) + (b))\nvoid f(){ for(i;;) for(k;;) y[i] += MUL(A[i][k], x[k]); }"));
        assert!(c(
            "void f(){ for(i;;) {\n#if X\n}\n#else\n for(k;;) y[i] += A[i][k] * x[k];\n#endif\n }}"
        ));
        assert!(!c(
            "#define N 4\nvoid f(){ for(i;;) for(k;;) y[i] += g(A[i][k], x[k]); }"
        ));
    }

    #[test]
    fn python_candidates_blank_only_functions_without_a_region() {
        let text = "import numpy as np\nN = 4\n\n@dec\ndef f(x):\n    return x * 2  # é\n\ndef g(A, B, C):\n    for i in range(N):\n        for k in range(N):\n            C[i] += A[i][k] * B[k]\n\nclass K:\n    def h(self):\n        pass\n";
        let part = python_candidates(text).unwrap();
        let kept = part.kept.clone();
        let part = part.text;
        assert_eq!(part.len(), text.len());
        assert_eq!(part.lines().count(), text.lines().count());
        assert!(part.starts_with("import numpy as np\nN = 4\n\n    \n"));
        assert!(!part.contains("def f") && !part.contains("class K"));
        let g = text.find("def g").unwrap();
        let k = text.find("class K").unwrap();
        assert_eq!(&part[g..k], &text[g..k]);
        // The kept ranges are the lines not blanked.
        assert_eq!(kept.first().map(|r| r.start), Some(0));
        assert!(kept.iter().any(|r| r.start <= g && k <= r.end));
        assert!(kept.iter().all(|r| part[r.clone()] == text[r.clone()]));
        // Parsed alone, they give the blanked text's tree.
        let whole = crate::parse(Lang::Python, &part, None);
        let ranges = crate::parse_ranges(Lang::Python, &part, &kept);
        assert_eq!(whole.sexp(), ranges.sexp());
        // A whole-file idiom keeps everything.
        assert!(
            python_candidates("import torch\nx = torch.randn(4, device='cuda')\ny = x @ x\n")
                .is_none()
        );
    }

    #[test]
    fn gs501_candidates_are_the_functions_with_a_product_and_a_softmax() {
        let text = "import numpy as np\n\ndef attn(q, k, v):\n    return softmax(q @ k.T) @ v\n\ndef other(x):\n    return np.exp(x) + 1\n\ndef prod(a, b):\n    return a @ b\n";
        let part = python_candidates(text).unwrap();
        let part = part.text;
        assert!(part.contains("def attn"));
        assert!(!part.contains("def other") && !part.contains("def prod"));
        // The product and the softmax in different functions: no GS501.
        assert!(!py(
            "def f(x):\n    return softmax(x)\n\ndef g(a, b):\n    return a @ b\n"
        ));
        // In a class with a candidate method, methods that bind no `self.`
        // attribute are left out; those that may are kept.
        let cls = "class M:\n    n = 4\n    def build(self, n):\n        self.W = np.zeros((n, n))\n    def check(self):\n        assert self.W.shape == (4, 4)\n    def mul(self, x, y):\n        for i in range(self.n):\n            for k in range(self.n):\n                y[i] += self.W[i][k] * x[k]\n";
        let part = python_candidates(cls).unwrap().text;
        assert!(
            part.contains("    n = 4\n") && part.contains("def build") && part.contains("def mul")
        );
        assert!(!part.contains("def check"));
        // A method: its class is kept.
        let cls = "class A:\n    def __init__(self):\n        self.n = 4\n    def forward(self, q, k):\n        return (q @ k.T).softmax(-1)\n";
        assert!(py(cls));
        assert!(python_candidates(cls).is_none());
        // An `nn.Softmax` module bound in `__init__` and called in another
        // method: that method is a candidate; outside the class it is not.
        let cls = "class A(nn.Module):\n    def __init__(self):\n        self.attend = nn.Softmax(dim=-1)\n    def forward(self, q, k, v):\n        return self.attend(q @ k.T) @ v\n\ndef g(a, b):\n    return a @ b\n";
        assert!(py(cls));
        let part = python_candidates(cls).unwrap().text;
        assert!(part.contains("def forward") && !part.contains("def g"));
    }

    #[test]
    fn python_regions() {
        assert!(py(
            "for i in range(n):\n    for k in range(n):\n        y[i] += A[i][k] * x[k]\n"
        ));
        assert!(py("for r in range(n):\n    out[r] = np.dot(X[r], W)\n"));
        assert!(py("for r in range(n):\n    out[r] = X[r] @ W\n"));
        assert!(py("y = [sum(a * b for a, b in zip(r, x)) for r in A]\n"));
        assert!(py("for i in range(n):\n    y[i] = np.sum(A[i] * x)\n"));
        assert!(py(
            "from numpy import dot as d\nfor r in R:\n    o[r] = d(X[r], W)\n"
        ));
        assert!(!py(
            "@decorator\ndef f(x):\n    for i in x:\n        print(i * 2)\n"
        ));
        assert!(!py(
            "for i in x:\n    print(i * 2)\nfor j in y:\n    print(j)\n"
        ));
        // A string cannot end the block early.
        assert!(py("for i in range(n):\n    s = f(\")\",\n  1)\n    for k in range(n):\n        y[i] += a[i][k] * x[k]\n"));
        assert!(py(
            "import torch\nx = torch.randn(4, device='cuda')\ny = x @ x\n"
        ));
        assert!(py("s = q @ k.T\np = softmax(s)\n"));
        // GS501's manual softmax: `exp` called, with a sum and a division.
        let manual = "def attn(q, k, v):\n    s = q @ k.T\n    e = np.exp(s)\n    return (e / e.sum(-1)) @ v\n";
        assert!(py(manual));
        assert!(py(&manual.replace("np.exp(s)", "np.exp \\\n (s)")));
        // `exp` as a name, or not called, cannot make a softmax.
        assert!(!py(&manual.replace("np.exp(s)", "exp")));
        assert!(!py(&manual.replace("np.exp(s)", "s.exp")));
        assert!(!py(&manual.replace("e / e.sum(-1)", "e * e.sum(-1)")));
        // ... unless it is imported under another name.
        assert!(py(&format!(
            "from numpy import exp as ex\n{}",
            manual.replace("np.exp(s)", "ex(s)")
        )));
        assert!(py(
            "from scipy.special import softmax as sm\ndef f(q, k):\n    return sm(q @ k.T)\n"
        ));
        assert!(!py("try:\n    import x\nexcept ImportError:\n    pass\n"));
    }
}
