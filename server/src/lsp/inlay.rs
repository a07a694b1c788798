//! Inlay hints: `~10 µs/output` at the end of the loop header (the first
//! line of the finding's range).

use tower_lsp_server::ls_types::{InlayHint, InlayHintKind, InlayHintLabel, Range};

use super::documents::position_at;
use crate::advice::Advisor;
use crate::file_check::Reported;

/// The byte offset of the end of the line that `offset` is on (before its
/// line break and trailing blanks).
pub fn end_of_line(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    offset + text[offset..end].trim_end().len()
}

pub fn hints(
    text: &str,
    starts: &[usize],
    findings: &[&Reported],
    range: Range,
    advisor: &Advisor,
    built: Option<&crate::advice::Built>,
) -> Vec<InlayHint> {
    findings
        .iter()
        .map(|r| &r.finding)
        .filter(|f| {
            let line = f.range.start_line.saturating_sub(1) as u32;
            range.start.line <= line && line <= range.end.line
        })
        .filter_map(|f| {
            let label = advisor.advise_built(f, built).inlay?;
            let at = end_of_line(text, f.range.start_byte);
            Some(InlayHint {
                position: position_at(text, starts, at),
                label: InlayHintLabel::String(label),
                kind: None::<InlayHintKind>,
                text_edits: None,
                tooltip: None,
                padding_left: Some(true),
                padding_right: None,
                data: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_line_skips_trailing_blanks() {
        let t = "for (i = 0; i < N; i++) {  \r\n  x;\n";
        assert_eq!(&t[..end_of_line(t, 0)], "for (i = 0; i < N; i++) {");
        assert_eq!(end_of_line(t, t.len()), t.len());
    }
}
