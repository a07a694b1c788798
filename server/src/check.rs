//! `gemmscope check`: walks paths (honouring .gitignore, in parallel),
//! finds each file's configuration and build flags, runs the analyzers on
//! every core, and streams one [`FileReport`] per file, in path order, to a
//! presenter. Only the excerpt lines a presenter needs are kept, never
//! whole texts, so memory stays bounded on large trees. All file I/O of the
//! CLI happens here; the analyzers only see text.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gemmscope_analyzers::{
    analyze_with, BuildContext, Finding, IncludeResolver, Lang, SyntaxProblem,
};

use crate::baseline::{self, Baseline};
use crate::compdb::{self, Databases, ProjectIncludes};
use crate::config::{Configs, Level, Overrides, Settings};
use crate::speedup::{self, BenchMode, Speedup, SpeedupSource};
use crate::suppress;

/// Files larger than this are skipped with a warning (generated code, data).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Headers larger than this are not read for macros.
const MAX_INCLUDE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads `#include "x.h"` relative to the including file's folder.
pub struct FsIncludes;

impl IncludeResolver for FsIncludes {
    fn resolve(&self, from_path: &str, include: &str) -> Option<String> {
        let dir = Path::new(from_path).parent()?;
        let p = dir.join(include);
        let meta = std::fs::metadata(&p).ok()?;
        if !meta.is_file() || meta.len() > MAX_INCLUDE_BYTES {
            return None;
        }
        std::fs::read(&p)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }
}

/// A problem with one input path.
#[derive(Clone, Debug)]
pub struct PathMessage {
    pub path: String,
    pub message: String,
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

/// One finding with everything the run decided about it.
#[derive(Clone, Debug)]
pub struct Reported {
    pub finding: Finding,
    pub level: Level,
    /// [`baseline::fingerprint`].
    pub fingerprint: String,
    pub suppressed: Option<Suppressed>,
    pub baseline: BaselineState,
    /// The best speed-up on offer, where the speed-up source has one.
    pub estimate: Option<Speedup>,
    /// `--fail-on-speedup` for this file, if set.
    pub speedup_gate: Option<f64>,
    /// Whether this finding fails the run.
    pub fails: bool,
}

impl Reported {
    /// Shown as a finding (not suppressed, not already in the baseline).
    pub fn is_active(&self) -> bool {
        self.suppressed.is_none() && self.baseline != BaselineState::Unchanged
    }
}

/// The analysis of one file.
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
    /// The configuration file that applied.
    pub config: Option<PathBuf>,
    /// The compile_commands.json flags the file was analysed with (`--fix`
    /// re-analyses with the same ones: `-D` can change sizes and types).
    pub flags: Option<Arc<compdb::Flags>>,
}

impl FileReport {
    /// The text of 1-based line `n` (empty where it was not kept).
    pub fn line(&self, n: usize) -> &str {
        self.lines.get(&n).map(String::as_str).unwrap_or("")
    }
}

/// Totals for the whole run.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub files_checked: usize,
    /// Active findings per code.
    pub by_code: BTreeMap<String, usize>,
    pub active: usize,
    pub failing: usize,
    pub suppressed: usize,
    pub baselined: usize,
    /// Active findings under a speed-up gate that have no estimate.
    pub no_estimate: usize,
    /// The speed-up gates in force (usually one).
    pub speedup_gates: Vec<f64>,
    pub bench_modes: Vec<BenchMode>,
    pub syntax_problems: usize,
    pub errors: Vec<PathMessage>,
    pub warnings: Vec<PathMessage>,
    /// `--write-baseline`: (file, findings written).
    pub baseline_written: Option<(PathBuf, usize)>,
    /// The baselines in use.
    pub baselines: Vec<PathBuf>,
}

impl Summary {
    /// 0 nothing fails, 1 some finding fails, 2 an error.
    pub fn exit_code(&self) -> u8 {
        if !self.errors.is_empty() {
            2
        } else if self.failing > 0 {
            1
        } else {
            0
        }
    }
}

/// Receives the run's results in path order.
pub trait Presenter {
    fn file(&mut self, file: &FileReport) -> std::io::Result<()>;
    fn finish(&mut self, summary: &Summary) -> std::io::Result<()>;
}

/// Makes the speed-up source for a bench mode.
pub type SourceFactory = fn(BenchMode) -> Box<dyn SpeedupSource>;

