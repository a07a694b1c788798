//! `gemmscope check`: walks paths (honouring .gitignore, in parallel),
//! finds each file's configuration and build flags, runs the per-file check
//! ([`crate::file_check::check_text`]) on every core, applies baselines and
//! gates, and streams one [`FileReport`] per file, in path order, to a
//! presenter. Only the excerpt lines a presenter needs are kept, never
//! whole texts, so memory stays bounded on large trees. All file I/O of the
//! CLI happens here; the analyzers only see text.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gemmscope_analyzers::Lang;

use crate::advice::{Advisor, BenchMode};
use crate::baseline::{self, Baseline};
use crate::compdb::{self, Databases};
use crate::config::{Configs, Level, Overrides, Settings};
use crate::file_check::{self, BaselineState, FileReport, Input, NotChecked, Reported};
use gemmscope_analyzers::ProjectIndex;

/// Files larger than this are skipped with a warning (generated code, data).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// A problem with one input path.
#[derive(Clone, Debug)]
pub struct PathMessage {
    pub path: String,
    pub message: String,
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

/// Makes the advisor for a bench mode.
pub type AdvisorFactory = fn(BenchMode) -> Advisor;

/// `--no-estimates`: findings only.
pub fn no_estimates(_mode: BenchMode) -> Advisor {
    Advisor::none()
}

/// What to check and how.
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    pub overrides: Overrides,
    /// `--write-baseline FILE`.
    pub write_baseline: Option<PathBuf>,
    /// Where advice comes from ([`Advisor::for_bench`] by default).
    pub advisors: AdvisorFactory,
}

impl CheckOptions {
    pub fn new(paths: Vec<PathBuf>) -> CheckOptions {
        CheckOptions {
            paths,
            overrides: Overrides::default(),
            write_baseline: None,
            advisors: Advisor::for_bench,
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
    Done(FileReport),
    Error(PathMessage),
    Skipped(PathMessage),
}

/// Reads one file and checks it.
fn check_one(
    job: &Job,
    advisors: &HashMap<BenchMode, Advisor>,
    project: Option<&Arc<ProjectIndex>>,
) -> One {
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
    let text = file_check::decode(&bytes);
    let mut input = Input::on_disk(&shown, &text, job.flags.clone());
    input.project = project.cloned();
    match file_check::check_text(input, &job.settings, advisors.get(&job.settings.bench)) {
        Ok(c) => One::Done(c.report),
        Err(e @ NotChecked::Unsupported(_)) => One::Skipped(PathMessage {
            path: shown,
            message: e.to_string(),
        }),
        Err(e @ NotChecked::Internal(_)) => One::Error(PathMessage {
            path: shown,
            message: e.to_string(),
        }),
    }
}

/// Whether a finding fails the run under `settings`.
fn decide(r: &mut Reported, fail_on: Level) {
    r.fails = r.is_active()
        && r.level >= fail_on
        && match r.speedup_gate {
            None => true,
            Some(x) => r.advice.best.as_ref().is_some_and(|e| e.factor >= x),
        };
}

/// What a run will check: the files with their settings and flags, and
/// what applies across files (baselines, gates, bench modes).
struct Plan {
    jobs: Vec<Job>,
    baselines: HashMap<PathBuf, Baseline>,
    summary: Summary,
}

/// Finds the files, their configurations and flags, and loads the
/// baselines. `Err`: a configuration or baseline error (all configuration
/// errors together).
fn plan(opts: &CheckOptions) -> Result<Plan, String> {
    let mut summary = Summary::default();
    let mut configs = Configs::new(opts.overrides.clone())?;
    let mut dbs = Databases::new(opts.overrides.compile_commands.as_deref())?;
    let files = collect(&opts.paths, &mut summary.errors, &mut summary.warnings);
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
        if loaded.as_ref().is_some_and(|l| Configs::excluded(l, &path)) {
            continue;
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
        let flags = is_c
            .then(|| {
                dbs.flags_for(
                    &path,
                    settings.compile_commands.as_deref(),
                    &mut db_warnings,
                )
            })
            .flatten();
        jobs.push(Job {
            path,
            settings,
            flags,
        });
    }
    if !config_errors.is_empty() {
        return Err(config_errors.join("\n"));
    }
    summary
        .warnings
        .extend(db_warnings.into_iter().map(|w| PathMessage {
            path: "compile_commands.json".into(),
            message: w,
        }));
    // Baselines: one per distinct file named by a flag or a configuration.
    let mut baselines: HashMap<PathBuf, Baseline> = HashMap::new();
    for s in settings_by_config.values() {
        if let Some(b) = &s.baseline {
            if !baselines.contains_key(b) {
                baselines.insert(b.clone(), Baseline::load(b)?);
            }
        }
    }
    summary.baselines = baselines.keys().map(|p| shown(p)).collect();
    summary.baselines.sort();
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
    Ok(Plan {
        jobs,
        baselines,
        summary,
    })
}

/// Checks every job on every core and hands the results to `each` in job
/// order (results come back through a bounded channel).
fn check_in_order(
    jobs: &[Job],
    advisors: &HashMap<BenchMode, Advisor>,
    mut each: impl FnMut(&Job, One),
) {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(jobs.len().max(1));
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, One)>(workers * 4);
    std::thread::scope(|sc| {
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            sc.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                if tx.send((i, check_one(job, advisors, None))).is_err() {
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
                each(&jobs[want], one);
                want += 1;
            }
        }
    });
}

