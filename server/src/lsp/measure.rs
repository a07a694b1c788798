//! Background measurement: one worker thread owns the microbench `Engine`
//! and measures queued problems one at a time, one candidate at a time. A
//! cancel sets the running job's flag, which kills the running candidate's
//! process group at once (the engine's `Options::cancel`); [`Measurer::stop`]
//! does the same for whatever runs when the server exits. It reports plain
//! [`Event`]s; the server turns them into `$/progress` and refreshed
//! diagnostics. No LSP types here.

use std::collections::HashSet;
use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gemmscope_microbench::candidates::{self, Candidate};
use gemmscope_microbench::engine::CANCELLED;
use gemmscope_microbench::fingerprint::Machine;
use gemmscope_microbench::sandbox::{self, Exit, Limits};
use gemmscope_microbench::store::{problem_key, Store};
use gemmscope_microbench::toolchain::{Python, Tool, Toolchain};
use gemmscope_microbench::{Engine, Options, Problem, ResultCache, Status};

/// How to measure (from the settings).
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureConfig {
    pub budget_s: f64,
    pub candidates: Option<Vec<String>>,
    pub timeout_s: Option<f64>,
    pub python: Option<String>,
    pub compiler: Option<String>,
    /// Calibrate this machine when the worker starts, where it has no
    /// stored calibration (the `calibrate` setting).
    pub calibrate: bool,
}

/// The job id of the calibration run at start ([`Measurer::enqueue`]'s
/// ids start at 1); its progress can be cancelled like any job's.
pub const CALIBRATION_JOB: u64 = 0;

/// What the worker reports.
pub enum Event {
    /// The toolchain is probed and the store open: results can be read.
    Ready {
        machine: String,
        machine_text: String,
        store: Arc<Store>,
        warnings: Vec<String>,
    },
    /// No store: nothing will be measured.
    SetupFailed(String),
    Begin {
        job: u64,
        title: String,
        total: usize,
        /// What `total` counts ("candidates", "problems").
        unit: &'static str,
    },
    Candidate {
        job: u64,
        index: usize,
        total: usize,
        label: String,
    },
    End {
        job: u64,
        message: String,
        /// Candidate ids measured by this job (not answered from the store).
        measured: Vec<String>,
        problem: Problem,
    },
    /// The start-up calibration ended (or was cancelled, or measured
    /// nothing): its rows are stored when it measured any.
    Calibrated {
        job: u64,
        message: String,
        /// Points stored (0: nothing changes).
        points: usize,
    },
    /// The job ran nothing: every row was already stored, no candidate can
    /// run, or the problem is no longer in any file.
    Answered {
        job: u64,
        problem: Problem,
        why: String,
    },
}

enum Cmd {
    Measure {
        job: u64,
        problem: Problem,
        cfg: MeasureConfig,
    },
}

/// The job being measured and its cancel flag (handed to the engine).
type Current = Arc<Mutex<Option<(u64, Arc<AtomicBool>)>>>;

