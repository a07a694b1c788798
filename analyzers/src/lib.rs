//! gemmscope analyzers: parse C, CUDA/C++ and Python with tree-sitter, lower
//! into the kernel IR ([`ir`]), normalise it ([`normalize`]), and run the
//! idiom detectors ([`detectors`]) to produce [`Finding`]s.
//!
//! This crate does no I/O: the caller passes the text, and an
//! [`IncludeResolver`] for headers that a C file includes by relative path.

pub mod contraction;
pub mod detectors;
pub mod finding;
pub mod fixes;
pub mod frontend;
pub mod ir;
pub mod normalize;
pub mod openmp;
pub mod prefilter;
pub mod purpose;
pub mod sizes;

pub use finding::{
    Backend, Dim, Dims, Finding, FixAvailability, Idiom, Major, OperandLayout, Routine, RuleMeta,
    SizeSource,
};
pub use frontend::{parse, parse_ranges, LowerCache, Parsed, TextPoint, TreeEdit};
pub use ir::{Lang, Span, SyntaxProblem};
pub use sizes::{FileIndex, ProjectIndex};

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

/// What the caller knows about a file beyond its text: the macros defined
/// on the compiler's command line (`-DNAME`, `-DNAME=VALUE`), as read from
/// `compile_commands.json`; the project's call sites ([`ProjectIndex`]);
/// and the configuration's `[sizes]`. Include directories are the
/// [`IncludeResolver`]'s business.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildContext {
    /// `(name, value)`; `None` is `-DNAME` (defined as `1`).
    pub defines: Vec<(String, Option<String>)>,
    /// `-UNAME`: names undefined after the defines.
    pub undefines: Vec<String>,
    /// The project's functions and call sites (the caller builds it once
    /// over the files it reads; [`index`]). `None`: this file's own only.
    pub project: Option<std::sync::Arc<ProjectIndex>>,
    /// `[sizes.FUNCTION] NAME = VALUE` from the configuration: function →
    /// name → value.
    pub sizes: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
}

/// The result of analysing one file. Besides the findings it keeps, shared
/// and read-only, what their fixes are computed from ([`Analysis::fixes`]):
/// the lowered and normalised file, its parse, and each finding's origin
/// (its rule and, for the loop-nest rules, the nest its check found).
#[derive(Debug, Clone)]
pub struct Analysis {
    pub lang: Lang,
    pub findings: Vec<Finding>,
    /// Syntax errors the parser recovered from; findings still come from the
    /// parts that parsed.
    pub syntax_problems: Vec<SyntaxProblem>,
    kept: std::sync::Arc<Kept>,
}

/// What an [`Analysis`] keeps for the fixes.
struct Kept {
    file: ir::File,
    parsed: Parsed,
    origins: Vec<detectors::Origin>,
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept")
            .field("functions", &self.file.functions.len())
            .field("parsed", &self.parsed)
            .field("origins", &self.origins)
            .finish()
    }
}

impl Analysis {
    /// The analysis of a text that was not parsed (the [`prefilter`] showed
    /// it cannot hold a finding): no findings, nothing kept.
    pub fn nothing(lang: Lang) -> Analysis {
        Analysis {
            lang,
            findings: Vec::new(),
            syntax_problems: Vec::new(),
            kept: std::sync::Arc::new(Kept {
                file: ir::File {
                    lang,
                    functions: Vec::new(),
                    consts: Default::default(),
                    const_origins: Default::default(),
                    type_aliases: Default::default(),
                    imports: Vec::new(),
                    syntax_problems: Vec::new(),
                },
                parsed: Parsed::unparsed(lang),
                origins: Vec::new(),
            }),
        }
    }

    /// The fixes of `findings[index]`, computed now from what the analysis
    /// kept (nothing is parsed, lowered or analysed again). `text` must be
    /// the text that was analysed. Findings may have been filtered or
    /// reordered since: each is matched to its origin by code and range.
    pub fn fixes(&self, index: usize, text: &str) -> fixes::FixResult {
        let finding = self
            .findings
            .get(index)
            .ok_or_else(|| fixes::NoFix::new(format!("there is no finding {index}")))?;
        let origin = self
            .kept
            .origins
            .iter()
            .find(|o| o.is_of(finding))
            .ok_or_else(|| fixes::NoFix::new("the finding is not one of this analysis"))?;
        let file = &self.kept.file;
        let nest = origin
            .nest
            .clone()
            .map(|facts| contraction::Nest::attach(file, facts));
        let cx = fixes::FixContext::new(file, text, &self.kept.parsed, nest);
        origin.rule.fix(&cx, finding)
    }
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
    let lang = Lang::of_file(path, text)
        .ok_or_else(|| AnalyzeError::UnsupportedLanguage(path.to_string()))?;
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
    let lang = Lang::of_file(path, text)
        .ok_or_else(|| AnalyzeError::UnsupportedLanguage(path.to_string()))?;
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
    analyze_parsed_reusing(path, text, parsed, includes, build, None).0
}

/// [`analyze_parsed`] for a text that is edited and analysed again and
/// again (the language server): the functions lowered for an earlier text
/// are re-used from `cache` where their lowering cannot have changed
/// ([`frontend::reuse`]; the findings are the same as [`analyze_parsed`]'s),
/// and the file's entry for a [`ProjectIndex`] comes from the same lowering
/// (what [`index`] gives for this text with these includes).
pub fn analyze_parsed_reusing(
    path: &str,
    text: &str,
    parsed: &Parsed,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
    cache: Option<&mut frontend::LowerCache>,
) -> (Analysis, Option<FileIndex>) {
    let lang = parsed.lang();
    let reusing = cache.is_some();
    let mut file = frontend::lower_parsed_reusing(parsed, path, text, includes, build, cache);
    let entry = reusing.then(|| sizes::index_file(&file, text));
    normalize::normalize(&mut file);
    let mut reported = detectors::run_all(&file, text);
    reported.sort_by_key(|r| (r.finding.range.start_byte, r.finding.code));
    let (mut findings, mut origins): (Vec<Finding>, Vec<_>) =
        reported.into_iter().map(|r| (r.finding, r.origin)).unzip();
    let keep = detectors::torch_fp32_matmul_cuda::project_scope(
        path,
        &mut findings,
        build.project.as_deref(),
    );
    if keep.contains(&false) {
        let mut k = keep.iter();
        findings.retain(|_| *k.next().unwrap_or(&true));
        let mut k = keep.iter();
        origins.retain(|_| *k.next().unwrap_or(&true));
    }
    sizes::infer(&mut findings, &file, text, path, build);
    purpose::mark_references(&mut findings, &file);
    purpose::mark_fallbacks(&mut findings, &file);
    openmp::mark_parallel(&mut findings, lang, text);
    let analysis = Analysis {
        lang,
        findings,
        syntax_problems: file.syntax_problems.clone(),
        kept: std::sync::Arc::new(Kept {
            file,
            parsed: parsed.clone(),
            origins,
        }),
    };
    (analysis, entry)
}

/// The functions and call sites of one file, for a [`ProjectIndex`]
/// (parsed and lowered, not analysed); `None` for a path whose language is
/// not known.
pub fn index(
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
) -> Option<FileIndex> {
    let lang = Lang::of_file(path, text)?;
    let parsed = parse(lang, text, None);
    let file = frontend::lower_parsed(&parsed, path, text, includes, build);
    Some(sizes::index_file(&file, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_analysis_is_send_sync_clone_and_debug() {
        fn ok<T: Send + Sync + Clone + std::fmt::Debug>() {}
        ok::<Analysis>();
    }
}