/// Runs `f` on every index below `n` on every core; the `Some` results,
/// in no particular order.
fn parallel<T: Send>(n: usize, f: impl Fn(usize) -> Option<T> + Sync) -> Vec<(usize, T)> {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(n.max(1));
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (next, f) = (&next, &f);
                sc.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        if let Some(t) = f(i) {
                            out.push((i, t));
                        }
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .flatten()
            .collect()
    })
}

/// Whether a finding has a dim without a value (a call site elsewhere in
/// the project may give it one).
fn unresolved(r: &Reported) -> bool {
    let d = &r.finding.dims;
    [&d.m, &d.n, &d.k, &d.batch]
        .into_iter()
        .flatten()
        .any(|d| d.value.is_none())
}

/// The project index of a run, for the functions in `wanted` (those with a
/// finding whose size is unknown from its own file): the functions and call
/// sites ([`file_check::index_text`]) of every file whose text names one of
/// them, then of the files that name the callers passing their own
/// parameter on (wrappers, up to `sizes::MAX_WRAPPERS` rounds). A file that
/// names none of them cannot reach them, so it is not parsed: the index
/// costs little where few sizes are unknown (docs/sizes.md). Unreadable
/// and oversized files are left out (their check says why).
///
/// `modules` are Python modules with a GS602 finding (their names): the
/// modules that import them are indexed too, and those that import these,
/// for as many rounds (what GS602 asks the project: whether the program
/// that runs the matmul turns TF32 or autocast on).
fn project_index(
    jobs: &[Job],
    wanted: BTreeSet<String>,
    modules: BTreeSet<String>,
) -> ProjectIndex {
    let mut index = ProjectIndex::new();
    let mut done = vec![false; jobs.len()];
    let mut all = wanted.clone();
    let mut names = wanted;
    let mut mods = modules;
    let mut all_mods = mods.clone();
    for _ in 0..=gemmscope_analyzers::sizes::MAX_WRAPPERS {
        let found = parallel(jobs.len(), |i| {
            if done[i] {
                return None;
            }
            let job = &jobs[i];
            let small = std::fs::metadata(&job.path).is_ok_and(|m| m.len() <= MAX_FILE_BYTES);
            let bytes = small.then(|| std::fs::read(&job.path).ok()).flatten()?;
            let python = job.path.extension().is_some_and(|e| e == "py");
            // Most files name none of them: that is found on the bytes.
            let named = |n: &String| memchr::memmem::find(&bytes, n.as_bytes()).is_some();
            if !(names.iter().any(named) || python && mods.iter().any(named)) {
                return None;
            }
            let text = file_check::decode(&bytes);
            let reaches = names.iter().any(|n| calls_or_defines(&text, n))
                || (python && mods.iter().any(|m| imports_module(&text, m)));
            if !reaches {
                return None;
            }
            let shown = job.path.display().to_string();
            Some((
                shown.clone(),
                file_check::index_text(&shown, &text, job.flags.as_deref(), Some(&names)),
            ))
        });
        let mut importers = BTreeSet::new();
        for (i, (path, fi)) in found {
            done[i] = true;
            if let Some(fi) = fi {
                let imports_one = fi
                    .imports
                    .iter()
                    .any(|i| mods.contains(i.rsplit('.').next().unwrap_or(i)));
                if imports_one {
                    if let Some(stem) = jobs[i].path.file_stem().and_then(|s| s.to_str()) {
                        if !all_mods.contains(stem) {
                            importers.insert(stem.to_string());
                        }
                    }
                }
                index.insert(&path, fi);
            }
        }
        all_mods.extend(importers.iter().cloned());
        mods = importers;
        let callers: BTreeSet<String> = index
            .calls()
            .filter(|(_, c)| names.contains(&c.callee))
            .filter(|(_, c)| c.uses_params())
            .map(|(_, c)| c.caller.clone())
            .filter(|c| !all.contains(c))
            .collect();
        if callers.is_empty() && mods.is_empty() {
            break;
        }
        all.extend(callers.iter().cloned());
        names = callers;
    }
    index
}

/// Whether a Python `text` imports module `name` (`import name`,
/// `from name import`, `from .name import`, `from pkg.name import`): the
/// line scan of `sizes::python_imports`.
fn imports_module(text: &str, name: &str) -> bool {
    text.contains(name)
        && gemmscope_analyzers::sizes::python_imports(text)
            .iter()
            .any(|i| i.rsplit('.').next().unwrap_or(i) == name)
}

