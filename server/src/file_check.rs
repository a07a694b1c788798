//! The one per-file check. [`check_text`] takes a file's text and what
//! applies to it (its settings from gemmscope.toml / `[tool.gemmscope]`
//! and the flags, its compile_commands.json entry, whether its headers can
//! be read from disk) and does every per-file step, in this order:
//! prefilter (skip the rest of the analysis where the text cannot hold a
//! finding: [`gemmscope_analyzers::prefilter`]; its syntax problems are then
//! not looked for), analyse (parse — incrementally from an old tree where
//! one is given —, lower, normalise, detect) → select/ignore → levels → inline
//! suppressions → fingerprints → advice (estimates; a finding whose best
//! option is not [`Settings::min_speedup`] times faster becomes a note).
//! `gemmscope check` (per file read, on every core), `check --fix` (per
//! round), the language server (per edit) and the fuzz targets all call
//! it; nothing else runs a step of it. What is not per file — walking,
//! baselines, exit codes — stays with the callers.
//!
//! A bug in the analyzers or the estimator never escapes: the file is
//! reported as not checked, with the panic's message.

use std::collections::BTreeMap;
use std::sync::Arc;

use gemmscope_analyzers::{
    analyze_parsed, analyze_parsed_reusing, parse, parse_ranges, prefilter, Analysis, BuildContext,
    FileIndex, Finding, IncludeResolver, Lang, NoIncludes, Parsed, ProjectIndex, SyntaxProblem,
};

use crate::advice::{Advice, Advisor};
use crate::baseline;
use crate::compdb::{Flags, ProjectIncludes};
use crate::config::{Level, Settings};
use crate::panic_guard;
use crate::suppress;

/// A file's bytes as text: borrowed where they are UTF-8 (the validation
/// is several times faster than `String::from_utf8_lossy`'s, which every
/// file read would otherwise pay), invalid sequences replaced otherwise.
pub fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// How a finding stands against the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaselineState {
    /// No baseline in use.
    None,
    /// Not in the baseline: it counts.
    New,
    /// In the baseline: reported, but does not fail the run.
    Unchanged,
}

impl BaselineState {
    /// SARIF's `baselineState`.
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            BaselineState::None => None,
            BaselineState::New => Some("new"),
            BaselineState::Unchanged => Some("unchanged"),
        }
    }
}

/// A suppression comment that applies to a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppressed {
    pub line: usize,
    pub reason: Option<String>,
}

/// One finding with everything decided about it.
#[derive(Clone, Debug)]
pub struct Reported {
    pub finding: Finding,
    /// Its position in the [`Analysis`]'s findings (for its fixes).
    pub index: usize,
    pub level: Level,
    /// [`baseline::fingerprint`].
    pub fingerprint: String,
    pub suppressed: Option<Suppressed>,
    pub baseline: BaselineState,
    /// What is said about it (empty for suppressed findings).
    pub advice: Advice,
    /// `--fail-on-speedup` for this file, if set.
    pub speedup_gate: Option<f64>,
    /// Whether this finding fails the run (decided by `check::run`).
    pub fails: bool,
}

impl Reported {
    /// Shown as a finding (not suppressed, not already in the baseline).
    pub fn is_active(&self) -> bool {
        self.suppressed.is_none() && self.baseline != BaselineState::Unchanged
    }
}

/// The check of one file.
#[derive(Clone, Debug)]
pub struct FileReport {
    /// The path as given or found by the walk (relative if the input was).
    pub path: String,
    /// The lines the findings start and end on (and their key statements'),
    /// by 1-based number, without newlines: what excerpts need.
    pub lines: BTreeMap<usize, String>,
    /// Selected findings, suppressed ones included, in source order.
    pub findings: Vec<Reported>,
    pub syntax_problems: Vec<SyntaxProblem>,
    /// Malformed suppression comments (`line N: ...`).
    pub comment_problems: Vec<String>,
    /// The settings it was checked under (the configuration file that
    /// applied is `settings.config_path`).
    pub settings: Arc<Settings>,
    /// The compile_commands.json flags the file was analysed with (`--fix`
    /// re-analyses with the same ones: `-D` can change sizes and types).
    pub flags: Option<Arc<Flags>>,
    /// The project index it was checked with, where `check` built one
    /// (`--fix` re-analyses with it: call-site sizes and GS602's answer
    /// come from other files).
    pub project: Option<Arc<ProjectIndex>>,
}

