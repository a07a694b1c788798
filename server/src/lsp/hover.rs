//! Hover on a finding: the advisor's full table as markdown.

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

pub fn hover(
    text: &str,
    starts: &[usize],
    findings: &[&Reported],
    pos: Position,
    advisor: &Advisor,
) -> Option<Hover> {
    let r = finding_at(text, starts, findings, pos)?;
    let f = &r.finding;
    let advice = advisor.advise(f);
    let mut md = advisor.hover(f, &advice);
    md.push_str(&format!("\n\n`{}` {} — {}\n", f.code, f.rule, f.why));
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: md,
        }),
        range: Some(range_of(text, starts, f.range.start_byte, f.range.end_byte)),
    })
}
