//! Statement macros: macros whose body is one or more statements.
//!
//! Hand-tuned kernels put the body of a k loop in a macro
//! (`#define KERNEL_K1_4x4 a = _mm256_loadu_pd(&A(i,k)); ...; k++;`) and
//! call it as a statement, often with no `;` after it (the body ends in
//! one). tree-sitter then sees `KERNEL KERNEL }` and recovers with syntax
//! errors that lose the loop. Two pieces make such code read as written:
//!
//! - [`terminate`] runs before parsing: after each call of a statement
//!   macro defined in the same text that stands where a statement starts
//!   and is not followed by `;`, one blank of the whitespace after it
//!   becomes `;`. Byte offsets, lines and columns stay those of the user's
//!   text (as [`super::attributes`] keeps them).
//! - The lowerer expands each call of a statement macro in place
//!   ([`expand`] substitutes the arguments' text for the parameters, as the
//!   preprocessor does), lowers the statements of the expansion and gives
//!   them the span of the call.

use std::borrow::Cow;
use std::collections::HashMap;

/// Whether a macro body (comments removed, continuations joined) is made
/// of statements: it holds a `;` outside parentheses (a `for` header's
/// `;`s are inside them) or is a braced block.
pub(crate) fn is_statement_body(body: &str) -> bool {
    let b = body.trim();
    // A type (`struct { size_t n, m; T *a; }`), whose `;`s are members'.
    let first = b
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or("");
    if matches!(first, "struct" | "union" | "enum" | "typedef" | "class") {
        return false;
    }
    if b.starts_with('{') && b.ends_with('}') {
        return true;
    }
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let bytes = b.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'(' => depth += 1,
                b')' => depth -= 1,
                b';' if depth == 0 => return true,
                _ => {}
            },
        }
        i += 1;
    }
    false
}

