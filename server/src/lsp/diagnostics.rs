//! Findings (with their advice) as LSP diagnostics: the range converted from
//! byte offsets to UTF-16 positions, the rule code with a link to its doc,
//! severity scaled by the speed-up, and where the dims were defined.

use gemmscope_analyzers::Finding;
use tower_lsp_server::ls_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Uri,
};

use super::advisor::Advice;
use super::config::Settings;
use super::documents::range_of;

/// The diagnostics' `source`.
pub const SOURCE: &str = "gemmscope";

/// Warning from `warning_speedup`, information from `info_speedup`, a hint
/// below; information when the speed-up is not known.
pub fn severity(speedup: Option<f64>, s: &Settings) -> DiagnosticSeverity {
    match speedup {
        Some(x) if x >= s.warning_speedup => DiagnosticSeverity::WARNING,
        Some(x) if x >= s.info_speedup => DiagnosticSeverity::INFORMATION,
        Some(_) => DiagnosticSeverity::HINT,
        None => DiagnosticSeverity::INFORMATION,
    }
}

fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// The byte range of the line that defines `name`: `#define NAME`, or a
/// top-level `NAME = ...` / `const int NAME = ...` assignment.
pub fn definition_of(text: &str, name: &str) -> Option<(usize, usize)> {
    if !is_ident(name) {
        return None;
    }
    let word_at = |l: &str, i: usize| {
        let before = l[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = l[i + name.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        before && after
    };
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        let l = line.trim_end_matches(['\n', '\r']);
        let t = l.trim_start();
        let hit = if let Some(rest) = t.strip_prefix('#') {
            let rest = rest.trim_start();
            rest.strip_prefix("define")
                .map(|r| r.trim_start())
                .is_some_and(|r| r.starts_with(name) && word_at(r, 0))
        } else if !l.starts_with([' ', '\t']) {
            l.match_indices(name).any(|(i, _)| {
                word_at(l, i) && {
                    let after = l[i + name.len()..].trim_start();
                    after.starts_with('=') && !after.starts_with("==")
                }
            })
        } else {
            false
        };
        if hit {
            return Some((off, off + l.len()));
        }
        off += line.len();
    }
    None
}

/// One finding's diagnostic.
pub fn diagnostic(
    uri: &Uri,
    text: &str,
    starts: &[usize],
    f: &Finding,
    a: &Advice,
    s: &Settings,
) -> Diagnostic {
    let range = range_of(text, starts, f.range.start_byte, f.range.end_byte);
    // Each defining name once, with every role it gives a value to.
    let mut defs: Vec<(String, u64, Vec<&str>)> = Vec::new();
    for (role, d) in [
        ("M", &f.dims.m),
        ("N", &f.dims.n),
        ("K", &f.dims.k),
        ("batch", &f.dims.batch),
    ] {
        let Some(d) = d else { continue };
        let Some(v) = d.value else { continue };
        match defs.iter_mut().find(|x| x.0 == d.expr) {
            Some(x) => x.2.push(role),
            None => defs.push((d.expr.clone(), v, vec![role])),
        }
    }
    let related: Vec<DiagnosticRelatedInformation> = defs
        .into_iter()
        .filter_map(|(expr, v, roles)| {
            let (a0, a1) = definition_of(text, &expr)?;
            let roles = roles.join(", ");
            Some(DiagnosticRelatedInformation {
                location: Location::new(uri.clone(), range_of(text, starts, a0, a1)),
                message: if roles == expr {
                    format!("{roles} = {v} (defined here)")
                } else {
                    format!("{roles} = {expr} = {v} (defined here)")
                },
            })
        })
        .collect();
    let href = format!("{}#{}", s.rules_url, f.code.to_ascii_lowercase());
    Diagnostic {
        range,
        severity: Some(severity(a.speedup, s)),
        code: Some(NumberOrString::String(f.code.to_string())),
        code_description: href.parse().ok().map(|href| CodeDescription { href }),
        source: Some(SOURCE.into()),
        message: a.headline.clone().unwrap_or_else(|| f.message.clone()),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_are_found_by_whole_word() {
        let t = "#define NN 3\n#  define N 1024\nint M2 = 5;\nconst int M = 64;\n  K = 9\nK = 7\nif (M == 3) {}\n";
        assert_eq!(definition_of(t, "N"), Some((13, 29)));
        assert_eq!(&t[13..29], "#  define N 1024");
        let (a, b) = definition_of(t, "M").unwrap();
        assert_eq!(&t[a..b], "const int M = 64;");
        let (a, b) = definition_of(t, "K").unwrap();
        assert_eq!(&t[a..b], "K = 7");
        assert_eq!(definition_of(t, "1024"), None);
        assert_eq!(definition_of(t, "Q"), None);
    }

    #[test]
    fn severity_scales_with_the_speedup() {
        let s = Settings::default();
        assert_eq!(severity(Some(490.0), &s), DiagnosticSeverity::WARNING);
        assert_eq!(severity(Some(3.0), &s), DiagnosticSeverity::INFORMATION);
        assert_eq!(severity(Some(1.2), &s), DiagnosticSeverity::HINT);
        assert_eq!(severity(None, &s), DiagnosticSeverity::INFORMATION);
    }
}
