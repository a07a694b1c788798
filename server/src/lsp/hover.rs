//! Hover on a finding: the advisor's full table as markdown.

use gemmscope_analyzers::Finding;
use tower_lsp_server::ls_types::{Hover, HoverContents, MarkupContent, MarkupKind, Position};

use super::advisor::Advisor;
use super::documents::{offset_at, range_of};

/// The innermost finding whose range holds `pos`.
pub fn finding_at<'a>(
    text: &str,
    starts: &[usize],
    findings: &'a [Finding],
    pos: Position,
) -> Option<&'a Finding> {
    let o = offset_at(text, starts, pos);
    findings
        .iter()
        .filter(|f| f.range.start_byte <= o && o <= f.range.end_byte)
        .min_by_key(|f| f.range.end_byte - f.range.start_byte)
}

pub fn hover(
    text: &str,
    starts: &[usize],
    findings: &[Finding],
    pos: Position,
    advisor: &dyn Advisor,
) -> Option<Hover> {
    let f = finding_at(text, starts, findings, pos)?;
    let a = advisor.advise(f);
    let mut md = a
        .table_markdown
        .unwrap_or_else(|| format!("**{}**", f.message));
    md.push_str(&format!("\n\n`{}` {} — {}\n", f.code, f.rule, f.why));
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: md,
        }),
        range: Some(range_of(text, starts, f.range.start_byte, f.range.end_byte)),
    })
}
