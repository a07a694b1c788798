//! GNU attributes (`__attribute__((aligned(64)))`) read as blanks.
//!
//! tree-sitter-c accepts an attribute only in some places: after an array
//! declarator (`static float buf[N] __attribute__((aligned(64)));`) it
//! recovers with syntax errors, and the declarations around it are lost.
//! An attribute never changes what a loop computes, so the C front end
//! parses the text with every `__attribute__((...))` replaced by as many
//! spaces (newlines kept): byte offsets, lines and columns stay those of
//! the user's text, and the tree is that of the same code without them.

use std::borrow::Cow;

const KEYWORD: &[u8] = b"__attribute__";

/// `text` with each GNU attribute specifier blanked, or `text` itself
/// where it has none (or only unbalanced ones, left as they are).
pub(crate) fn blank(text: &str) -> Cow<'_, str> {
    if memchr::memmem::find(text.as_bytes(), KEYWORD).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = text.as_bytes().to_vec();
    let mut from = 0;
    let mut changed = false;
    while let Some(at) = memchr::memmem::find(&text.as_bytes()[from..], KEYWORD) {
        let start = from + at;
        from = start + KEYWORD.len();
        // Part of a longer name (`my__attribute__`): not the keyword.
        if start > 0 && is_ident(text.as_bytes()[start - 1]) {
            continue;
        }
        let Some(end) = specifier_end(text.as_bytes(), from) else {
            continue;
        };
        for b in &mut out[start..end] {
            if *b != b'\n' && *b != b'\r' {
                *b = b' ';
            }
        }
        changed = true;
        from = end;
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    // Only ASCII bytes and whole multi-byte characters' bytes were
    // replaced by spaces, so this never fails; keep the text if it did.
    String::from_utf8(out).map_or(Cow::Borrowed(text), Cow::Owned)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The end of `((...))` starting at or after blanks from `i`: the byte
/// after the closing parenthesis that balances the first.
fn specifier_end(s: &[u8], mut i: usize) -> Option<usize> {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    if s.get(i) != Some(&b'(') || s.get(i + 1) != Some(&b'(') {
        return None;
    }
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    while i < s.len() {
        let b = s[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'(' => depth += 1,
                b')' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                b';' | b'{' | b'}' => return None,
                _ => {}
            },
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::blank;

    #[test]
    fn an_attribute_becomes_spaces_of_its_length() {
        let t = "static float b[64] __attribute__((aligned(64)));\nint x;";
        let out = blank(t);
        assert_eq!(out.len(), t.len());
        assert_eq!(
            out,
            format!("static float b[64]{};\nint x;", " ".repeat(29))
        );
    }

    #[test]
    fn newlines_strings_and_unbalanced_attributes() {
        let t = "int a[2]\n  __attribute__ ((section(\"x)\"),\n aligned(8))) = {1, 2};";
        let out = blank(t);
        assert_eq!(out.len(), t.len());
        assert_eq!(out.lines().count(), t.lines().count());
        assert!(out.ends_with("= {1, 2};") && !out.contains("aligned"));
        for t in [
            "__attribute__((aligned(8)",
            "x __attribute__ y;",
            "my__attribute__((a))",
            "é__attribute__",
        ] {
            assert_eq!(blank(t), t);
        }
    }
}
