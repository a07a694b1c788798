//! Front ends: one per language, each lowering a tree-sitter tree into the
//! kernel IR ([`crate::ir::File`]). They never fail: parts of the tree that
//! do not lower are skipped (or kept as `Opaque`), and syntax errors are
//! reported in `File::syntax_problems`.

pub mod c;
pub mod python;

use crate::ir::{File, Lang};
use crate::IncludeResolver;

/// Parses and lowers `text` as `lang`.
pub fn lower(lang: Lang, path: &str, text: &str, includes: &dyn IncludeResolver) -> File {
    match lang {
        Lang::C => c::lower(text, path, includes, false),
        Lang::Cuda => c::lower(text, path, includes, true),
        Lang::Python => python::lower(text),
    }
}