/// Whether `text` has `name` as a whole word followed by `(` or `<<<` (a
/// call, a launch or a definition), the only way a file can reach it.
fn calls_or_defines(text: &str, name: &str) -> bool {
    let b = text.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut from = 0;
    while let Some(off) = text[from..].find(name) {
        let at = from + off;
        let end = at + name.len();
        from = at + 1;
        if at > 0 && word(b[at - 1]) || b.get(end).is_some_and(|c| word(*c)) {
            continue;
        }
        let rest = text[end..].trim_start();
        if rest.starts_with('(') || rest.starts_with("<<<") {
            return true;
        }
    }
    false
}

/// Checks every job: each file alone first, then, where a finding's size
/// is still unknown and the run has several files, again with the
/// [`project_index`] of the functions concerned (call sites in other files).
fn check_all(jobs: &[Job], advisors: &HashMap<BenchMode, Advisor>) -> Vec<One> {
    let mut results: Vec<One> = Vec::with_capacity(jobs.len());
    check_in_order(jobs, advisors, |_, one| results.push(one));
    if jobs.len() < 2 {
        return results;
    }
    let wanted: BTreeSet<String> = results
        .iter()
        .filter_map(|o| match o {
            One::Done(r) => Some(r),
            _ => None,
        })
        .flat_map(|r| r.findings.iter())
        .filter(|r| unresolved(r))
        .filter_map(|r| r.finding.function.clone())
        // Nothing calls `main`; a method is not reached by name.
        .filter(|f| f != "main" && !f.contains('.') && !f.contains("::"))
        .collect();
    // GS602 asks the project whether the modules that import the one
    // running the matmul turn TF32 or autocast on.
    let gs602 = |r: &Reported| r.finding.code == "GS602";
    let modules: BTreeSet<String> = results
        .iter()
        .zip(jobs)
        .filter(|(o, _)| matches!(o, One::Done(r) if r.findings.iter().any(gs602)))
        .filter_map(|(_, j)| j.path.file_stem()?.to_str().map(str::to_string))
        .collect();
    if wanted.is_empty() && modules.is_empty() {
        return results;
    }
    let index = Arc::new(project_index(jobs, wanted, modules));
    let redo: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            // An empty index gives no size: only GS602's answer changes.
            matches!(o, One::Done(r) if r.findings.iter().any(|f| (unresolved(f) && !index.is_empty()) || gs602(f)))
        })
        .map(|(i, _)| i)
        .collect();
    for (k, one) in parallel(redo.len(), |k| {
        Some(check_one(&jobs[redo[k]], advisors, Some(&index)))
    }) {
        results[redo[k]] = one;
    }
    results
}

/// Applies the baseline and the gates to one file's findings and counts
/// them.
fn tally(
    report: &mut FileReport,
    job: &Job,
    baselines: &mut HashMap<PathBuf, Baseline>,
    writer: &mut Option<baseline::Writer>,
    summary: &mut Summary,
) {
    for p in &report.comment_problems {
        summary.warnings.push(PathMessage {
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
        if let Some(w) = writer {
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
            if r.speedup_gate.is_some() && r.advice.best.is_none() {
                summary.no_estimate += 1;
            }
        }
        if r.fails {
            summary.failing += 1;
        }
    }
    summary.files_checked += 1;
    summary.syntax_problems += report.syntax_problems.len();
}

/// Runs the check, handing each file's report to `out` in path order (once
/// every file is checked: sizes may come from call sites in later files).
/// `Err` is a fatal setup error (a bad configuration file, an unreadable
/// `--baseline` or `--compile-commands`): nothing was checked.
pub fn run(opts: &CheckOptions, out: &mut dyn Presenter) -> Result<Summary, String> {
    let Plan {
        jobs,
        mut baselines,
        mut summary,
    } = plan(opts)?;
    let mut writer = opts.write_baseline.as_deref().map(baseline::Writer::new);
    let advisors: HashMap<BenchMode, Advisor> = summary
        .bench_modes
        .iter()
        .map(|m| (*m, (opts.advisors)(*m)))
        .collect();
    let mut write_error: Option<std::io::Error> = None;
    for (job, one) in jobs.iter().zip(check_all(&jobs, &advisors)) {
        match one {
            One::Error(e) => summary.errors.push(e),
            One::Skipped(w) => summary.warnings.push(w),
            One::Done(mut report) => {
                tally(&mut report, job, &mut baselines, &mut writer, &mut summary);
                if write_error.is_none() {
                    write_error = out.file(&report).err();
                }
            }
        }
    }
    if let Some(w) = writer {
        match w.write() {
            Ok(()) => summary.baseline_written = Some((w.path.clone(), w.len())),
            Err(e) => summary.errors.push(PathMessage {
                path: w.path.display().to_string(),
                message: e,
            }),
        }
    }
    if write_error.is_none() {
        write_error = out.finish(&summary).err();
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
