//! Front ends: one per language, each lowering a tree-sitter tree into the
//! kernel IR ([`crate::ir::File`]). They never fail: parts of the tree that
//! do not lower are skipped (or kept as `Opaque`), and syntax errors are
//! reported in `File::syntax_problems`.
//!
//! Parsing and lowering are separate steps so that a caller that edits a
//! text repeatedly (the language server) can keep the tree: [`parse`] gives
//! a [`Parsed`], [`Parsed::edit`] updates it for an edit of the text, and
//! the next [`parse`] re-uses what the edit left unchanged. Only the plain
//! [`TreeEdit`] and [`TextPoint`] cross this boundary; tree-sitter's types
//! stay inside the crate.

pub mod c;
pub mod python;
pub mod reuse;

pub use reuse::LowerCache;

use crate::ir::{File, Lang};
use crate::{BuildContext, IncludeResolver};

/// Parses and lowers `text` as `lang`.
pub fn lower(lang: Lang, path: &str, text: &str, includes: &dyn IncludeResolver) -> File {
    lower_with(lang, path, text, includes, &BuildContext::default())
}

/// Parses and lowers `text` as `lang`, with the build's command-line macros
/// defined before the first line (C and CUDA).
pub fn lower_with(
    lang: Lang,
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
) -> File {
    lower_parsed(&parse(lang, text, None), path, text, includes, build)
}

/// A position in a text: `row` counts `\n`s before it, `column` is in
/// **bytes** from the start of its row (not characters, not UTF-16 units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TextPoint {
    pub row: usize,
    pub column: usize,
}

impl TextPoint {
    /// The point at byte `offset` of `text` (clamped to the text).
    pub fn at(text: &str, offset: usize) -> TextPoint {
        let head = &text.as_bytes()[..offset.min(text.len())];
        match head.iter().rposition(|&b| b == b'\n') {
            Some(nl) => TextPoint {
                row: head.iter().filter(|&&b| b == b'\n').count(),
                column: head.len() - nl - 1,
            },
            None => TextPoint {
                row: 0,
                column: head.len(),
            },
        }
    }

    /// The point reached from `self` by inserting `inserted`.
    pub fn after(self, inserted: &str) -> TextPoint {
        let b = inserted.as_bytes();
        match b.iter().rposition(|&c| c == b'\n') {
            Some(nl) => TextPoint {
                row: self.row + b.iter().filter(|&&c| c == b'\n').count(),
                column: b.len() - nl - 1,
            },
            None => TextPoint {
                row: self.row,
                column: self.column + b.len(),
            },
        }
    }
}

/// An edit of a parsed text, as the syntax tree needs it ([`Parsed::edit`]):
/// bytes `start_byte..old_end_byte` of the old
/// text became bytes `start_byte..new_end_byte` of the new one; the points
/// are the same positions as rows and byte columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeEdit {
    pub start_byte: usize,
    pub old_end_byte: usize,
    pub new_end_byte: usize,
    pub start: TextPoint,
    pub old_end: TextPoint,
    pub new_end: TextPoint,
}

impl TreeEdit {
    /// The edit that replaces bytes `start..old_end` of `old_text` with
    /// `inserted` (computes every point; O(length of `old_text`)).
    pub fn replace(old_text: &str, start: usize, old_end: usize, inserted: &str) -> TreeEdit {
        let start = start.min(old_text.len());
        let old_end = old_end.clamp(start, old_text.len());
        let p = TextPoint::at(old_text, start);
        TreeEdit {
            start_byte: start,
            old_end_byte: old_end,
            new_end_byte: start + inserted.len(),
            start: p,
            old_end: TextPoint::at(old_text, old_end),
            new_end: p.after(inserted),
        }
    }
}

fn ts_point(p: TextPoint) -> tree_sitter::Point {
    tree_sitter::Point::new(p.row, p.column)
}