impl FileReport {
    /// The report of a file that was not analysed: no findings.
    pub fn empty(path: &str, settings: Arc<Settings>) -> FileReport {
        FileReport {
            path: path.to_string(),
            lines: BTreeMap::new(),
            findings: Vec::new(),
            syntax_problems: Vec::new(),
            comment_problems: Vec::new(),
            settings,
            flags: None,
            project: None,
        }
    }

    /// The text of 1-based line `n` (empty where it was not kept).
    pub fn line(&self, n: usize) -> &str {
        self.lines.get(&n).map(String::as_str).unwrap_or("")
    }

    /// The findings shown (not suppressed, not in the baseline).
    pub fn active(&self) -> impl Iterator<Item = &Reported> {
        self.findings.iter().filter(|r| r.is_active())
    }
}

/// One file's text and what it is analysed with.
pub struct Input<'a> {
    /// The path shown in messages (and whose extension picks the language).
    pub path: &'a str,
    pub text: &'a str,
    /// Its compile_commands.json entry (C and CUDA on disk).
    pub flags: Option<Arc<Flags>>,
    /// Whether `#include "x.h"` is read from disk next to the file (false
    /// for unsaved editor buffers and fuzz inputs).
    pub from_disk: bool,
    /// The tree of an earlier text with every edit since applied to it, to
    /// re-parse incrementally (the language server).
    pub old_tree: Option<Parsed>,
    /// The project's call sites (`check`: built once per run over the files
    /// it walks, [`project_index`]; the language server: its workspace),
    /// from which a loop bound that is a parameter gets its size.
    pub project: Option<Arc<ProjectIndex>>,
}

impl<'a> Input<'a> {
    /// A file read from disk, parsed from scratch.
    pub fn on_disk(path: &'a str, text: &'a str, flags: Option<Arc<Flags>>) -> Input<'a> {
        Input {
            path,
            text,
            flags,
            from_disk: true,
            old_tree: None,
            project: None,
        }
    }
}

/// A checked file: the report, and the analysis it came from (its fixes
/// are computed from it on demand) with the tree for the next edit.
pub struct Checked {
    pub report: FileReport,
    pub analysis: Analysis,
    pub tree: Parsed,
    /// With [`check_text_reusing`], for a file from disk whose whole text
    /// was lowered: its project-index entry from that same lowering (what
    /// [`index_text`] gives for it, without its second parse). `None`:
    /// not known here (ask [`index_text`]).
    pub index: Option<Option<FileIndex>>,
}

/// What one document keeps between its checks (the language server: one
/// per open document): the lowered functions of the previous text, so that
/// an edit re-lowers only the functions it changed. The check's result is
/// the same with or without it (`server/tests/lsp_edit_agree.rs`).
#[derive(Debug, Default)]
pub struct Reuse {
    lowered: gemmscope_analyzers::LowerCache,
}

impl Reuse {
    /// Functions re-used and lowered anew by the latest check.
    pub fn counts(&self) -> (usize, usize) {
        (self.lowered.reused, self.lowered.lowered)
    }
}

/// Why a file was not checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotChecked {
    /// Not a C, CUDA/C++ or Python file.
    Unsupported(String),
    /// A bug in gemmscope (the panic's message).
    Internal(String),
}