/// The text with comments, string and character literals replaced by
/// spaces (newlines kept), and the lines of preprocessor directives (with
/// their continuations) marked: what the scan below looks at.
fn code_mask(text: &str) -> (Vec<u8>, Vec<bool>) {
    let s = text.as_bytes();
    let mut out = s.to_vec();
    let mut directive = vec![false; s.len()];
    let mut i = 0;
    let mut line_start = true;
    let mut in_directive = false;
    while i < s.len() {
        let c = s[i];
        if c == b'\n' {
            // A directive goes on past a newline escaped by `\`.
            let continued =
                i > 0 && s[i - 1] == b'\\' || i > 1 && s[i - 1] == b'\r' && s[i - 2] == b'\\';
            if continued {
                directive[i] = in_directive;
            } else {
                in_directive = false;
            }
            line_start = true;
            i += 1;
            continue;
        }
        if line_start && c == b'#' {
            in_directive = true;
        }
        if !c.is_ascii_whitespace() {
            line_start = false;
        }
        directive[i] = in_directive;
        if c == b'/' && s.get(i + 1) == Some(&b'/') {
            while i < s.len() && s[i] != b'\n' {
                directive[i] = in_directive;
                out[i] = b' ';
                i += 1;
            }
            continue;
        }
        // A block comment or a literal: blanks (newlines kept), still part
        // of the directive it lies in.
        let end = if c == b'/' && s.get(i + 1) == Some(&b'*') {
            memchr::memmem::find(&s[i + 2..], b"*/").map_or(s.len(), |e| i + 2 + e + 2)
        } else if c == b'"' || c == b'\'' {
            let mut j = i + 1;
            while j < s.len() && s[j] != c && s[j] != b'\n' {
                if s[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            (j + 1).min(s.len())
        } else {
            i += 1;
            continue;
        };
        for k in i..end {
            directive[k] = in_directive;
            if s[k] != b'\n' {
                out[k] = b' ';
            }
        }
        i = end;
    }
    (out, directive)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A name in capitals, of two characters or more (`PRAGMA_SIMD`).
fn is_capitals(w: &[u8]) -> bool {
    w.len() >= 2
        && w[0].is_ascii_uppercase()
        && w.iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
}

/// The last code byte before `at` that is not a blank or in a directive
/// (`None` at the start of the text).
fn code_before(mask: &[u8], directive: &[bool], at: usize) -> Option<u8> {
    mask[..at]
        .iter()
        .enumerate()
        .rev()
        .find(|(j, b)| !b.is_ascii_whitespace() && !directive[*j])
        .map(|(_, b)| *b)
}

/// The first position from `from` that is not a blank outside a directive.
fn skip_blanks(mask: &[u8], directive: &[bool], from: usize) -> usize {
    let mut j = from;
    while j < mask.len() && mask[j].is_ascii_whitespace() && !directive[j] {
        j += 1;
    }
    j
}

/// How a statement macro is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Function-like (`STEP(a, b)`), not object-like (`STEP`).
    pub(crate) takes_args: bool,
    /// The body ends a statement (`...; k++;` or `{ ... }`), so whatever
    /// follows a call starts the next one, even `(` or `*`.
    pub(crate) complete: bool,
}

/// Whether a statement body ends a statement of its own.
pub(crate) fn is_complete(body: &str) -> bool {
    let b = body.trim_end();
    b.ends_with(';') || b.ends_with('}')
}

/// The statement macros `#define`d in `text`, by name.
fn defined(mask: &[u8], directive: &[bool]) -> HashMap<String, Shape> {
    let mut out = HashMap::new();
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&mask[from..], b"define") {
        let start = from + at;
        from = start + 6;
        if !directive[start] {
            continue;
        }
        // `#` then blanks then `define` then a blank.
        let before = mask[..start]
            .iter()
            .rposition(|b| *b != b' ' && *b != b'\t');
        if before.map(|p| mask[p]) != Some(b'#')
            || !mask.get(from).is_some_and(|b| *b == b' ' || *b == b'\t')
        {
            continue;
        }
        let mut i = from;
        while i < mask.len() && (mask[i] == b' ' || mask[i] == b'\t') {
            i += 1;
        }
        let name_start = i;
        while i < mask.len() && is_ident(mask[i]) {
            i += 1;
        }
        if i == name_start {
            continue;
        }
        let name = String::from_utf8_lossy(&mask[name_start..i]).into_owned();
        let function_like = mask.get(i) == Some(&b'(');
        if function_like {
            match mask[i..].iter().position(|b| *b == b')') {
                Some(p) => i += p + 1,
                None => continue,
            }
        }
        let mut end = i;
        while end < mask.len() && directive[end] {
            end += 1;
        }
        let body = String::from_utf8_lossy(&mask[i..end])
            .replace("\\\r\n", " ")
            .replace("\\\n", " ");
        if is_statement_body(&body) {
            out.insert(
                name,
                Shape {
                    takes_args: function_like,
                    complete: is_complete(&body),
                },
            );
        }
        from = end.max(from);
    }
    out
}

/// `text` with a `;` put after each call of a statement macro defined in it
/// that stands where a statement starts and is followed by the next
/// statement or a `}` instead of `;` (see the module comment), or `text`
/// itself where there is none.
pub(crate) fn terminate(text: &str) -> Cow<'_, str> {
    let (mut mask, directive) = code_mask(text);
    let names = if memchr::memmem::find(text.as_bytes(), b"define").is_some() {
        defined(&mask, &directive)
    } else {
        HashMap::new()
    };
    let annotated = blank_annotations(text, &mut mask, &directive, &names);
    if names.is_empty() {
        return annotated;
    }
    let text_now: &str = &annotated;
    match terminate_calls(text_now, &mut mask, &directive, &|n| names.get(n).copied()) {
        Cow::Owned(t) => Cow::Owned(t),
        Cow::Borrowed(_) => annotated,
    }
}

