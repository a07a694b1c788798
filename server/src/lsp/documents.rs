//! The document store: the text of every open file with its version, and
//! incremental edits applied with LSP's UTF-16 positions. Plain text only:
//! the analyzers re-parse a snapshot of the whole text on each analysis.

use std::collections::HashMap;
use std::sync::Arc;

use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent, Uri};

/// One open document.
#[derive(Clone, Debug)]
pub struct Document {
    /// The whole text; shared with analyses running on a snapshot.
    pub text: Arc<String>,
    /// The client's version (`None` for files read from disk).
    pub version: Option<i32>,
    /// Open in the editor (as opposed to read from disk for the workspace).
    pub open: bool,
}

/// Byte offset of the start of every line (`\n`-terminated; `\r\n` keeps
/// its `\r` at the end of the line it ends).
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(
        text.bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i + 1),
    );
    v
}

/// The byte offset of an LSP position (line, UTF-16 column), clamped to the
/// text: a line past the end is the end of the text, a column past the end
/// of its line is the end of that line (before its line break), and a column
/// inside a surrogate pair rounds down to the character's start.
pub fn offset_at(text: &str, starts: &[usize], pos: Position) -> usize {
    let line = pos.line as usize;
    let Some(&start) = starts.get(line) else {
        return text.len();
    };
    let end = starts.get(line + 1).copied().unwrap_or(text.len());
    let line_text = &text[start..end];
    let content = line_text
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(line_text);
    let mut units = 0u32;
    for (i, ch) in content.char_indices() {
        let w = ch.len_utf16() as u32;
        if units + w > pos.character {
            return start + i;
        }
        units += w;
    }
    start + content.len()
}

/// The LSP position (line, UTF-16 column) of a byte offset; an offset inside
/// a character rounds down to its start.
pub fn position_at(text: &str, starts: &[usize], offset: usize) -> Position {
    let offset = offset.min(text.len());
    let line = match starts.binary_search(&offset) {
        Ok(l) => l,
        Err(l) => l - 1,
    };
    let start = starts[line];
    let mut o = offset;
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    let character = text[start..o].chars().map(|c| c.len_utf16() as u32).sum();
    Position::new(line as u32, character)
}

/// An LSP range from byte offsets.
pub fn range_of(text: &str, starts: &[usize], start: usize, end: usize) -> Range {
    Range::new(
        position_at(text, starts, start),
        position_at(text, starts, end.max(start)),
    )
}

/// Applies content changes in order (each range relative to the text after
/// the previous change; a change without a range replaces everything).
pub fn apply_changes(text: &mut String, changes: &[TextDocumentContentChangeEvent]) {
    for c in changes {
        match c.range {
            None => {
                text.clear();
                text.push_str(&c.text);
            }
            Some(r) => {
                let starts = line_starts(text);
                let a = offset_at(text, &starts, r.start);
                let b = offset_at(text, &starts, r.end).max(a);
                text.replace_range(a..b, &c.text);
            }
        }
    }
}

/// Why a change was not applied.
#[derive(Debug, PartialEq, Eq)]
pub enum ChangeError {
    NotOpen,
    /// The change's version is not newer than the document's.
    Stale {
        have: i32,
        got: i32,
    },
}

impl std::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeError::NotOpen => write!(f, "change for a document that is not open"),
            ChangeError::Stale { have, got } => {
                write!(f, "change to version {got} ignored: have version {have}")
            }
        }
    }
}

/// Every document the server knows, by URI.
#[derive(Default)]
pub struct Documents {
    docs: HashMap<Uri, Document>,
}

impl Documents {
    pub fn open(&mut self, uri: Uri, text: String, version: i32) {
        self.docs.insert(
            uri,
            Document {
                text: Arc::new(text),
                version: Some(version),
                open: true,
            },
        );
    }

    /// A file read from disk (workspace folder or watched file). An open
    /// document is left alone: the editor's text wins.
    pub fn set_from_disk(&mut self, uri: Uri, text: String) -> bool {
        if self.docs.get(&uri).is_some_and(|d| d.open) {
            return false;
        }
        self.docs.insert(
            uri,
            Document {
                text: Arc::new(text),
                version: None,
                open: false,
            },
        );
        true
    }