impl std::fmt::Display for NotChecked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotChecked::Unsupported(p) => write!(
                f,
                "{p}: not a C, CUDA/C++ or Python file (known extensions: .c .h .cu .cuh .cc .cpp .cxx .hpp .py)"
            ),
            NotChecked::Internal(why) => write!(
                f,
                "internal error while analysing this file ({why}; a bug in gemmscope: please report it with the file)"
            ),
        }
    }
}

/// Checks one file. `advisor`: `None` leaves every finding's advice empty
/// (the language server advises at publish time, with [`advise`], so that
/// measurements that arrive later are shown without re-analysing).
pub fn check_text(
    input: Input<'_>,
    settings: &Arc<Settings>,
    advisor: Option<&Advisor>,
) -> Result<Checked, NotChecked> {
    check_text_reusing(input, settings, advisor, None)
}

/// [`check_text`] with what the document kept from its previous check
/// ([`Reuse`], updated here): the same result, and [`Checked::index`].
pub fn check_text_reusing(
    input: Input<'_>,
    settings: &Arc<Settings>,
    advisor: Option<&Advisor>,
    reuse: Option<&mut Reuse>,
) -> Result<Checked, NotChecked> {
    let Some(lang) = Lang::of_file(input.path, input.text) else {
        return Err(NotChecked::Unsupported(input.path.to_string()));
    };
    let Input {
        path,
        text,
        flags,
        from_disk,
        old_tree,
        project,
    } = input;
    let reusing = reuse.is_some();
    let (analysis, tree, index) = panic_guard::catch(|| {
        let disk = ProjectIncludes {
            flags: flags.as_deref(),
        };
        let includes: &dyn IncludeResolver = if from_disk { &disk } else { &NoIncludes };
        let mut build = flags
            .as_ref()
            .map_or_else(BuildContext::default, |f| f.build.clone());
        build.project = project.clone();
        build.sizes = settings.sizes.clone();
        let build = &build;
        if settings.prefilter && !prefilter::may_find(lang, path, text, includes, build) {
            return (Analysis::nothing(lang), Parsed::unparsed(lang), None);
        }
        // A Python file from disk: only its candidate functions are parsed
        // (the rest blanked, offsets kept); no tree is kept of that text.
        let part = (settings.prefilter && from_disk && old_tree.is_none() && lang == Lang::Python)
            .then(|| prefilter::python_candidates(text))
            .flatten();
        if let Some(part) = part {
            // The blanked lines are not even lexed.
            let tree = parse_ranges(lang, &part.text, &part.kept);
            let analysis = analyze_parsed(path, &part.text, &tree, includes, build);
            // The sizes of a finding may come from call sites in the code
            // the part left out: a file with findings is analysed whole.
            if analysis.findings.is_empty() {
                return (analysis, Parsed::unparsed(lang), None);
            }
        }
        let tree = parse(lang, text, old_tree.as_ref());
        let cache = reuse.map(|r| &mut r.lowered);
        let (analysis, entry) = analyze_parsed_reusing(path, text, &tree, includes, build, cache);
        // `index_text` reads headers from disk and has no entry for a text
        // without a call: the same here, or not said.
        let index = (reusing && from_disk).then(|| entry.filter(|_| text.contains('(')));
        (analysis, tree, index)
    })
    .map_err(NotChecked::Internal)?;
    let (sups, comment_problems) = suppress::parse(text, lang);
    let findings: Vec<Reported> = analysis
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| settings.selected(f.code))
        .map(|(index, f)| Reported {
            index,
            level: purpose_level(settings.level(f.code), f),
            fingerprint: baseline::fingerprint(f, text),
            suppressed: suppress::find(&sups, f.code, f.range.start_line).map(|s| Suppressed {
                line: s.line,
                reason: s.reason.clone(),
            }),
            baseline: BaselineState::None,
            advice: Advice::default(),
            speedup_gate: settings.fail_on_speedup,
            fails: false,
            finding: f.clone(),
        })
        .collect();
    let mut report = FileReport {
        path: path.to_string(),
        lines: keep_lines(text, &findings),
        findings,
        syntax_problems: analysis.syntax_problems.clone(),
        comment_problems,
        settings: settings.clone(),
        flags,
        project: project.clone(),
    };
    if let Some(a) = advisor {
        advise(&mut report, settings, a).map_err(NotChecked::Internal)?;
    }
    Ok(Checked {
        report,
        analysis,
        tree,
        index,
    })
}