/// Blanks the annotation macros of another header that stand on their own
/// line before a loop (`PRAGMA_SIMD` for `_Pragma("omp simd")`, an
/// `UNROLL(4)`): a name in capitals, with or without a parenthesised
/// argument list, alone on its line, where a statement starts, and
/// followed by `for`, `while`, `do`, `if`, `{`, a directive or another
/// such line. Such a line is no C that parses; the loop under it is what
/// the code computes. Statement macros defined in the text are left to
/// [`terminate_calls`].
fn blank_annotations<'t>(
    text: &'t str,
    mask: &mut [u8],
    directive: &[bool],
    names: &HashMap<String, Shape>,
) -> Cow<'t, str> {
    let mut out: Option<Vec<u8>> = None;
    let mut line_start = 0;
    while line_start < mask.len() {
        let line_end = mask[line_start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(mask.len(), |p| line_start + p);
        let range = line_start..line_end;
        line_start = line_end + 1;
        if directive[range.start..range.end].iter().any(|d| *d) {
            continue;
        }
        let line = &mask[range.clone()];
        let Some(first) = line.iter().position(|b| !b.is_ascii_whitespace()) else {
            continue;
        };
        let last = line
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .unwrap_or(first);
        let word_end = line[first..]
            .iter()
            .position(|b| !is_ident(*b))
            .map_or(line.len(), |p| first + p);
        let word = &line[first..word_end];
        if !is_capitals(word) {
            continue;
        }
        // The rest of the line: nothing, or one balanced `(...)`.
        let rest = &line[word_end..=last];
        let whole = rest.is_empty()
            || rest[0] == b'('
                && rest[rest.len() - 1] == b')'
                && rest.iter().filter(|b| **b == b'(').count()
                    == rest.iter().filter(|b| **b == b')').count()
                && !rest.contains(&b';');
        if !whole || std::str::from_utf8(word).is_ok_and(|w| names.contains_key(w)) {
            continue;
        }
        let start = range.start + first;
        let prev = code_before(mask, directive, start);
        if !matches!(prev, None | Some(b';' | b'{' | b'}' | b')')) {
            continue;
        }
        let after = range.start + last + 1;
        let Some(j) = (after..mask.len()).find(|&j| !mask[j].is_ascii_whitespace()) else {
            continue;
        };
        let next_word: Vec<u8> = mask[j..]
            .iter()
            .take_while(|b| is_ident(**b))
            .copied()
            .collect();
        let loop_next = directive[j]
            || mask[j] == b'{'
            || matches!(next_word.as_slice(), b"for" | b"while" | b"do" | b"if")
            || is_capitals(&next_word);
        if !loop_next {
            continue;
        }
        let buf = out.get_or_insert_with(|| text.as_bytes().to_vec());
        for k in start..after {
            buf[k] = b' ';
            mask[k] = b' ';
        }
    }
    match out {
        // Only ASCII bytes of a name and its parentheses became spaces.
        Some(bytes) => String::from_utf8(bytes).map_or(Cow::Borrowed(text), Cow::Owned),
        None => Cow::Borrowed(text),
    }
}

/// [`terminate`] for macros known by name (`shape(name)` is `Some` for a
/// statement macro): the lowerer's expansions, whose macros may come from
/// elsewhere.
pub(crate) fn terminate_with<'t>(
    text: &'t str,
    shape: &dyn Fn(&str) -> Option<Shape>,
) -> Cow<'t, str> {
    let (mut mask, directive) = code_mask(text);
    terminate_calls(text, &mut mask, &directive, shape)
}

