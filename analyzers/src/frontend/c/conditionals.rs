//! Preprocessor conditionals whose arms leave braces open.
//!
//! `#if !MKL / if (argc != 4) { ... / #else / if (argc != 3) { ... /
//! #endif / ... }` is C only after preprocessing: each arm opens a block
//! that a line after `#endif` closes. tree-sitter parses a conditional's
//! arms as separate statement lists, so such a group breaks the parse of
//! the whole function (and the loop nests in it). Before parsing, a group
//! with an arm whose braces do not balance is read as the one arm a plain
//! build compiles: the directive lines and the other arms become blanks
//! (newlines kept, so offsets, lines and columns are the user's). The arm
//! is chosen by the condition where it can be decided here — a name not
//! `#define`d in the text is 0 (as the preprocessor reads it), one defined
//! to a number is that number, `defined(X)`, `!`, `#ifdef` and `#ifndef` —
//! and is the first arm otherwise. Groups whose arms balance are left to
//! the lowerer, which reads both arms.

use std::borrow::Cow;
use std::collections::HashMap;

/// One directive line of a conditional group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    If,
    Elif,
    Else,
    Endif,
}

struct Line {
    kind: Kind,
    /// Byte range of the directive line (with its continuations).
    start: usize,
    end: usize,
    /// The condition's text (`If`/`Elif`), with `ifdef`/`ifndef` spelt as
    /// `defined(X)` / `!defined(X)`.
    cond: String,
}

/// `text` with each unbalanced conditional group reduced to one arm (see
/// the module comment), or `text` itself where there is none.
pub(crate) fn resolve(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if memchr::memmem::find(bytes, b"#").is_none() {
        return Cow::Borrowed(text);
    }
    let (lines, defines) = directives(text);
    if lines.is_empty() {
        return Cow::Borrowed(text);
    }
    // Groups: indices of their directive lines, innermost first.
    let mut stack: Vec<Vec<usize>> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        match l.kind {
            Kind::If => stack.push(vec![i]),
            Kind::Elif | Kind::Else => {
                if let Some(g) = stack.last_mut() {
                    g.push(i);
                }
            }
            Kind::Endif => {
                if let Some(mut g) = stack.pop() {
                    g.push(i);
                    groups.push(g);
                }
            }
        }
    }
    let mut out: Option<Vec<u8>> = None;
    for g in &groups {
        // The arms: between consecutive directive lines of the group.
        let arms: Vec<(usize, usize)> = g
            .windows(2)
            .map(|w| (lines[w[0]].end, lines[w[1]].start))
            .collect();
        let balanced = arms.iter().all(|&(a, b)| brace_delta(&bytes[a..b]) == 0);
        if balanced {
            continue;
        }
        // The first arm not known to be skipped (`#else` is taken); none
        // where every condition is decided false.
        let keep = g[..g.len() - 1].iter().position(|&li| {
            let l = &lines[li];
            l.kind == Kind::Else || eval(&l.cond, &defines) != Some(0)
        });
        let buf = out.get_or_insert_with(|| bytes.to_vec());
        for &li in g {
            blank(buf, lines[li].start, lines[li].end);
        }
        for (n, &(a, b)) in arms.iter().enumerate() {
            if Some(n) != keep {
                blank(buf, a, b);
            }
        }
    }
    match out {
        Some(b) => String::from_utf8(b).map_or(Cow::Borrowed(text), Cow::Owned),
        None => Cow::Borrowed(text),
    }
}

fn blank(buf: &mut [u8], a: usize, b: usize) {
    for x in &mut buf[a..b] {
        if *x != b'\n' && *x != b'\r' {
            *x = b' ';
        }
    }
}

/// `{` minus `}` outside comments, strings and character literals.
fn brace_delta(s: &[u8]) -> i64 {
    let mut d = 0;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'/' if s.get(i + 1) == Some(&b'/') => {
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&s[i + 2..], b"*/").map_or(s.len(), |e| i + 2 + e + 1);
            }
            q @ (b'"' | b'\'') => {
                i += 1;
                while i < s.len() && s[i] != q && s[i] != b'\n' {
                    if s[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'{' => d += 1,
            b'}' => d -= 1,
            _ => {}
        }
        i += 1;
    }
    d
}

