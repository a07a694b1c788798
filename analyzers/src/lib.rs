//! gemmscope analyzers: parse C, CUDA/C++ and Python with tree-sitter, lower
//! into the kernel IR ([`ir`]), normalise it ([`normalize`]), and run the
//! idiom detectors ([`detectors`]) to produce [`Finding`]s.
//!
//! This crate does no I/O: the caller passes the text, and an
//! [`IncludeResolver`] for headers that a C file includes by relative path.

pub mod detectors;
pub mod finding;
pub mod fixes;
pub mod frontend;
pub mod ir;
pub mod normalize;
pub mod prefilter;

pub use finding::{Backend, Dim, Dims, Finding, Idiom, Major, OperandLayout, Routine};
pub use frontend::{parse, Parsed, TextEdit, TextPoint};
pub use ir::{Lang, Span, SyntaxProblem};

/// Supplies the text of `#include "relative.h"` headers. Implemented by the
/// CLI and the server (which read files); the analyzers never touch the disk.
pub trait IncludeResolver {
    /// The text of `include` as included from the file at `from_path`, if it
    /// can be found.
    fn resolve(&self, from_path: &str, include: &str) -> Option<String>;

    /// Finds a header for `#include "include"` (`angled == false`) or
    /// `#include <include>` (`angled == true`) in the file at `from_path`,
    /// returning the header's path (against which its own includes are
    /// resolved) and its text. The default looks quoted includes up with
    /// [`IncludeResolver::resolve`] next to the including file and finds no
    /// angled ones; a resolver that knows the build's include directories
    /// (`-I`) overrides it.
    fn find(&self, from_path: &str, include: &str, angled: bool) -> Option<(String, String)> {
        if angled {
            return None;
        }
        let text = self.resolve(from_path, include)?;
        Some((frontend::c::join_path(from_path, include), text))
    }
}

/// A resolver that finds nothing.
pub struct NoIncludes;

impl IncludeResolver for NoIncludes {
    fn resolve(&self, _from_path: &str, _include: &str) -> Option<String> {
        None
    }
}

/// What the build says about a file beyond its text: the macros defined on
/// the compiler's command line (`-DNAME`, `-DNAME=VALUE`), as read from
/// `compile_commands.json` by the caller. Include directories are the
/// [`IncludeResolver`]'s business.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildContext {
    /// `(name, value)`; `None` is `-DNAME` (defined as `1`).
    pub defines: Vec<(String, Option<String>)>,
    /// `-UNAME`: names undefined after the defines.
    pub undefines: Vec<String>,
}

/// The result of analysing one file.
#[derive(Debug)]
pub struct Analysis {
    pub lang: Lang,
    pub findings: Vec<Finding>,
    /// Syntax errors the parser recovered from; findings still come from the
    /// parts that parsed.
    pub syntax_problems: Vec<SyntaxProblem>,
}

/// Why a file could not be analysed at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnalyzeError {
    /// The path's extension is not one we parse.
    UnsupportedLanguage(String),
}

impl std::fmt::Display for AnalyzeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnalyzeError::UnsupportedLanguage(p) => write!(
                f,
                "{p}: not a C, CUDA/C++ or Python file (known extensions: .c .h .cu .cuh .cc .cpp .cxx .hpp .py)"
            ),
        }
    }
}

impl std::error::Error for AnalyzeError {}

/// Analyses `text`, choosing the language from `path`'s extension.
pub fn analyze(
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
) -> Result<Analysis, AnalyzeError> {
    let lang =
        Lang::from_path(path).ok_or_else(|| AnalyzeError::UnsupportedLanguage(path.to_string()))?;
    Ok(analyze_as(lang, path, text, includes))
}

/// Analyses `text` with the build's command-line macros (C and CUDA; Python
/// ignores them), choosing the language from `path`'s extension.
pub fn analyze_with(
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
) -> Result<Analysis, AnalyzeError> {
    let lang =
        Lang::from_path(path).ok_or_else(|| AnalyzeError::UnsupportedLanguage(path.to_string()))?;
    Ok(analyze_as_with(lang, path, text, includes, build))
}

/// Analyses `text` as `lang`.
pub fn analyze_as(lang: Lang, path: &str, text: &str, includes: &dyn IncludeResolver) -> Analysis {
    analyze_as_with(lang, path, text, includes, &BuildContext::default())
}

/// Analyses `text` as `lang` with the build's command-line macros.
pub fn analyze_as_with(
    lang: Lang,
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
) -> Analysis {
    analyze_parsed(path, text, &parse(lang, text, None), includes, build)
}

/// Analyses `text` from its parse (`parsed` must be [`parse`]'s result for
/// exactly this text, in the language to analyse it as). With
/// [`Parsed::edit`] and an incremental [`parse`], a caller that edits a text
/// repeatedly re-parses only what changed; the lowering and the detectors
/// still run over the whole file.
pub fn analyze_parsed(
    path: &str,
    text: &str,
    parsed: &Parsed,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
) -> Analysis {
    let lang = parsed.lang();
    let mut file = frontend::lower_parsed(parsed, path, text, includes, build);
    normalize::normalize(&mut file);
    let mut findings = detectors::run_all(&file, text);
    findings.sort_by_key(|f| (f.range.start_byte, f.code));
    Analysis {
        lang,
        findings,
        syntax_problems: file.syntax_problems,
    }
}
