//! Findings (with their advice) as LSP diagnostics: the range converted from
//! byte offsets to UTF-16 positions, the rule code with a link to its doc,
//! the severity of the level `check` gives the finding, and where the dims
//! were defined.

use gemmscope_analyzers::Finding;
use tower_lsp_server::ls_types::{
    CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Uri,
};

use crate::advice::problem_for;

use super::config::Settings;
use super::documents::range_of;
use crate::config::Level;
use crate::file_check::Reported;

/// The diagnostics' `source`.
pub const SOURCE: &str = "gemmscope";

/// The diagnostic severity of a level: error, warning, and information
/// for a note.
pub fn severity(level: Level) -> DiagnosticSeverity {
    match level {
        Level::Error => DiagnosticSeverity::ERROR,
        Level::Warning => DiagnosticSeverity::WARNING,
        Level::Note => DiagnosticSeverity::INFORMATION,
    }
}

/// The diagnostic's message: the finding's, then the advice's headline.
pub fn message(r: &Reported) -> String {
    match r.advice.headline() {
        Some(h) => format!("{} — {h}", r.finding.message),
        None => r.finding.message.clone(),
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

/// The diagnostic's `data`: the problem the finding describes and the
/// `gemmscope bench` arguments that measure it (editor clients run them for
/// "benchmark this loop"), or why it cannot be measured.
pub fn data_of(f: &Finding) -> serde_json::Value {
    match problem_for(f) {
        Ok(p) => {
            let mut args: Vec<String> = vec!["bench".into(), "gemm".into()];
            for (flag, v) in [
                ("--m", p.m.to_string()),
                ("--n", p.n.to_string()),
                ("--k", p.k.to_string()),
                ("--batch", p.batch.to_string()),
                ("--dtype", p.dtype.as_str().to_string()),
                ("--layout", p.layout.as_str().to_string()),
                ("--order", p.loop_order.as_str().to_string()),
            ] {
                args.push(flag.into());
                args.push(v);
            }
            serde_json::json!({
                "m": p.m, "n": p.n, "k": p.k, "batch": p.batch,
                "dtype": p.dtype.as_str(), "layout": p.layout.as_str(),
                "order": p.loop_order.as_str(),
                "benchArgs": args,
            })
        }
        Err(e) => serde_json::json!({ "noBench": e.to_string() }),
    }
}

/// The call sites in this document that gave a dim its value (each line
/// once): `M, N = n = 700 (call site)`.
fn call_sites_here(
    uri: &Uri,
    text: &str,
    starts: &[usize],
    f: &gemmscope_analyzers::Finding,
) -> Vec<DiagnosticRelatedInformation> {
    let name = uri
        .path()
        .as_str()
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    let mut lines: Vec<(usize, String, u64, Vec<&str>)> = Vec::new();
    for (role, d) in [
        ("M", &f.dims.m),
        ("N", &f.dims.n),
        ("K", &f.dims.k),
        ("batch", &f.dims.batch),
    ] {
        let Some(d) = d else { continue };
        let (
            Some(v),
            Some(gemmscope_analyzers::SizeSource::CallSite {
                file, line, param, ..
            }),
        ) = (d.value, &d.source)
        else {
            continue;
        };
        if *file != name {
            continue;
        }
        match lines.iter_mut().find(|x| x.0 == *line && x.1 == *param) {
            Some(x) => x.3.push(role),
            None => lines.push((*line, param.clone(), v, vec![role])),
        }
    }
    lines
        .into_iter()
        .filter_map(|(line, param, v, roles)| {
            let a0 = *starts.get(line.checked_sub(1)?)?;
            let a1 = text[a0..].find('\n').map_or(text.len(), |e| a0 + e);
            Some(DiagnosticRelatedInformation {
                location: Location::new(uri.clone(), range_of(text, starts, a0, a1)),
                message: format!("{} = {param} = {v} (call site)", roles.join(", ")),
            })
        })
        .collect()
}

/// One finding's diagnostic.
pub fn diagnostic(
    uri: &Uri,
    text: &str,
    starts: &[usize],
    r: &Reported,
    s: &Settings,
) -> Diagnostic {
    let f = &r.finding;
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
    let mut related = related;
    related.extend(call_sites_here(uri, text, starts, f));
    let href = format!("{}#{}", s.rules_url, f.code.to_ascii_lowercase());
    Diagnostic {
        range,
        severity: Some(severity(r.level)),
        code: Some(NumberOrString::String(f.code.to_string())),
        code_description: href.parse().ok().map(|href| CodeDescription { href }),
        source: Some(SOURCE.into()),
        message: message(r),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: Some(data_of(f)),
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
    fn data_carries_the_bench_arguments_or_why_not() {
        let t = "#define N 64\nfloat A[N][N],B[N][N],C[N][N];\nvoid f(void){for(int i=0;i<N;i++)for(int j=0;j<N;j++)for(int k=0;k<N;k++)C[i][j]+=A[i][k]*B[k][j];}\nvoid g(int n,float*a,float*b,float*c){for(int i=0;i<n;i++)for(int j=0;j<n;j++)for(int k=0;k<n;k++)c[i*n+j]+=a[i*n+k]*b[k*n+j];}\n";
        let a = gemmscope_analyzers::analyze("d.c", t, &gemmscope_analyzers::NoIncludes).unwrap();
        assert_eq!(a.findings.len(), 2, "{:#?}", a.findings);
        let d = data_of(&a.findings[0]);
        assert_eq!(d["m"], 64);
        assert_eq!(d["dtype"], "f32");
        let args: Vec<&str> = d["benchArgs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "bench", "gemm", "--m", "64", "--n", "64", "--k", "64", "--batch", "1", "--dtype",
                "f32", "--layout", "nn", "--order", "ijk"
            ]
        );
        let d = data_of(&a.findings[1]);
        assert!(d["noBench"].as_str().unwrap().contains("no value"), "{d}");
        assert!(d.get("benchArgs").is_none());
    }

    #[test]
    fn severity_follows_the_level() {
        assert_eq!(severity(Level::Error), DiagnosticSeverity::ERROR);
        assert_eq!(severity(Level::Warning), DiagnosticSeverity::WARNING);
        assert_eq!(severity(Level::Note), DiagnosticSeverity::INFORMATION);
    }
}
