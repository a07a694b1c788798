//! Front ends: one per language, each lowering a tree-sitter tree into the
//! kernel IR ([`crate::ir::File`]). They never fail: parts of the tree that
//! do not lower are skipped (or kept as `Opaque`), and syntax errors are
//! reported in `File::syntax_problems`.

pub mod c;
pub mod python;

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
    match lang {
        Lang::C => c::lower_with(text, path, includes, false, build),
        Lang::Cuda => c::lower_with(text, path, includes, true, build),
        Lang::Python => python::lower(text),
    }
}
