//! The engine: for a [`Problem`], decide which candidates this machine can
//! run, answer from the store where it can, and otherwise measure each one
//! in a sandboxed child process, one at a time.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::candidates::{self, Candidate};
use crate::job::{Job, Measurement, Reply};
use crate::problem::Problem;
use crate::report::{Provenance, Row, Status, Table};
use crate::sandbox::{self, Exit, Limits};
use crate::stats;
use crate::toolchain::Toolchain;

/// Where results are kept between runs (the SQLite store implements it).
pub trait ResultCache: Send + Sync {
    fn get(&self, machine: &str, problem: &Problem, candidate: &str) -> Option<Row>;
    fn put(&self, machine: &str, problem: &Problem, row: &Row);
}

/// How to measure.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seconds for the whole table (split over the candidates that run).
    pub budget_s: f64,
    /// Only these candidate ids (all when `None`).
    pub only: Option<Vec<String>>,
    /// Answer from the store where it has the row.
    pub use_cache: bool,
    pub seed: u64,
    /// Wall-clock limit per candidate, seconds (default: 60 + 4 × its budget).
    pub timeout_s: Option<f64>,
    /// Set by another thread to stop: the running candidate's process group
    /// is killed at once, and it and every candidate after it read
    /// `failed: cancelled` (never stored).
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Options {
    /// True once [`Options::cancel`] is set.
    pub fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            budget_s: 10.0,
            only: None,
            use_cache: true,
            seed: 0x9e37_79b9_7f4a_7c15,
            timeout_s: None,
            cancel: None,
        }
    }
}

/// Progress reports, for `$/progress` in the editor and the CLI.
#[derive(Clone, Debug)]
pub enum Progress {
    /// About to measure candidate `index` of `total`.
    Measuring {
        index: usize,
        total: usize,
        candidate: String,
    },
    Done {
        index: usize,
        total: usize,
        row: Box<Row>,
    },
}

pub struct Engine {
    /// The child command: program and arguments (`gemmscope __bench-child`).
    pub child: Vec<OsString>,
    pub toolchain: Toolchain,
    /// The machine fingerprint id results are keyed by.
    pub machine: String,
    pub cache: Option<Box<dyn ResultCache>>,
    /// Parent folder for private work dirs (the system temp dir by default).
    pub temp_root: Option<PathBuf>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Engine {
    /// The candidates selected by `opts` that are options for `p`'s
    /// operation, in table order.
    fn selected(&self, p: &Problem, opts: &Options) -> Vec<&'static dyn Candidate> {
        candidates::all()
            .into_iter()
            .filter(|c| c.measures(p.op))
            .filter(|c| {
                opts.only
                    .as_ref()
                    .is_none_or(|o| o.iter().any(|x| x == c.id()))
            })
            .collect()
    }

    /// Measures every selected candidate for `p`.
    pub fn measure(
        &self,
        p: &Problem,
        opts: &Options,
        progress: &mut dyn FnMut(Progress),
    ) -> Table {
        let cands = self.selected(p, opts);
        let runnable = cands
            .iter()
            .filter(|c| c.check(p, &self.toolchain).is_ok())
            .count()
            .max(1);
        let per = (opts.budget_s / runnable as f64).max(0.05);
        let total = cands.len();
        let mut rows = Vec::with_capacity(total);
        for (index, c) in cands.into_iter().enumerate() {
            progress(Progress::Measuring {
                index,
                total,
                candidate: c.label(p),
            });
            let row = self.row(c, p, per, opts);
            progress(Progress::Done {
                index,
                total,
                row: Box::new(row.clone()),
            });
            rows.push(row);
        }
        let mut t = Table {
            problem: p.clone(),
            machine: self.machine.clone(),
            rows,
        };
        t.compute_speedups();
        t
    }