/// What to check and how.
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    pub overrides: Overrides,
    /// `--write-baseline FILE`.
    pub write_baseline: Option<PathBuf>,
    /// Where estimates come from ([`speedup::source_for`] by default).
    pub sources: SourceFactory,
}

impl CheckOptions {
    pub fn new(paths: Vec<PathBuf>) -> CheckOptions {
        CheckOptions {
            paths,
            overrides: Overrides::default(),
            write_baseline: None,
            sources: speedup::source_for,
        }
    }
}

/// Expands the command-line paths into the files to analyse, walking
/// folders on every core.
fn collect(
    paths: &[PathBuf],
    errors: &mut Vec<PathMessage>,
    warnings: &mut Vec<PathMessage>,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        let shown = p.display().to_string();
        match std::fs::metadata(p) {
            Err(e) => errors.push(PathMessage {
                path: shown,
                message: format!("cannot read: {e}"),
            }),
            Ok(m) if m.is_file() => {
                if Lang::from_path(&shown).is_some() {
                    files.push(p.clone());
                } else {
                    warnings.push(PathMessage {
                        path: shown,
                        message: "skipped: not a C, CUDA/C++ or Python file".into(),
                    });
                }
            }
            Ok(_) => {
                let found: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
                let errs: Mutex<Vec<PathMessage>> = Mutex::new(Vec::new());
                let threads = std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1);
                ignore::WalkBuilder::new(p)
                    .require_git(false)
                    .hidden(true)
                    .threads(threads)
                    .build_parallel()
                    .run(|| {
                        Box::new(|entry| {
                            match entry {
                                Ok(e) => {
                                    let is_file = e.file_type().is_some_and(|t| t.is_file());
                                    if is_file
                                        && Lang::from_path(&e.path().to_string_lossy()).is_some()
                                    {
                                        lock(&found).push(e.into_path());
                                    }
                                }
                                Err(e) => lock(&errs).push(PathMessage {
                                    path: shown.clone(),
                                    message: format!("walking: {e}"),
                                }),
                            }
                            ignore::WalkState::Continue
                        })
                    });
                files.extend(found.into_inner().unwrap_or_else(|e| e.into_inner()));
                errors.extend(errs.into_inner().unwrap_or_else(|e| e.into_inner()));
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

/// `p` relative to the current folder where it is under it (for messages).
fn shown(p: &Path) -> PathBuf {
    let cwd = std::env::current_dir().ok();
    match cwd.as_deref().and_then(|c| p.strip_prefix(c).ok()) {
        Some(rel) if p.is_absolute() => rel.to_path_buf(),
        _ => p.to_path_buf(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One file to analyse, with what applies to it.
struct Job {
    path: PathBuf,
    settings: Arc<Settings>,
    flags: Option<Arc<compdb::Flags>>,
}

enum One {
    Done(FileReport, Vec<String>),
    Error(PathMessage),
    Skipped(PathMessage),
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
    if want.is_empty() {
        return out;
    }
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

fn check_one(job: &Job, sources: &HashMap<BenchMode, Box<dyn SpeedupSource>>) -> One {
    let path = &job.path;
    let shown = path.display().to_string();
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            return One::Skipped(PathMessage {
                path: shown,
                message: format!(
                    "skipped: {} bytes is over the {} MiB limit",
                    m.len(),
                    MAX_FILE_BYTES >> 20
                ),
            })
        }
        _ => {}
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return One::Error(PathMessage {
                path: shown,
                message: format!("cannot read: {e}"),
            })
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let empty = BuildContext::default();
    let build = job.flags.as_ref().map(|f| &f.build).unwrap_or(&empty);
    let includes = ProjectIncludes {
        flags: job.flags.as_deref(),
    };
    // A bug in a detector must not take the whole run down: report it for
    // this file and go on with the others.
    let result = std::panic::catch_unwind(|| analyze_with(&shown, &text, &includes, build));
    let a = match result {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            return One::Skipped(PathMessage {
                path: shown,
                message: e.to_string(),
            })
        }
        Err(_) => return One::Error(PathMessage {
            path: shown,
            message: "internal error while analysing this file (a bug in gemmscope; please report it with the file)".into(),
        }),
    };
    let s = &job.settings;
    let (sups, problems) = suppress::parse(&text, a.lang);
    let source = sources.get(&s.bench);
    let findings: Vec<Reported> = a
        .findings
        .into_iter()
        .filter(|f| s.selected(f.code))
        .map(|f| {
            let suppressed =
                suppress::find(&sups, f.code, f.range.start_line).map(|s| Suppressed {
                    line: s.line,
                    reason: s.reason.clone(),
                });
            let estimate = match (&suppressed, source) {
                (None, Some(src)) => {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| src.best_speedup(&f)))
                        .ok()
                        .flatten()
                }
                _ => None,
            };
            Reported {
                level: s.level(f.code),
                fingerprint: baseline::fingerprint(&f, &text),
                suppressed,
                baseline: BaselineState::None,
                estimate,
                speedup_gate: s.fail_on_speedup,
                fails: false,
                finding: f,
            }
        })
        .collect();
    let lines = keep_lines(&text, &findings);
    One::Done(
        FileReport {
            path: shown,
            lines,
            findings,
            syntax_problems: a.syntax_problems,
            config: s.config_path.clone(),
            flags: job.flags.clone(),
        },
        problems,
    )
}

/// Whether a finding fails the run under `settings`.
fn decide(r: &mut Reported, fail_on: Level) {
    r.fails = r.is_active()
        && r.level >= fail_on
        && match r.speedup_gate {
            None => true,
            Some(x) => r.estimate.as_ref().is_some_and(|e| e.factor >= x),
        };
}

/// Runs the check, streaming each file's report to `out` in path order.
/// `Err` is a fatal setup error (a bad configuration file, an unreadable
/// `--baseline` or `--compile-commands`): nothing was checked.
pub fn run(opts: &CheckOptions, out: &mut dyn Presenter) -> Result<Summary, String> {
    let mut summary = Summary::default();
    let mut configs = Configs::new(opts.overrides.clone())?;
    let mut dbs = Databases::new(opts.overrides.compile_commands.as_deref())?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let files = collect(&opts.paths, &mut errors, &mut warnings);

    // Settings per configuration file; configuration errors are fatal and
    // all reported together.
    let mut settings_by_config: HashMap<Option<PathBuf>, Arc<Settings>> = HashMap::new();
    let mut config_errors: Vec<String> = Vec::new();
    let mut db_warnings: Vec<String> = Vec::new();
    let mut jobs = Vec::with_capacity(files.len());
    for path in files {
        let loaded = match configs.for_file(&path) {
            Ok(l) => l,
            Err(e) => {
                if !config_errors.contains(&e) {
                    config_errors.push(e);
                }
                continue;
            }
        };
        if let Some(l) = &loaded {
            if Configs::excluded(l, &path) {
                continue;
            }
        }
        let key = loaded.as_ref().map(|l| l.path.clone());
        let settings = settings_by_config
            .entry(key)
            .or_insert_with(|| Arc::new(configs.settings(loaded.as_deref())))
            .clone();
        let is_c = matches!(
            Lang::from_path(&path.to_string_lossy()),
            Some(Lang::C | Lang::Cuda)
        );
        let flags = if is_c {
            dbs.flags_for(
                &path,
                settings.compile_commands.as_deref(),
                &mut db_warnings,
            )
        } else {
            None
        };
        jobs.push(Job {
            path,
            settings,
            flags,
        });
    }
    if !config_errors.is_empty() {
        return Err(config_errors.join("\n"));
    }
    for w in db_warnings {
        warnings.push(PathMessage {
            path: "compile_commands.json".into(),
            message: w,
        });
    }

    // Baselines: one per distinct file named by a flag or a configuration.
    let mut baselines: HashMap<PathBuf, Baseline> = HashMap::new();
    for s in settings_by_config.values() {
        if let Some(b) = &s.baseline {
            if !baselines.contains_key(b) {
                baselines.insert(b.clone(), Baseline::load(b)?);
            }
        }
    }
    summary.baselines = {
        let mut v: Vec<PathBuf> = baselines.keys().map(|p| shown(p)).collect();
        v.sort();
        v
    };
    let mut writer = opts.write_baseline.as_deref().map(baseline::Writer::new);
    {
        let mut gates: Vec<f64> = settings_by_config
            .values()
            .filter_map(|s| s.fail_on_speedup)
            .collect();
        gates.sort_by(f64::total_cmp);
        gates.dedup();
        summary.speedup_gates = gates;
        let mut modes: Vec<BenchMode> = settings_by_config.values().map(|s| s.bench).collect();
        modes.sort_by_key(|m| m.as_str());
        modes.dedup();
        summary.bench_modes = modes;
    }
    let sources: HashMap<BenchMode, Box<dyn SpeedupSource>> = summary
        .bench_modes
        .iter()
        .map(|m| (*m, (opts.sources)(*m)))
        .collect();

    // Analyse on every core; results come back through a bounded channel
    // and are passed on in path order.
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(jobs.len().max(1));
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, One)>(workers * 4);
    let mut write_error: Option<std::io::Error> = None;
    // Quiet the default panic message for panics we catch per file.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    std::thread::scope(|sc| {
        for _ in 0..workers {
            let tx = tx.clone();
            let jobs = &jobs;
            let next = &next;
            let sources = &sources;
            sc.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let one = check_one(job, sources);
                if tx.send((i, one)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, One> = BTreeMap::new();
        let mut want = 0;
        for (i, one) in rx.iter() {
            pending.insert(i, one);
            while let Some(one) = pending.remove(&want) {
                let job = &jobs[want];
                want += 1;
                match one {
                    One::Error(e) => errors.push(e),
                    One::Skipped(w) => warnings.push(w),
                    One::Done(mut report, problems) => {
                        for p in problems {
                            warnings.push(PathMessage {
                                path: report.path.clone(),
                                message: format!("suppression comment: {p}"),
                            });
                        }
                        let s = &job.settings;
                        let mut base = s.baseline.as_ref().and_then(|b| baselines.get_mut(b));
                        for r in &mut report.findings {
                            if r.suppressed.is_some() {
                                summary.suppressed += 1;
                                continue;
                            }
                            if let Some(w) = &mut writer {
                                w.add(&job.path, &r.finding, &r.fingerprint);
                            }
                            if let Some(b) = &mut base {
                                r.baseline = if b.take(&job.path, r.finding.code, &r.fingerprint) {
                                    summary.baselined += 1;
                                    BaselineState::Unchanged
                                } else {
                                    BaselineState::New
                                };
                            }
                            decide(r, s.fail_on);
                            if r.is_active() {
                                summary.active += 1;
                                *summary
                                    .by_code
                                    .entry(r.finding.code.to_string())
                                    .or_default() += 1;
                                if r.speedup_gate.is_some() && r.estimate.is_none() {
                                    summary.no_estimate += 1;
                                }
                            }
                            if r.fails {
                                summary.failing += 1;
                            }
                        }
                        summary.files_checked += 1;
                        summary.syntax_problems += report.syntax_problems.len();
                        if write_error.is_none() {
                            if let Err(e) = out.file(&report) {
                                write_error = Some(e);
                            }
                        }
                    }
                }
            }
        }
    });
    std::panic::set_hook(hook);
    if let Some(w) = writer {
        match w.write() {
            Ok(()) => summary.baseline_written = Some((w.path.clone(), w.len())),
            Err(e) => errors.push(PathMessage {
                path: w.path.display().to_string(),
                message: e,
            }),
        }
    }
    summary.errors = errors;
    summary.warnings = warnings;
    if write_error.is_none() {
        if let Err(e) = out.finish(&summary) {
            write_error = Some(e);
        }
    }
    if let Some(e) = write_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            summary.errors.push(PathMessage {
                path: "<stdout>".into(),
                message: format!("writing output: {e}"),
            });
        }
    }
    Ok(summary)
}

/// Everything a run found, collected (for tests and the library).
pub struct Outcome {
    pub files: Vec<FileReport>,
    pub summary: Summary,
}

struct Collect(Vec<FileReport>);

impl Presenter for Collect {
    fn file(&mut self, file: &FileReport) -> std::io::Result<()> {
        self.0.push(file.clone());
        Ok(())
    }
    fn finish(&mut self, _summary: &Summary) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the check and collects every report.
pub fn collect_all(opts: &CheckOptions) -> Result<Outcome, String> {
    let mut c = Collect(Vec::new());
    let summary = run(opts, &mut c)?;
    Ok(Outcome {
        files: c.0,
        summary,
    })
}

/// Checks every file under `paths` with the configuration files found and
/// no flags.
pub fn check_paths(paths: &[PathBuf]) -> Result<Outcome, String> {
    collect_all(&CheckOptions::new(paths.to_vec()))
}