/// The conditional directive lines of `text` and its unconditional
/// `#define NAME <integer>` / `#define NAME` definitions (an empty one is
/// 1 here; only definedness matters for it).
fn directives(text: &str) -> (Vec<Line>, HashMap<String, Option<i64>>) {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut defines = HashMap::new();
    let mut depth = 0usize;
    let mut pos = 0;
    while pos < bytes.len() {
        let mut end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |p| pos + p);
        // Continuations.
        while end < bytes.len() && end > pos && bytes[end - 1] == b'\\' {
            end = memchr::memchr(b'\n', &bytes[end + 1..]).map_or(bytes.len(), |p| end + 1 + p);
        }
        let line = &text[pos..end];
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix('#') {
            let rest = rest.trim_start();
            let word_end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            let (word, arg) = rest.split_at(word_end);
            let arg = strip_comment(arg).trim().to_string();
            let kind = match word {
                "if" => Some((Kind::If, arg.clone())),
                "ifdef" => Some((Kind::If, format!("defined({arg})"))),
                "ifndef" => Some((Kind::If, format!("!defined({arg})"))),
                "elif" => Some((Kind::Elif, arg.clone())),
                "else" => Some((Kind::Else, String::new())),
                "endif" => Some((Kind::Endif, String::new())),
                _ => None,
            };
            if let Some((kind, cond)) = kind {
                match kind {
                    Kind::If => depth += 1,
                    Kind::Endif => depth = depth.saturating_sub(1),
                    _ => {}
                }
                lines.push(Line {
                    kind,
                    start: pos,
                    end,
                    cond,
                });
            } else if word == "define" && depth == 0 {
                let mut it = arg.splitn(2, |c: char| c.is_whitespace());
                if let Some(name) = it
                    .next()
                    .filter(|n| n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                {
                    let value = it.next().map(str::trim).unwrap_or("");
                    let v = if value.is_empty() {
                        Some(1)
                    } else {
                        value
                            .trim_matches(|c| c == '(' || c == ')')
                            .parse::<i64>()
                            .ok()
                    };
                    defines.insert(name.to_string(), v);
                }
            }
        }
        pos = end + 1;
    }
    (lines, defines)
}

fn strip_comment(s: &str) -> &str {
    let a = s.find("//").unwrap_or(s.len());
    let b = s.find("/*").unwrap_or(s.len());
    &s[..a.min(b)]
}

/// The value of a simple condition: a number, a name (0 where it is not
/// defined here; unknown where it is defined to something else),
/// `defined(X)` / `defined X`, and `!` of those. `None`: not decided here.
fn eval(cond: &str, defines: &HashMap<String, Option<i64>>) -> Option<i64> {
    let c = cond.trim();
    if let Some(rest) = c.strip_prefix('!') {
        return eval(rest, defines).map(|v| i64::from(v == 0));
    }
    if let Some(inner) = c.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        return eval(inner, defines);
    }
    if let Some(rest) = c.strip_prefix("defined") {
        let name = rest
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        if !is_name(name) {
            return None;
        }
        return Some(i64::from(defines.contains_key(name)));
    }
    if let Ok(v) = c.parse::<i64>() {
        return Some(v);
    }
    if is_name(c) {
        return match defines.get(c) {
            None => Some(0),
            Some(v) => *v,
        };
    }
    None
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn an_unbalanced_group_becomes_the_arm_a_plain_build_compiles() {
        let t = "int main(int argc) {\n#if !MKL\n  if (argc != 4) {\n    puts(\"a\");\n#else\n  if (argc != 3) {\n    puts(\"b\");\n#endif\n    return 1;\n  }\n  return 0;\n}\n";
        let out = resolve(t);
        assert_eq!(out.len(), t.len());
        assert_eq!(out.lines().count(), t.lines().count());
        assert!(
            out.contains("argc != 4") && !out.contains("argc != 3"),
            "{out}"
        );
        assert!(!out.contains("#if") && !out.contains("#else") && !out.contains("#endif"));
        // With MKL defined to 1 in the text, the other arm.
        let t2 = format!("#define MKL 1\n{t}");
        let out = resolve(&t2);
        assert!(
            out.contains("argc != 3") && !out.contains("argc != 4"),
            "{out}"
        );
    }

    #[test]
    fn balanced_groups_and_undecided_conditions() {
        let t = "void f() {\n#ifdef FAST\n  g();\n#else\n  h();\n#endif\n}\n";
        assert_eq!(resolve(t), t);
        // Undecided (`X > 2`): the first arm.
        let t = "void f(int a) {\n#if X > 2\n  if (a) {\n#else\n  while (a) {\n#endif\n    a--;\n  }\n}\n";
        let out = resolve(t);
        assert!(out.contains("if (a) {") && !out.contains("while"), "{out}");
        // A nested balanced group inside the kept arm stays.
        let t = "void f(int a) {\n#ifndef NOCHECK\n  if (a) {\n#if DEBUG\n    log();\n#endif\n#else\n  {\n#endif\n    a--;\n  }\n}\n";
        let out = resolve(t);
        assert!(
            out.contains("#if DEBUG") && out.contains("if (a) {") && !out.contains("#ifndef"),
            "{out}"
        );
    }
}