/// The functions and call sites of one file for the project index
/// ([`ProjectIndex`]): parsed and lowered with its compile_commands.json
/// flags and headers, as [`check_text`] would; `None` for a file that is not
/// C, CUDA/C++ or Python, cannot hold a call, or panics the front end.
/// With `wanted` (`check`: the functions whose sizes are sought), the file
/// is first lowered without its headers, and again with them only where a
/// call to one of those has an argument that is not constant without them.
pub fn index_text(
    path: &str,
    text: &str,
    flags: Option<&Flags>,
    wanted: Option<&std::collections::BTreeSet<String>>,
) -> Option<FileIndex> {
    Lang::from_path(path)?;
    // A file without a call in it adds nothing to the index.
    if !text.contains('(') {
        return None;
    }
    panic_guard::catch(|| {
        let empty = BuildContext::default();
        let build = flags.map_or(&empty, |f| &f.build);
        if let Some(wanted) = wanted {
            let bare = gemmscope_analyzers::index(path, text, &NoIncludes, build)?;
            let needs_headers = bare.calls.iter().any(|c| {
                wanted.contains(&c.callee)
                    && c.args
                        .iter()
                        .chain(c.kwargs.iter().map(|(_, a)| a))
                        .any(|a| matches!(a, gemmscope_analyzers::sizes::Arg::Unknown))
            });
            if !needs_headers {
                return Some(bare);
            }
        }
        let disk = ProjectIncludes { flags };
        gemmscope_analyzers::index(path, text, &disk, build)
    })
    .ok()
    .flatten()
}

/// Gives every unsuppressed finding its advice and, by it, its level: a
/// finding whose estimate shows no option [`Settings::min_speedup`] times
/// faster than the code as written is a note (there is nothing to act on).
/// `Err`: the estimator panicked (its message).
pub fn advise(
    report: &mut FileReport,
    settings: &Settings,
    advisor: &Advisor,
) -> Result<(), String> {
    let built = report.flags.as_deref().map(crate::advice::Built::of);
    panic_guard::catch(|| {
        for r in &mut report.findings {
            if r.suppressed.is_some() {
                continue;
            }
            r.advice = advisor.advise_built(&r.finding, built.as_ref());
            r.level = level_with(settings.level(r.finding.code), &r.advice, settings);
            r.level = purpose_level(r.level, &r.finding);
        }
    })
}

/// A CPU reference that checks another implementation (`Finding::purpose`)
/// is a note at most; so is a kernel that already runs on the tensor cores
/// (GS109: the advice to use the library is not a measured speed-up).
fn purpose_level(level: Level, f: &Finding) -> Level {
    if f.purpose.is_some()
        || gemmscope_analyzers::detectors::cuda_wmma_matmul::already_on_tensor_cores(f.code)
    {
        Level::Note.min(level)
    } else {
        level
    }
}

/// The configured level, demoted to a note when the advice shows nothing
/// worth switching to.
pub fn level_with(configured: Level, advice: &Advice, settings: &Settings) -> Level {
    match advice.best_factor() {
        Some(x) if x < settings.min_speedup => Level::Note.min(configured),
        _ => configured,
    }
}