fn terminate_calls<'t>(
    text: &'t str,
    mask: &mut [u8],
    directive: &[bool],
    shape: &dyn Fn(&str) -> Option<Shape>,
) -> Cow<'t, str> {
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < mask.len() {
        if !is_ident(mask[i]) || i > 0 && is_ident(mask[i - 1]) || directive[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < mask.len() && is_ident(mask[i]) {
            i += 1;
        }
        let Ok(name) = std::str::from_utf8(&mask[start..i]) else {
            continue;
        };
        let Some(Shape {
            takes_args,
            complete,
        }) = shape(name)
        else {
            continue;
        };
        // Where a statement starts: after `;`, `{`, `}`, `)` or `:`, or at
        // the start of the text.
        let prev = code_before(mask, directive, start);
        if !matches!(prev, None | Some(b';' | b'{' | b'}' | b')' | b':')) {
            continue;
        }
        let mut end = i;
        if takes_args {
            let j = skip_blanks(mask, directive, end);
            if mask.get(j) != Some(&b'(') {
                continue;
            }
            let mut depth = 0usize;
            let mut close = None;
            for (k, b) in mask.iter().enumerate().skip(j) {
                match b {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(k + 1);
                            break;
                        }
                    }
                    b';' | b'{' | b'}' => break,
                    _ => {}
                }
            }
            let Some(c) = close else {
                continue;
            };
            end = c;
        }
        i = end;
        // What follows: `;` (nothing to do), the next statement or `}`.
        let j = skip_blanks(mask, directive, end);
        let next = mask.get(j).copied();
        let starts_next = match next {
            None => true,
            Some(b) => {
                is_ident(b)
                    || b == b'}'
                    || b == b'{'
                    || directive[j]
                    || complete && b"(*&+-!~[".contains(&b)
            }
        };
        if next == Some(b';') || !starts_next {
            continue;
        }
        // The blank that becomes `;`: one right after the call, or the
        // first of the next line's indentation.
        let gap = end..j;
        let slot = gap
            .clone()
            .find(|&k| mask[k] == b' ' || mask[k] == b'\t')
            .filter(|&k| k == end || mask[end..k].contains(&b'\n'));
        let Some(k) = slot else {
            continue;
        };
        out.get_or_insert_with(|| text.as_bytes().to_vec())[k] = b';';
        // The next call sees this one ended.
        mask[k] = b';';
    }
    match out {
        // Only an ASCII blank was replaced by an ASCII `;`.
        Some(bytes) => String::from_utf8(bytes).map_or(Cow::Borrowed(text), Cow::Owned),
        None => Cow::Borrowed(text),
    }
}