    pub fn change(
        &mut self,
        uri: &Uri,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
    ) -> Result<(), ChangeError> {
        let d = self.docs.get_mut(uri).ok_or(ChangeError::NotOpen)?;
        if let Some(have) = d.version {
            if version <= have {
                return Err(ChangeError::Stale { have, got: version });
            }
        }
        apply_changes(Arc::make_mut(&mut d.text), changes);
        d.version = Some(version);
        Ok(())
    }

    /// Closes an editor document; returns whether it was known.
    pub fn close(&mut self, uri: &Uri) -> bool {
        self.docs.remove(uri).is_some()
    }

    pub fn get(&self, uri: &Uri) -> Option<&Document> {
        self.docs.get(uri)
    }

    pub fn uris(&self) -> Vec<Uri> {
        self.docs.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(sl: u32, sc: u32, el: u32, ec: u32, t: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: t.into(),
        }
    }

    #[test]
    fn utf16_columns_round_trip() {
        // "é" is 2 bytes, 1 UTF-16 unit; "𝔸" is 4 bytes, 2 units.
        let t = "aé𝔸b\r\nxyz\n";
        let s = line_starts(t);
        assert_eq!(offset_at(t, &s, Position::new(0, 1)), 1);
        assert_eq!(offset_at(t, &s, Position::new(0, 2)), 3);
        assert_eq!(offset_at(t, &s, Position::new(0, 4)), 7);
        // Inside the surrogate pair: the character's start.
        assert_eq!(offset_at(t, &s, Position::new(0, 3)), 3);
        // Past the end of the line: before the \r\n.
        assert_eq!(offset_at(t, &s, Position::new(0, 99)), 8);
        assert_eq!(offset_at(t, &s, Position::new(1, 2)), 12);
        assert_eq!(offset_at(t, &s, Position::new(9, 0)), t.len());
        for off in [0, 1, 3, 7, 8, 10, 12, 14] {
            let p = position_at(t, &s, off);
            assert_eq!(offset_at(t, &s, p), off, "{off} {p:?}");
        }
        assert_eq!(position_at(t, &s, 7), Position::new(0, 4));
        assert_eq!(position_at(t, &s, 5), Position::new(0, 2));
    }

    #[test]
    fn incremental_edits_apply_in_order() {
        let mut t = String::from("int 𝔸 = 1;\nfloat b;\n");
        apply_changes(
            &mut t,
            &[
                change(0, 9, 0, 10, "42"),
                change(1, 0, 1, 5, "double"),
                change(2, 0, 2, 0, "// end\n"),
            ],
        );
        assert_eq!(t, "int 𝔸 = 42;\ndouble b;\n// end\n");
        // Delete across lines.
        apply_changes(&mut t, &[change(0, 11, 1, 6, "")]);
        assert_eq!(t, "int 𝔸 = 42 b;\n// end\n");
        apply_changes(
            &mut t,
            &[TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "x".into(),
            }],
        );
        assert_eq!(t, "x");
    }

    #[test]
    fn stale_versions_are_refused_and_disk_does_not_override_the_editor() {
        let mut d = Documents::default();
        let u: Uri = "file:///t/a.c".parse().unwrap();
        d.open(u.clone(), "abc".into(), 3);
        assert_eq!(
            d.change(&u, 3, &[change(0, 0, 0, 0, "x")]),
            Err(ChangeError::Stale { have: 3, got: 3 })
        );
        d.change(&u, 4, &[change(0, 0, 0, 0, "x")]).unwrap();
        assert_eq!(d.get(&u).unwrap().text.as_str(), "xabc");
        assert!(!d.set_from_disk(u.clone(), "disk".into()));
        assert_eq!(d.get(&u).unwrap().text.as_str(), "xabc");
        let other: Uri = "file:///t/b.c".parse().unwrap();
        assert_eq!(
            d.change(&other, 1, &[]),
            Err(ChangeError::NotOpen),
            "unknown uri"
        );
    }
}