    fn row(&self, c: &dyn Candidate, p: &Problem, budget: f64, opts: &Options) -> Row {
        let base = |status, reason| {
            Row::not_ok(
                c.id(),
                c.label(p),
                c.backend(),
                c.precision(p),
                status,
                reason,
            )
        };
        if let Err(why) = p.validate() {
            return base(Status::Failed, why);
        }
        if let Err(why) = c.check(p, &self.toolchain) {
            return base(Status::Skipped, why);
        }
        if opts.use_cache {
            if let Some(cache) = &self.cache {
                if let Some(mut r) = cache.get(&self.machine, p, c.id()) {
                    if let Some(pr) = &mut r.provenance {
                        pr.how = "cached".into();
                    }
                    return r;
                }
            }
        }
        if opts.cancelled() {
            return base(Status::Failed, CANCELLED.into());
        }
        let sample_rows = sample_rows(c, p, budget);
        let row = match self.run_child(c, p, budget, sample_rows, opts) {
            Ok(Reply::Ok(m)) => self.ok_row(c, p, m),
            Ok(Reply::Skipped { reason }) => base(Status::Skipped, reason),
            Ok(Reply::Failed { reason }) => base(Status::Failed, reason),
            Err(reason) => base(Status::Failed, reason),
        };
        if row.status == Status::Ok {
            if let Some(cache) = &self.cache {
                cache.put(&self.machine, p, &row);
            }
        }
        row
    }

    /// Turns a measurement into a row, failing it when the result is wrong.
    fn ok_row(&self, c: &dyn Candidate, p: &Problem, m: Measurement) -> Row {
        let mut row = Row::not_ok(
            c.id(),
            c.label(p),
            c.backend(),
            c.precision(p),
            Status::Ok,
            String::new(),
        );
        let tol = c.tolerance(p);
        if m.samples.is_empty() || m.samples.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            row.status = Status::Failed;
            row.reason = "no valid timing samples".into();
            return row;
        }
        if !m.rel_error.is_finite() {
            row.status = Status::Failed;
            row.reason = "wrong result: NaN or infinity in the output".into();
            return row;
        }
        row.rel_error = Some(m.rel_error);
        if m.rel_error > tol {
            row.status = Status::Failed;
            row.reason = format!(
                "wrong result: relative error {:.1e} against the float64 reference exceeds {:.0e}",
                m.rel_error, tol
            );
            return row;
        }
        let rows = m.rows_computed.clamp(1, p.m);
        let per_call = stats::median(&m.samples) * (p.m as f64 / rows as f64);
        row.seconds_per_call = Some(per_call);
        row.ns_per_output = Some(per_call / p.outputs() as f64 * 1e9);
        row.gflops = Some(p.flops() / per_call / 1e9);
        row.transfer_s = m.transfer_s;
        row.threads = Some(m.threads);
        row.provenance = Some(Provenance {
            how: "measured".into(),
            machine: self.machine.clone(),
            what: m.what,
            repeats: m.samples.len(),
            spread: stats::relative_spread(&m.samples),
            sampled: (rows < p.m).then(|| format!("{rows} of {} rows timed, scaled", p.m)),
            measured_at: now(),
        });
        row
    }

    fn run_child(
        &self,
        c: &dyn Candidate,
        p: &Problem,
        budget: f64,
        sample_rows: Option<u64>,
        opts: &Options,
    ) -> Result<Reply, String> {
        let (seed, timeout) = (opts.seed, opts.timeout_s);
        let root = self.temp_root.clone().unwrap_or_else(std::env::temp_dir);
        // A private (0700) directory, removed when `dir` drops.
        let dir = sandbox::private_dir("gemmscope-bench-", &root).map_err(|e| {
            format!(
                "cannot create a private work dir in {}: {e}",
                root.display()
            )
        })?;
        let job = Job {
            candidate: c.id().to_string(),
            problem: p.clone(),
            budget_s: budget,
            seed,
            sample_rows,
            workdir: dir.path().to_path_buf(),
            toolchain: self.toolchain.clone(),
        };
        let input = serde_json::to_vec(&job).map_err(|e| e.to_string())?;
        let mut limits = limits_for(c, p, budget);
        if let Some(t) = timeout {
            limits.wall = Duration::from_secs_f64(t.max(0.1));
        }
        let out = sandbox::run_cancellable(
            &self.child,
            &input,
            dir.path(),
            &limits,
            &[],
            opts.cancel.as_deref(),
        )
        .map_err(|e| format!("cannot start the benchmark child: {e}"))?;
        if out.exit == Exit::Cancelled {
            return Err(CANCELLED.into());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        match (&out.exit, serde_json::from_str::<Reply>(last)) {
            (Exit::Code(0), Ok(r)) => Ok(r),
            (Exit::Code(0), Err(e)) => Err(format!(
                "the benchmark child answered something unreadable: {e}"
            )),
            _ => Err(out.describe_failure()),
        }
    }
}