/// The handle: queue jobs, cancel them, stop the worker.
pub struct Measurer {
    /// `None` once stopped.
    tx: Mutex<Option<mpsc::Sender<Cmd>>>,
    next: Mutex<u64>,
    cancelled: Arc<Mutex<HashSet<u64>>>,
    current: Current,
    stopping: Arc<AtomicBool>,
    worker: Mutex<Option<JoinHandle<()>>>,
    /// Problem keys present in some file now; a queued job for another one
    /// is dropped.
    pub wanted: Arc<Mutex<HashSet<String>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Measurer {
    /// Starts the worker thread. `child` is the benchmark child command
    /// (`gemmscope __bench-child`); `events` receives reports.
    pub fn start(
        child: Vec<OsString>,
        cfg: MeasureConfig,
        events: tokio::sync::mpsc::UnboundedSender<Event>,
    ) -> Measurer {
        let (tx, rx) = mpsc::channel();
        let cancelled = Arc::new(Mutex::new(HashSet::new()));
        let wanted = Arc::new(Mutex::new(HashSet::new()));
        let current: Current = Arc::default();
        let stopping = Arc::new(AtomicBool::new(false));
        let shared = WorkerShared {
            cancelled: cancelled.clone(),
            wanted: wanted.clone(),
            current: current.clone(),
            stopping: stopping.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name("gemmscope-measure".into())
            .spawn(move || worker(child, cfg, rx, events, shared));
        let worker = match spawned {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!("gemmscope serve: cannot start the measurement thread: {e}");
                None
            }
        };
        Measurer {
            tx: Mutex::new(Some(tx)),
            next: Mutex::new(1),
            cancelled,
            current,
            stopping,
            worker: Mutex::new(worker),
            wanted,
        }
    }

    /// Queues `p`; returns the job id.
    pub fn enqueue(&self, problem: Problem, cfg: MeasureConfig) -> u64 {
        let job = {
            let mut n = lock(&self.next);
            *n += 1;
            *n - 1
        };
        if let Some(tx) = lock(&self.tx).as_ref() {
            let _ = tx.send(Cmd::Measure { job, problem, cfg });
        }
        job
    }

    /// Cancels `job`: dropped if queued; if running, its running candidate
    /// is killed at once and no further candidate starts.
    pub fn cancel(&self, job: u64) {
        lock(&self.cancelled).insert(job);
        if let Some((j, flag)) = lock(&self.current).as_ref() {
            if *j == job {
                flag.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Stops measuring for good: the running candidate is killed at once,
    /// nothing queued starts, and the worker thread ends. Returns at once;
    /// [`Measurer::stopped`] says when the worker is gone.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some((_, flag)) = lock(&self.current).as_ref() {
            flag.store(true, Ordering::SeqCst);
        }
        lock(&self.tx).take();
    }

    /// True once the worker thread has ended (or never started).
    pub fn stopped(&self) -> bool {
        lock(&self.worker).as_ref().is_none_or(|h| h.is_finished())
    }
}

/// What the worker shares with the handle.
struct WorkerShared {
    cancelled: Arc<Mutex<HashSet<u64>>>,
    wanted: Arc<Mutex<HashSet<String>>>,
    current: Current,
    stopping: Arc<AtomicBool>,
}

struct Setup {
    engine: Engine,
    machine: Machine,
    store: Arc<Store>,
    compiler: Option<String>,
    python: Option<String>,
}

/// Shares one store between the engine (as its cache) and the advisor.
struct Shared(Arc<Store>);

impl ResultCache for Shared {
    fn get(&self, machine: &str, problem: &Problem, candidate: &str) -> Option<Row> {
        self.0.get(machine, problem, candidate)
    }
    fn put(&self, machine: &str, problem: &Problem, row: &Row) {
        self.0.put(machine, problem, row)
    }
}

use gemmscope_microbench::Row;

fn probe_limits() -> Limits {
    Limits {
        cpu_seconds: 60,
        address_space: None,
        wall: Duration::from_secs(30),
        nice: 0,
    }
}

/// The configured compiler: its `--version` line.
fn probe_compiler(path: &str) -> Result<Tool, String> {
    let argv = [OsString::from(path), "--version".into()];
    let out = sandbox::run(&argv, b"", &std::env::temp_dir(), &probe_limits(), &[])
        .map_err(|e| format!("compiler `{path}`: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if out.exit != Exit::Code(0) || line.is_empty() {
        return Err(format!("compiler `{path}` did not print a version"));
    }
    Ok(Tool {
        path: path.into(),
        version: line.trim().into(),
    })
}

const PY_PROBE: &str = "import json, sys\nr = {'version': sys.version.split()[0]}\nfor m in ('numpy', 'torch'):\n    try:\n        r[m] = __import__(m).__version__\n    except Exception:\n        r[m] = None\nprint(json.dumps(r))\n";

/// The configured Python: its version and which array libraries it imports.
fn probe_python(path: &str) -> Result<Python, String> {
    let dir = sandbox::private_dir("gemmscope-probe-", &std::env::temp_dir())
        .map_err(|e| e.to_string())?;
    let mut argv: Vec<OsString> = vec![path.into()];
    argv.extend(
        candidates::python::PYTHON_FLAGS
            .iter()
            .map(|s| OsString::from(*s)),
    );
    argv.extend(["-c".into(), PY_PROBE.into()]);
    let out = sandbox::run(&argv, b"", dir.path(), &probe_limits(), &[])
        .map_err(|e| format!("python `{path}`: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("python `{path}` did not answer the probe"))?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
    Ok(Python {
        tool: Tool {
            path: path.into(),
            version: format!("Python {}", s("version").unwrap_or_default()),
        },
        numpy: s("numpy"),
        torch: s("torch"),
    })
}

fn setup(child: &[OsString], cfg: &MeasureConfig) -> Result<(Setup, Machine, Vec<String>), String> {
    let mut warnings = Vec::new();
    let mut tc = Toolchain::probe();
    if let Some(cc) = &cfg.compiler {
        match probe_compiler(cc) {
            Ok(t) => tc.cc = Some(t),
            Err(e) => {
                warnings.push(format!("{e}; C candidates skipped"));
                tc.cc = None;
            }
        }
    }
    if let Some(py) = &cfg.python {
        match probe_python(py) {
            Ok(p) => tc.python = Some(p),
            Err(e) => {
                warnings.push(format!("{e}; Python candidates skipped"));
                tc.python = None;
            }
        }
    }
    let machine = Machine::detect(&tc);
    let (store, w) = Store::open_default()?;
    warnings.extend(w);
    if let Err(e) = store.put_machine(&machine) {
        warnings.push(e);
    }
    let store = Arc::new(store);
    Ok((
        Setup {
            engine: Engine {
                child: child.to_vec(),
                toolchain: tc,
                machine: machine.id(),
                cache: Some(Box::new(Shared(store.clone()))),
                temp_root: None,
            },
            machine: machine.clone(),
            store,
            compiler: cfg.compiler.clone(),
            python: cfg.python.clone(),
        },
        machine,
        warnings,
    ))
}

fn worker(
    child: Vec<OsString>,
    first: MeasureConfig,
    rx: mpsc::Receiver<Cmd>,
    events: tokio::sync::mpsc::UnboundedSender<Event>,
    sh: WorkerShared,
) {
    let WorkerShared {
        cancelled,
        wanted,
        current: cur,
        stopping,
    } = sh;
    let mut current: Option<Setup> = None;
    let ensure = |cfg: &MeasureConfig, current: &mut Option<Setup>| -> bool {
        let stale = current
            .as_ref()
            .is_none_or(|s| s.compiler != cfg.compiler || s.python != cfg.python);
        if stale {
            match setup(&child, cfg) {
                Ok((s, m, warnings)) => {
                    let _ = events.send(Event::Ready {
                        machine: s.engine.machine.clone(),
                        machine_text: m.describe(),
                        store: s.store.clone(),
                        warnings,
                    });
                    *current = Some(s);
                }
                Err(e) => {
                    let _ = events.send(Event::SetupFailed(e));
                    *current = None;
                }
            }
        }
        current.is_some()
    };
    if stopping.load(Ordering::SeqCst) {
        return;
    }
    if ensure(&first, &mut current) && first.calibrate {
        if let Some(s) = current.as_ref() {
            let flag = Arc::new(AtomicBool::new(stopping.load(Ordering::SeqCst)));
            *lock(&cur) = Some((CALIBRATION_JOB, flag.clone()));
            if stopping.load(Ordering::SeqCst) || lock(&cancelled).remove(&CALIBRATION_JOB) {
                flag.store(true, Ordering::SeqCst);
            }
            let end = calibrate_once(s, &flag, &events);
            *lock(&cur) = None;
            if let Some(end) = end {
                let _ = events.send(end);
            }
        }
    }
    while let Ok(cmd) = rx.recv() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Cmd::Measure { job, problem, cfg } = cmd;
        let answered = |why: String| Event::Answered {
            job,
            problem: problem.clone(),
            why,
        };
        if lock(&cancelled).remove(&job) {
            let _ = events.send(answered("cancelled before it started".into()));
            continue;
        }
        if !lock(&wanted).contains(&problem_key(&problem)) {
            let _ = events.send(answered("no longer in any open file".into()));
            continue;
        }
        if !ensure(&cfg, &mut current) {
            let _ = events.send(answered("no result store".into()));
            continue;
        }
        let Some(s) = current.as_ref() else { continue };
        let flag = Arc::new(AtomicBool::new(stopping.load(Ordering::SeqCst)));
        *lock(&cur) = Some((job, flag.clone()));
        // A stop between the check above and registering the flag.
        if stopping.load(Ordering::SeqCst) {
            flag.store(true, Ordering::SeqCst);
        }
        let end = run_job(s, job, &problem, &cfg, &cancelled, &flag, &events);
        *lock(&cur) = None;
        let _ = events.send(end);
    }
}

/// The first trusted start's calibration: where this CPU has no stored
/// `gemmscope calibrate` run, measures its fixed set of generated kernels
/// (no user code; the same as the command) and stores it, with progress
/// per problem. `None` where there was one already (nothing runs).
fn calibrate_once(
    s: &Setup,
    flag: &Arc<AtomicBool>,
    events: &tokio::sync::mpsc::UnboundedSender<Event>,
) -> Option<Event> {
    use gemmscope_microbench::calibrate;
    let key = calibrate::cpu_key(&s.machine);
    if calibrate::load(s.store.path(), &key).is_some() {
        return None;
    }
    let job = CALIBRATION_JOB;
    let total = calibrate::plan().len();
    let _ = events.send(Event::Begin {
        job,
        title: "gemmscope: calibrating this machine (generated kernels only, once)".into(),
        total,
        unit: "problems",
    });
    let outcome = calibrate::run(&s.engine, &s.machine, Some(flag.clone()), &mut |step| {
        let _ = events.send(Event::Candidate {
            job,
            index: step.index,
            total: step.total,
            label: step.line.to_string(),
        });
    });
    let cal = outcome.calibration;
    let (message, points) = if outcome.cancelled {
        // A part of the set is not a calibration: nothing is stored, and
        // the next start asks again.
        ("calibration cancelled; nothing stored".to_string(), 0)
    } else if cal.rows.is_empty() {
        (
            "calibration measured nothing (no C compiler?); the advice stays on the shipped data"
                .to_string(),
            0,
        )
    } else {
        match s.store.put_calibration(&cal) {
            Ok(()) => (
                format!(
                    "calibrated this machine: {} points in {:.1} s, stored under CPU key {}{}",
                    cal.rows.len(),
                    outcome.elapsed_s,
                    cal.cpu_key,
                    if outcome.failed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({} did not run)", outcome.failed.len())
                    }
                ),
                cal.rows.len(),
            ),
            Err(e) => (format!("calibration not stored: {e}"), 0),
        }
    };
    Some(Event::Calibrated {
        job,
        message,
        points,
    })
}

/// Measures one problem, candidate by candidate; sends `Begin` and
/// `Candidate` events and returns the closing one.
fn run_job(
    s: &Setup,
    job: u64,
    p: &Problem,
    cfg: &MeasureConfig,
    cancelled: &Mutex<HashSet<u64>>,
    flag: &Arc<AtomicBool>,
    events: &tokio::sync::mpsc::UnboundedSender<Event>,
) -> Event {
    let e = &s.engine;
    let runnable: Vec<&dyn Candidate> = candidates::all()
        .into_iter()
        .filter(|c| {
            cfg.candidates
                .as_ref()
                .is_none_or(|o| o.iter().any(|x| x == c.id()))
        })
        .filter(|c| c.check(p, &e.toolchain).is_ok())
        .collect();
    if runnable.is_empty() {
        return Event::Answered {
            job,
            problem: p.clone(),
            why: "no selected candidate can run this problem on this machine".into(),
        };
    }
    let todo: Vec<&dyn Candidate> = runnable
        .iter()
        .copied()
        .filter(|c| matches!(s.store.try_get(&e.machine, p, c.id()), Ok(None)))
        .collect();
    if todo.is_empty() {
        return Event::Answered {
            job,
            problem: p.clone(),
            why: "every candidate is in the result store".into(),
        };
    }
    let total = todo.len();
    let _ = events.send(Event::Begin {
        job,
        title: format!("gemmscope: measuring GEMM {}", p.describe()),
        total,
        unit: "candidates",
    });
    let per = (cfg.budget_s / total as f64).max(0.05);
    let mut measured = Vec::new();
    let mut failed = Vec::new();
    let mut was_cancelled = false;
    for (index, c) in todo.iter().enumerate() {
        // Cancelled while queued or between candidates (a cancel during a
        // candidate sets `flag` directly).
        if lock(cancelled).remove(&job) {
            flag.store(true, Ordering::SeqCst);
        }
        if flag.load(Ordering::SeqCst) {
            was_cancelled = true;
            break;
        }
        let _ = events.send(Event::Candidate {
            job,
            index,
            total,
            label: c.label(p),
        });
        let opts = Options {
            budget_s: per,
            only: Some(vec![c.id().to_string()]),
            use_cache: true,
            timeout_s: cfg.timeout_s,
            cancel: Some(flag.clone()),
            ..Default::default()
        };
        let t = e.measure(p, &opts, &mut |_| {});
        for r in t.rows {
            if r.status == Status::Ok {
                measured.push(r.id);
            } else if r.reason == CANCELLED {
                was_cancelled = true;
            } else {
                failed.push(format!("{}: {}", r.id, r.reason));
            }
        }
        if was_cancelled {
            lock(cancelled).remove(&job);
            break;
        }
    }
    let mut message = if was_cancelled {
        format!("cancelled after {} of {total} candidates", measured.len())
    } else {
        format!("measured {} of {total} candidates", measured.len())
    };
    if !failed.is_empty() {
        message.push_str(&format!("; {}", failed.join("; ")));
    }
    Event::End {
        job,
        message,
        measured,
        problem: p.clone(),
    }
}