/// The lines that presenters show for these findings.
fn keep_lines(text: &str, findings: &[Reported]) -> BTreeMap<usize, String> {
    let mut want: Vec<usize> = findings
        .iter()
        .flat_map(|r| {
            let f = &r.finding;
            [
                f.range.start_line,
                f.range.end_line,
                f.key_range.start_line,
                f.key_range.end_line,
            ]
        })
        .collect();
    want.sort_unstable();
    want.dedup();
    let mut out = BTreeMap::new();
    let mut next = want.iter().peekable();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        while next.peek().is_some_and(|w| **w < n) {
            next.next();
        }
        match next.peek() {
            None => break,
            Some(w) if **w == n => {
                out.insert(n, line.to_string());
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Configs, Overrides};

    fn settings(o: Overrides) -> Arc<Settings> {
        Arc::new(
            Configs::new(Overrides {
                no_config: true,
                ..o
            })
            .unwrap()
            .settings(None),
        )
    }

    const GEMM: &str = "#define N 64\nfloat A[N][N], B[N][N], C[N][N];\nvoid f(void) {\n    // gemmscope: ignore[GS101] kept as the reference\n    for (int i = 0; i < N; i++)\n        for (int j = 0; j < N; j++)\n            for (int k = 0; k < N; k++)\n                C[i][j] += A[i][k] * B[k][j];\n}\nvoid g(void) {\n    for (int i = 0; i < N; i++)\n        for (int j = 0; j < N; j++)\n            for (int k = 0; k < N; k++)\n                C[i][j] += A[i][k] * B[k][j];\n}\n";

    #[test]
    fn one_pass_selects_levels_suppresses_and_fingerprints() {
        let s = settings(Overrides::default());
        let c = check_text(Input::on_disk("a.c", GEMM, None), &s, None).unwrap();
        let f = &c.report.findings;
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].suppressed.as_ref().map(|s| s.line), Some(4));
        assert_eq!(
            f[0].suppressed.as_ref().unwrap().reason.as_deref(),
            Some("kept as the reference")
        );
        assert!(f[1].suppressed.is_none());
        assert_ne!(f[0].fingerprint, f[1].fingerprint);
        assert_eq!(c.report.active().count(), 1);
        assert_eq!(c.analysis.findings.len(), 2);
        assert_eq!(f[1].index, 1);
        let s = settings(Overrides {
            ignore: Some(vec!["GS1".into()]),
            ..Overrides::default()
        });
        let c = check_text(Input::on_disk("a.c", GEMM, None), &s, None).unwrap();
        assert!(c.report.findings.is_empty());
        assert_eq!(c.analysis.findings.len(), 2, "the analysis keeps them all");
    }

    #[test]
    fn advice_comes_from_the_one_advisor_and_sets_the_level() {
        let s = settings(Overrides::default());
        let a = Advisor::for_bench(crate::advice::BenchMode::Off);
        let c = check_text(Input::on_disk("a.c", GEMM, None), &s, Some(&a)).unwrap();
        let active = &c.report.findings[1];
        assert!(active.advice.headline().is_some(), "{:?}", active.advice);
        assert!(active.advice.best.as_ref().unwrap().factor > 1.5);
        assert_eq!(active.level, Level::Warning);
        // Suppressed findings get no advice.
        assert_eq!(c.report.findings[0].advice, Advice::default());
        // Nothing is 1000× faster: every finding is a note.
        let s = settings(Overrides {
            min_speedup: Some(1e9),
            ..Overrides::default()
        });
        let c = check_text(Input::on_disk("a.c", GEMM, None), &s, Some(&a)).unwrap();
        assert_eq!(c.report.findings[1].level, Level::Note);
    }

    #[test]
    fn what_is_not_checked_says_why() {
        let s = settings(Overrides::default());
        let e = check_text(Input::on_disk("a.txt", "x", None), &s, None).err();
        assert_eq!(e, Some(NotChecked::Unsupported("a.txt".into())));
        let none = Advisor::none();
        let c = check_text(Input::on_disk("a.c", GEMM, None), &s, Some(&none)).unwrap();
        assert_eq!(c.report.findings[1].advice, Advice::default());
        assert_eq!(c.report.findings[1].level, Level::Warning);
    }
}
