//! The document store: the text of every open file with its version, and
//! incremental edits applied with LSP's UTF-16 positions. An open document
//! also keeps its syntax tree ([`Parsed`]): each edit is applied to it as a
//! byte/row-column [`TreeEdit`], so that the next analysis re-parses only
//! what changed (on a snapshot, off the reactor).

use std::collections::HashMap;
use std::sync::Arc;

use gemmscope_analyzers::{Parsed, TreeEdit};
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
    /// The syntax tree of an earlier text with every edit since applied,
    /// so that it describes `text` for an incremental re-parse. `None`
    /// before the first analysis, and for files read from disk (they
    /// change only as a whole).
    pub parsed: Option<Parsed>,
    /// Distinguishes this document from an earlier one at the same URI
    /// (reopened, re-read from disk): a parse of the old one is not kept.
    generation: u64,
    /// Edits since the last [`Documents::snapshot`], to bring the tree
    /// parsed from that snapshot up to the current text.
    since_snapshot: Vec<TreeEdit>,
}

impl Document {
    fn new(text: String, version: Option<i32>, open: bool, generation: u64) -> Document {
        Document {
            text: Arc::new(text),
            version,
            open,
            parsed: None,
            generation,
            since_snapshot: Vec::new(),
        }
    }
}

/// What an analysis works on: the text at one moment and the tree to
/// re-parse it from.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub text: Arc<String>,
    pub version: Option<i32>,
    pub open: bool,
    /// The previous tree, edited to match `text` (`None`: parse afresh).
    pub parsed: Option<Parsed>,
    generation: u64,
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
/// the previous change; a change without a range replaces everything), and
/// returns them as byte/row-column edits, in the same order, for the
/// syntax tree.
pub fn apply_changes(
    text: &mut String,
    changes: &[TextDocumentContentChangeEvent],
) -> Vec<TreeEdit> {
    let mut edits = Vec::with_capacity(changes.len());
    for c in changes {
        let (a, b) = match c.range {
            None => (0, text.len()),
            Some(r) => {
                let starts = line_starts(text);
                let a = offset_at(text, &starts, r.start);
                (a, offset_at(text, &starts, r.end).max(a))
            }
        };
        edits.push(TreeEdit::replace(text, a, b, &c.text));
        text.replace_range(a..b, &c.text);
    }
    edits
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
    generations: u64,
}

impl Documents {
    fn next_generation(&mut self) -> u64 {
        self.generations += 1;
        self.generations
    }

    pub fn open(&mut self, uri: Uri, text: String, version: i32) {
        let g = self.next_generation();
        self.docs
            .insert(uri, Document::new(text, Some(version), true, g));
    }

    /// A file read from disk (workspace folder or watched file). An open
    /// document is left alone: the editor's text wins.
    pub fn set_from_disk(&mut self, uri: Uri, text: String) -> bool {
        if self.docs.get(&uri).is_some_and(|d| d.open) {
            return false;
        }
        let g = self.next_generation();
        self.docs.insert(uri, Document::new(text, None, false, g));
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
        let edits = apply_changes(Arc::make_mut(&mut d.text), changes);
        if let Some(p) = &mut d.parsed {
            for e in &edits {
                p.edit(e);
            }
        }
        d.since_snapshot.extend(edits);
        d.version = Some(version);
        Ok(())
    }

    /// The document as it is now, for one analysis; edits from now on are
    /// recorded for [`Documents::keep_parse`].
    pub fn snapshot(&mut self, uri: &Uri) -> Option<Snapshot> {
        let d = self.docs.get_mut(uri)?;
        d.since_snapshot.clear();
        Some(Snapshot {
            text: d.text.clone(),
            version: d.version,
            open: d.open,
            parsed: d.parsed.clone(),
            generation: d.generation,
        })
    }