/// A parsed text: the language and its syntax tree, kept between edits for
/// incremental re-parsing. Cheap to clone (the tree is shared).
#[derive(Clone)]
pub struct Parsed {
    lang: Lang,
    /// `None` only if the bundled grammar could not be loaded.
    tree: Option<tree_sitter::Tree>,
}

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parsed")
            .field("lang", &self.lang)
            .field("parsed", &self.tree.is_some())
            .finish()
    }
}

impl Parsed {
    /// The stand-in for a text that was not parsed (the prefilter showed it
    /// cannot hold a finding): no tree, so the next [`parse`] given it
    /// starts from scratch.
    pub fn unparsed(lang: Lang) -> Parsed {
        Parsed { lang, tree: None }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Records an edit of the text this tree was parsed from, so that the
    /// tree can be handed to [`parse`] with the edited text. Apply every
    /// edit, in order; a tree given to [`parse`] with a text its edits do
    /// not describe yields wrong (though memory-safe) results.
    pub fn edit(&mut self, e: &TreeEdit) {
        if let Some(t) = &mut self.tree {
            t.edit(&tree_sitter::InputEdit {
                start_byte: e.start_byte,
                old_end_byte: e.old_end_byte,
                new_end_byte: e.new_end_byte,
                start_position: ts_point(e.start),
                old_end_position: ts_point(e.old_end),
                new_end_position: ts_point(e.new_end),
            });
        }
    }

    /// The syntax tree (`None` only if the grammar could not be loaded).
    pub(crate) fn tree(&self) -> Option<&tree_sitter::Tree> {
        self.tree.as_ref()
    }

    /// The tree's S-expression (for tests and debugging).
    pub fn sexp(&self) -> String {
        self.tree
            .as_ref()
            .map(|t| t.root_node().to_sexp())
            .unwrap_or_default()
    }
}

/// Parses `text` as `lang`. With `old` — the [`Parsed`] of the previous
/// text with every edit since applied through [`Parsed::edit`] — the parse
/// is incremental: the parts of the tree the edits did not touch are
/// re-used. An `old` of another language is ignored.
pub fn parse(lang: Lang, text: &str, old: Option<&Parsed>) -> Parsed {
    let old = old.filter(|o| o.lang == lang).and_then(|o| o.tree.as_ref());
    let tree = match lang {
        Lang::C => c::parse(text, false, old),
        Lang::Cuda => c::parse(text, true, old),
        Lang::Python => python::parse(text, old),
    };
    Parsed { lang, tree }
}

/// Parses only the byte ranges `kept` of a Python `text` (whole lines,
/// sorted and disjoint: [`crate::prefilter::Part::kept`]); the tree is that
/// of the text with every other line blank. Other languages are parsed
/// whole.
pub fn parse_ranges(lang: Lang, text: &str, kept: &[std::ops::Range<usize>]) -> Parsed {
    let tree = match lang {
        Lang::Python => python::parse_ranges(text, kept),
        _ => return parse(lang, text, None),
    };
    Parsed { lang, tree }
}

/// Lowers a parsed text (`parsed` must be the parse of exactly `text`).
pub fn lower_parsed(
    parsed: &Parsed,
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
) -> File {
    lower_parsed_reusing(parsed, path, text, includes, build, None)
}

/// [`lower_parsed`], re-using the functions of an earlier lowering that
/// cannot have changed ([`reuse`]; C and CUDA/C++ — Python is lowered
/// whole). The result is the same as [`lower_parsed`]'s.
pub fn lower_parsed_reusing(
    parsed: &Parsed,
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
    cache: Option<&mut LowerCache>,
) -> File {
    let tree = parsed.tree.as_ref();
    match parsed.lang {
        Lang::C => c::lower_tree_reusing(tree, text, path, includes, false, build, cache),
        Lang::Cuda => c::lower_tree_reusing(tree, text, path, includes, true, build, cache),
        Lang::Python => python::lower_tree(tree, text),
    }
}

#[cfg(test)]
mod incremental_tests;
