//! Hover on a finding: the advisor's full table as markdown, and a link to
//! the finding's section of the `gemmscope report` page when one is found
//! next to the file ([`report_link`]).

use std::path::Path;

use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

use super::documents::{offset_at, range_of};
use crate::advice::Advisor;
use crate::file_check::Reported;

/// The innermost finding whose range holds `pos`.
pub fn finding_at<'a>(
    text: &str,
    starts: &[usize],
    findings: &[&'a Reported],
    pos: Position,
) -> Option<&'a Reported> {
    let o = offset_at(text, starts, pos);
    findings
        .iter()
        .copied()
        .filter(|r| r.finding.range.start_byte <= o && o <= r.finding.range.end_byte)
        .min_by_key(|r| r.finding.range.end_byte - r.finding.range.start_byte)
}

/// `gemmscope report`'s default output, looked for by [`report_link`].
pub const REPORT_FILE: &str = "gemmscope-report.html";

/// A markdown link to `f`'s section of the nearest `gemmscope-report.html`
/// in the document's folder or above, when that page has the section (a
/// stale page whose lines moved has not: no link).
pub fn report_link(doc: &Path, f: &gemmscope_analyzers::Finding) -> Option<String> {
    let anchor = crate::report_html::anchor(&doc.to_string_lossy(), f.range.start_line, f.code);
    let page = doc
        .ancestors()
        .skip(1)
        .map(|d| d.join(REPORT_FILE))
        .find(|p| p.is_file())?;
    if std::fs::metadata(&page).ok()?.len() > 64 << 20 {
        return None;
    }
    let html = std::fs::read_to_string(&page).ok()?;
    if !html.contains(&format!("id=\"{anchor}\"")) {
        return None;
    }
    let abs = std::fs::canonicalize(&page).ok()?;
    let mut url = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'.' | b'_' | b'-' | b'~' => {
                url.push(b as char)
            }
            _ => url.push_str(&format!("%{b:02X}")),
        }
    }
    Some(format!(
        "[Charts: this finding in the gemmscope report]({url}#{anchor})"
    ))
}

pub fn hover(
    text: &str,
    starts: &[usize],
    findings: &[&Reported],
    pos: Position,
    advisor: &Advisor,
    built: Option<&crate::advice::Built>,
    doc: Option<&Path>,
) -> Option<Hover> {
    let r = finding_at(text, starts, findings, pos)?;
    let f = &r.finding;
    // With the file's build flags, as the diagnostic's advice is made
    // (`file_check::advise`), so the hover never says otherwise.
    let advice = advisor.advise_built(f, built);
    let mut md = advisor.hover(f, &advice);
    md.push_str(&format!("\n\n`{}` {} — {}\n", f.code, f.rule, f.why));
    if let Some(sizes) = crate::advice::sizes_line(f) {
        md.push_str(&format!("\n{}\n", hover_cell(&sizes)));
    }
    if let Some(link) = doc.and_then(|d| report_link(d, f)) {
        md.push_str(&format!("\n{link}\n"));
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: md,
        }),
        range: Some(range_of(text, starts, f.range.start_byte, f.range.end_byte)),
    })
}

/// Backticks in the sizes line (function names) are fine in Markdown; `*`
/// and `_` in names are escaped.
fn hover_cell(s: &str) -> String {
    s.replace('_', "\\_").replace('*', "\\*")
}

#[cfg(test)]
mod tests {
    use super::*;
    use gemmscope_analyzers::{analyze, NoIncludes};

    #[test]
    fn the_link_needs_a_report_with_the_finding_s_section() {
        let dir = std::env::temp_dir().join(format!("gemmscope hover-link-{}", std::process::id()));
        let src = dir.join("src dir");
        std::fs::create_dir_all(&src).unwrap();
        let file = src.join("a.c");
        let text = "#define N 64\nfloat A[N][N], B[N][N], C[N][N];\nvoid f(void){\n for(int i=0;i<N;i++) for(int j=0;j<N;j++) for(int k=0;k<N;k++) C[i][j] += A[i][k]*B[k][j];\n}\n";
        std::fs::write(&file, text).unwrap();
        let f = analyze("a.c", text, &NoIncludes)
            .unwrap()
            .findings
            .remove(0);
        assert_eq!(report_link(&file, &f), None, "no report");
        let page = dir.join(REPORT_FILE);
        std::fs::write(&page, "<section id=\"other\">").unwrap();
        assert_eq!(report_link(&file, &f), None, "not this finding");
        let anchor =
            crate::report_html::anchor(&file.to_string_lossy(), f.range.start_line, f.code);
        std::fs::write(&page, format!("<section id=\"{anchor}\">")).unwrap();
        let link = report_link(&file, &f).expect("a link");
        assert!(link.contains(&format!("#{anchor})")), "{link}");
        assert!(link.contains("](file:///"), "{link}");
        let url = &link[link.find("](").unwrap()..];
        assert!(
            !url.contains(' ') && url.contains("gemmscope%20hover-link"),
            "{link}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