    /// Keeps `parsed`, the tree of `snap`'s text, for the next re-parse of
    /// an open document: the edits made since the snapshot are applied to
    /// it, so it matches the current text. Ignored when the document was
    /// closed, reopened or re-read meanwhile, or is not open in the editor.
    pub fn keep_parse(&mut self, uri: &Uri, snap: &Snapshot, mut parsed: Parsed) {
        let Some(d) = self.docs.get_mut(uri) else {
            return;
        };
        if d.generation != snap.generation || !d.open {
            return;
        }
        for e in &d.since_snapshot {
            parsed.edit(e);
        }
        d.parsed = Some(parsed);
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

#[cfg(test)]
mod incremental_tests {
    use super::*;
    use gemmscope_analyzers::{parse, Lang};

    fn change(sl: u32, sc: u32, el: u32, ec: u32, t: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(sl, sc), Position::new(el, ec))),
            range_length: None,
            text: t.into(),
        }
    }

    const C: &str = "#define N 8\n/* é𝔸 */ float A[N][N],B[N][N],C[N][N];\nvoid f(void){\nfor(int i=0;i<N;i++)for(int j=0;j<N;j++)for(int k=0;k<N;k++)C[i][j]+=A[i][k]*B[k][j];}\n";

    /// LSP changes (UTF-16 columns, after multi-byte characters, across
    /// lines) become tree edits that make the kept tree re-parse to what a
    /// fresh parse gives — including edits made while an analysis of an
    /// older snapshot was running.
    #[test]
    fn lsp_changes_keep_the_tree_in_step_with_the_text() {
        let mut d = Documents::default();
        let u: Uri = "file:///t/a.c".parse().unwrap();
        d.open(u.clone(), C.into(), 1);
        let s = d.snapshot(&u).unwrap();
        assert!(s.parsed.is_none(), "nothing parsed yet");
        let first = parse(Lang::C, &s.text, None);
        // An edit arrives while the first analysis runs: after "é𝔸" (UTF-16
        // column 6 is byte 9), and a new line after line 0.
        d.change(
            &u,
            2,
            &[
                change(1, 6, 1, 6, "中"),
                change(0, 11, 0, 11, "\n#define M 4"),
            ],
        )
        .unwrap();
        d.keep_parse(&u, &s, first);
        let check = |d: &mut Documents, want: &str| {
            let s = d.snapshot(&u).unwrap();
            assert_eq!(s.text.as_str(), want);
            let p = s.parsed.clone().expect("a kept tree");
            let inc = parse(Lang::C, &s.text, Some(&p));
            assert_eq!(inc.sexp(), parse(Lang::C, &s.text, None).sexp());
            d.keep_parse(&u, &s, inc);
        };
        let want = C
            .replace("é𝔸 ", "é𝔸中 ")
            .replace("#define N 8\n", "#define N 8\n#define M 4\n");
        check(&mut d, &want);
        // Delete a line break and a character after a surrogate pair;
        // replace a range spanning lines.
        d.change(
            &u,
            3,
            &[
                change(1, 11, 2, 0, " "),
                change(2, 7, 2, 8, ""),
                change(2, 0, 3, 13, "double A[N][N];\nvoid g(void){\n"),
            ],
        )
        .unwrap();
        let mut t = want.clone();
        apply_changes(
            &mut t,
            &[
                change(1, 11, 2, 0, " "),
                change(2, 7, 2, 8, ""),
                change(2, 0, 3, 13, "double A[N][N];\nvoid g(void){\n"),
            ],
        );
        check(&mut d, &t);
        // A whole-text replacement.
        d.change(
            &u,
            4,
            &[TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: C.into(),
            }],
        )
        .unwrap();
        check(&mut d, C);
        // A parse of a document since reopened is not kept.
        let s = d.snapshot(&u).unwrap();
        d.open(u.clone(), "int x;\n".into(), 9);
        d.keep_parse(&u, &s, parse(Lang::C, &s.text, None));
        assert!(d.snapshot(&u).unwrap().parsed.is_none());
        // Nor one of a file read from disk.
        let disk: Uri = "file:///t/b.c".parse().unwrap();
        d.set_from_disk(disk.clone(), C.into());
        let s = d.snapshot(&disk).unwrap();
        d.keep_parse(&disk, &s, parse(Lang::C, C, None));
        assert!(d.snapshot(&disk).unwrap().parsed.is_none());
    }
}