/// The text a call of a macro stands for: `body` with each parameter
/// replaced by its argument's text, or `None` where the body pastes or
/// quotes tokens (`##`, `#x`), which is not followed here.
pub(crate) fn expand(body: &str, params: &[String], args: &[String]) -> Option<String> {
    if params.len() != args.len() {
        return None;
    }
    let (mask, _) = code_mask(body);
    if mask.contains(&b'#') {
        return None;
    }
    let b = body.as_bytes();
    let mut out = String::with_capacity(body.len() + 16);
    let mut i = 0;
    while i < b.len() {
        if is_ident(b[i]) && mask[i] != b' ' && (i == 0 || !is_ident(b[i - 1])) {
            let start = i;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            let word = &body[start..i];
            // A member name after `.` or `->` is not a parameter.
            let member =
                body[..start].trim_end().ends_with('.') || body[..start].trim_end().ends_with("->");
            match params.iter().position(|p| p == word).filter(|_| !member) {
                Some(p) => {
                    let a = args[p].trim();
                    if a.bytes().all(is_ident) || a.parse::<f64>().is_ok() {
                        out.push_str(a);
                    } else {
                        out.push('(');
                        out.push_str(a);
                        out.push(')');
                    }
                }
                None => out.push_str(word),
            }
            continue;
        }
        let ch = body[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{expand, is_statement_body, terminate};

    #[test]
    fn bodies_of_statements_and_of_expressions() {
        assert!(is_statement_body("a = b; k++;"));
        assert!(is_statement_body("{ x += y }"));
        assert!(is_statement_body("do { f(x); } while (0)"));
        assert!(!is_statement_body("((a) > (b) ? (a) : (b))"));
        assert!(!is_statement_body("A[(i) + (j) * lda]"));
        assert!(!is_statement_body("for (i = 0; i < n; i++)"));
        assert!(!is_statement_body("\";\""));
        assert!(!is_statement_body("struct { size_t n, m; type *a; }"));
    }

    #[test]
    fn a_call_with_no_semicolon_gets_one_in_a_blank() {
        let t = "#define STEP \\\n  c += a[k] * b[k];\\\n  k++;\nvoid f() {\n  for (k = 0; k < n;) {\n    STEP\n    STEP\n  }\n}\n";
        let out = terminate(t);
        assert_eq!(out.len(), t.len());
        assert_eq!(out.lines().count(), t.lines().count());
        assert!(out.contains("    STEP\n;   STEP\n;"), "{out}");
        // The definition itself is left alone.
        assert!(out.starts_with("#define STEP \\\n  c += a[k] * b[k];\\\n  k++;\n"));
    }

    #[test]
    fn calls_already_terminated_or_inside_expressions_are_left_alone() {
        for t in [
            "#define S(x) x++;\nvoid f() { S(i); S(j); }\n",
            "#define S(x) x++;\nvoid f() { g(S(i)); }\n",
            "#define S x++;\n// S\nvoid f() { char *s = \"S\"; }\n",
            "#define E(x) ((x) + 1)\nvoid f() { y = E(x)\n  z = 1; }\n",
            "#define S x++;\nvoid f() {\nS\n}\n",
        ] {
            assert_eq!(terminate(t), t, "{t}");
        }
        let t = "#define S(a, b) a += (b);\nvoid f() {\n  S(x, g(1, 2))\n  S(y, 3)\n}\n";
        let out = terminate(t);
        assert!(out.contains("S(x, g(1, 2))\n; S(y, 3)\n}"), "{out}");
    }

    #[test]
    fn after_a_complete_body_a_parenthesis_starts_the_next_statement() {
        let t = "#define LD(v, p) v = *(p);\nvoid f() {\n  LD(a, q)\n  ((float4 *)s)[t] = a;\n}\n";
        assert!(
            terminate(t).contains("LD(a, q)\n; ((float4"),
            "{}",
            terminate(t)
        );
        // A body that does not end its statement leaves `(` alone.
        let t = "#define LD(v, p) v = *(p); w = 1\nvoid f() {\n  LD(a, q)\n  (g)(x);\n}\n";
        assert_eq!(terminate(t), t);
    }

    #[test]
    fn annotation_macros_before_a_loop_become_blanks() {
        let t = "void f() {\n    PRAGMA_SIMD\n    for (i = 0; i < n; i++) {\n      UNROLL(4)\n      OMP_SIMD\n      for (j = 0; j < n; j++) c[j] += 1;\n    }\n}\n";
        let out = terminate(t);
        assert_eq!(out.len(), t.len());
        assert!(
            !out.contains("PRAGMA_SIMD") && !out.contains("UNROLL") && !out.contains("OMP_SIMD"),
            "{out}"
        );
        for t in [
            // Not before a loop, not alone, not capitals, or in an expression.
            "void f() {\n  DEBUG_LOG\n  x = 1;\n}\n",
            "void f() {\n  TIMER start;\n  for (;;) {}\n}\n",
            "void f() {\n  pragma_simd\n  for (;;) {}\n}\n",
            "void f() {\n  x = y +\n  MAXV\n  ;\n}\n",
            "#define PRAGMA_SIMD\nint x;\n",
        ] {
            assert_eq!(terminate(t), t, "{t}");
        }
    }

    #[test]
    fn arguments_replace_parameters_as_the_preprocessor_does() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            expand(
                "v.x += s * w.x; v.y += s;",
                &p(&["v", "w", "s"]),
                &p(&["acc", "b[k]", "a"])
            )
            .as_deref(),
            Some("acc.x += a * (b[k]).x; acc.y += a;")
        );
        assert_eq!(expand("a##b;", &p(&["a", "b"]), &p(&["x", "y"])), None);
        assert_eq!(expand("f(x);", &p(&["x"]), &p(&[])), None);
        assert_eq!(
            expand("p->x = 1;", &p(&["x"]), &p(&["2"])).as_deref(),
            Some("p->x = 1;")
        );
    }
}