/// The reason of a row whose measurement was cancelled.
pub const CANCELLED: &str = "cancelled";

/// Rows a samplable candidate computes so that one call takes about a tenth
/// of its budget at its prior rate; `None` to compute the whole problem.
pub fn sample_rows(c: &dyn Candidate, p: &Problem, budget: f64) -> Option<u64> {
    // A GEMV is cheap (2MK flops) and its cost per output depends on how
    // much of A the sampled outputs touch: measured whole.
    if !c.samplable() || p.op == crate::problem::Operation::Gemv {
        return None;
    }
    let per_row = 2.0 * p.n as f64 * p.k as f64 * p.batch as f64 / c.prior_flops();
    let rows = ((budget / 10.0) / per_row).floor() as u64;
    let rows = rows.clamp(1, p.m);
    (rows < p.m).then_some(rows)
}

/// Limits for one child: generous CPU time (compiling plus the budget on all
/// cores), memory for the operands plus a margin, wall clock a few times the
/// budget plus compile time.
pub fn limits_for(c: &dyn Candidate, p: &Problem, budget: f64) -> Limits {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let operands = ((p.m * p.k + p.k * p.n + p.m * p.n) * p.batch) as f64 * 8.0;
    let gpu = c.backend() == crate::candidates::Backend::Gpu;
    Limits {
        cpu_seconds: (60.0 + budget * 4.0 * cores) as u64,
        // Operands (as f64 at most), the f64 reference, plus the runtime
        // (Python with NumPy/PyTorch needs a few GiB of address space).
        address_space: (!gpu).then_some((operands * 3.0) as u64 + (8u64 << 30)),
        wall: Duration::from_secs_f64(60.0 + budget * 4.0),
        nice: 10,
    }
}

/// The child side: reads a [`Job`] from `input`, runs it, and returns the
/// [`Reply`] as one JSON line. The `gemmscope __bench-child` subcommand is
/// this function between stdin and stdout.
pub fn child_main(input: &[u8]) -> String {
    let reply = match serde_json::from_slice::<Job>(input) {
        Err(e) => Reply::Failed {
            reason: format!("bad job: {e}"),
        },
        Ok(job) => match candidates::by_id(&job.candidate) {
            None => Reply::Failed {
                reason: format!("unknown candidate `{}`", job.candidate),
            },
            Some(c) => c.run(&job),
        },
    };
    serde_json::to_string(&reply)
        .unwrap_or_else(|e| format!("{{\"status\":\"failed\",\"reason\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::DType;
    use std::time::Instant;

    /// A child that hangs: the cancel flag, not the job, must end it.
    fn hanging_engine() -> Engine {
        Engine {
            child: vec!["/bin/sh".into(), "-c".into(), "sleep 1000".into()],
            toolchain: Toolchain::default(),
            machine: "test".into(),
            cache: None,
            temp_root: None,
        }
    }

    #[test]
    fn cancel_kills_the_running_candidate_and_fails_the_rest() {
        let e = hanging_engine();
        let flag = Arc::new(AtomicBool::new(false));
        let opts = Options {
            budget_s: 100.0,
            only: Some(vec!["rust-gemm".into()]),
            cancel: Some(flag.clone()),
            ..Default::default()
        };
        let p = Problem::gemm(8, 8, 8, DType::F32);
        let setter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            flag.store(true, Ordering::SeqCst);
            Instant::now()
        });
        let t = e.measure(&p, &opts, &mut |_| {});
        let late = setter.join().unwrap().elapsed();
        assert!(late < Duration::from_millis(500), "{late:?} after cancel");
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].status, Status::Failed);
        assert_eq!(t.rows[0].reason, CANCELLED);
        // Already cancelled: nothing starts.
        let t0 = Instant::now();
        let t = e.measure(&p, &opts, &mut |_| {});
        assert_eq!(t.rows[0].reason, CANCELLED);
        assert!(t0.elapsed() < Duration::from_millis(500));
    }
}
