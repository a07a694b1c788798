//! Inline suppression comments:
//!
//! ```text
//! // gemmscope: ignore[GS101] the sizes are tiny here
//! # gemmscope: ignore[GS101,GS201] reference implementation for the tests
//! ```
//!
//! A comment suppresses a finding whose code it names (a code or a prefix of
//! one) when it is on the finding's first line, or alone on the line above
//! it. The text after `]` is the reason, kept in the output. Comments are
//! found in the source text line by line (`//` and `/* */` in C and CUDA,
//! `#` in Python); a string literal that looks like one also counts.

use gemmscope_analyzers::detectors::all_rules;
use gemmscope_analyzers::Lang;

const MARKER: &str = "gemmscope:";

/// One suppression comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// 1-based line of the comment.
    pub line: usize,
    /// The codes or prefixes it names, upper-cased.
    pub codes: Vec<String>,
    /// The text after `]`, if any.
    pub reason: Option<String>,
    /// True when nothing but whitespace precedes the comment on its line.
    pub own_line: bool,
}

impl Suppression {
    fn names(&self, code: &str) -> bool {
        self.codes.iter().any(|c| {
            code.len() >= c.len() && code[..c.len()].eq_ignore_ascii_case(c) && !c.is_empty()
        })
    }
}

/// The comment openers of `lang`.
fn openers(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::Python => &["#"],
        Lang::C | Lang::Cuda => &["//", "/*"],
    }
}

/// Every suppression comment in `text`, and a message for each malformed
/// one (`line N: ...`).
pub fn parse(text: &str, lang: Lang) -> (Vec<Suppression>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    if !text.contains(MARKER) {
        return (out, problems);
    }
    let known: Vec<&'static str> = all_rules().iter().map(|r| r.meta().code).collect();
    for (i, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(off) = line[from..].find(MARKER) {
            let at = from + off;
            from = at + MARKER.len();
            let before = line[..at].trim_end();
            let Some(opener) = openers(lang).iter().find(|o| before.ends_with(**o)) else {
                continue;
            };
            let own_line = before[..before.len() - opener.len()].trim().is_empty();
            let rest = line[at + MARKER.len()..].trim_start();
            let Some(rest) = rest.strip_prefix("ignore") else {
                continue;
            };
            let rest = rest.trim_start();
            let Some(rest) = rest.strip_prefix('[') else {
                problems.push(format!(
                    "line {}: `gemmscope: ignore` needs the codes in brackets, e.g. `gemmscope: ignore[GS101] reason`",
                    i + 1
                ));
                continue;
            };
            let Some(close) = rest.find(']') else {
                problems.push(format!(
                    "line {}: `gemmscope: ignore[` is missing its `]`",
                    i + 1
                ));
                continue;
            };
            let codes: Vec<String> = rest[..close]
                .split(',')
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty())
                .collect();
            if codes.is_empty() {
                problems.push(format!(
                    "line {}: `gemmscope: ignore[]` names no code",
                    i + 1
                ));
                continue;
            }
            for c in &codes {
                if !known.iter().any(|k| k.starts_with(c.as_str())) {
                    problems.push(format!(
                        "line {}: `{c}` in a suppression comment is not a rule code or a prefix of one",
                        i + 1
                    ));
                }
            }
            let mut reason = rest[close + 1..].trim();
            if *opener == "/*" {
                reason = reason.find("*/").map_or(reason, |e| reason[..e].trim_end());
            }
            let reason = reason.trim_start_matches([':', '-', '—']).trim();
            out.push(Suppression {
                line: i + 1,
                codes,
                reason: (!reason.is_empty()).then(|| reason.to_string()),
                own_line,
            });
            break;
        }
    }
    (out, problems)
}

/// The comment suppressing a finding with `code` whose first line is
/// `first_line`, if any.
pub fn find<'a>(sups: &'a [Suppression], code: &str, first_line: usize) -> Option<&'a Suppression> {
    sups.iter()
        .find(|s| s.line == first_line && s.names(code))
        .or_else(|| {
            sups.iter()
                .find(|s| s.own_line && s.line + 1 == first_line && s.names(code))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_in_each_language_with_reasons() {
        let c = "int x;\n  // gemmscope: ignore[GS101] tiny sizes\nfor (;;) {} /* gemmscope: ignore[gs2] why */\n";
        let (s, p) = parse(c, Lang::C);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].line, 2);
        assert!(s[0].own_line);
        assert_eq!(s[0].reason.as_deref(), Some("tiny sizes"));
        assert_eq!(s[1].codes, vec!["GS2"]);
        assert_eq!(s[1].reason.as_deref(), Some("why"));
        assert!(!s[1].own_line);
        assert!(find(&s, "GS101", 3).is_some());
        assert!(find(&s, "GS201", 3).is_some());
        assert!(find(&s, "GS102", 3).is_none());
        assert!(find(&s, "GS101", 4).is_none());

        let py = "x = a // b  # gemmscope: ignore[GS101, GS201]\n# gemmscope: ignore[GS401]: reference code\n";
        let (s, _) = parse(py, Lang::Python);
        assert_eq!(s[0].codes, vec!["GS101", "GS201"]);
        assert_eq!(s[0].reason, None);
        assert_eq!(s[1].reason.as_deref(), Some("reference code"));
        // `#` is not a comment in C, nor `//` in Python.
        assert!(
            parse("#define X // no\n# gemmscope: ignore[GS101]\n", Lang::C)
                .0
                .is_empty()
        );
        assert!(parse("y = 1 // gemmscope: ignore[GS101]\n", Lang::Python)
            .0
            .is_empty());
    }

    #[test]
    fn malformed_comments_are_reported() {
        let (s, p) = parse(
            "# gemmscope: ignore GS101\n# gemmscope: ignore[GS999]\n# gemmscope: ignore[GS1\n",
            Lang::Python,
        );
        assert_eq!(s.len(), 1);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].starts_with("line 1:"));
        assert!(p[1].contains("GS999"));
    }
}
