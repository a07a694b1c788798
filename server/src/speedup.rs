//! Where `check --fail-on-speedup X` gets its numbers: a [`SpeedupSource`]
//! answers, for one finding, the best speed-up some candidate offers over
//! the code as written, with where that number comes from.
//!
//! The source is [`EstimateSource`]: the Estimate API
//! (`gemmscope::advice::estimate_for`) under the policy of the
//! [`BenchMode`] — `off`: the model and the shipped reference data only
//! (nothing measured, nothing read from this machine's store), `cached`:
//! also the store's results and the models fitted on them, `on`: also
//! measures what is missing, one problem at a time. Where no estimate can
//! be built (unknown sizes, no number for the code as written) the answer
//! is `None`: the gate does not fire and the output says "no estimate".
//! [`NoEstimates`] answers `None` always (`--no-estimates`).

use std::sync::Mutex;

use gemmscope_analyzers::Finding;
use gemmscope_microbench::estimate::{Estimator, MeasurePolicy};
use gemmscope_microbench::fingerprint::Machine;
use gemmscope_microbench::store::Store;
use gemmscope_microbench::toolchain::Toolchain;

/// How `check` may measure (`--bench`, config key `bench`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchMode {
    /// Model and reference data only: deterministic output, nothing run.
    /// The default, and what CI should use.
    #[default]
    Off,
    /// Also results already measured on this machine (the result store);
    /// never measures.
    Cached,
    /// Also measure what is missing (sandboxed, within a budget).
    On,
}

impl BenchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BenchMode::Off => "off",
            BenchMode::Cached => "cached",
            BenchMode::On => "on",
        }
    }

    pub fn parse(s: &str) -> Option<BenchMode> {
        match s {
            "off" => Some(BenchMode::Off),
            "cached" => Some(BenchMode::Cached),
            "on" => Some(BenchMode::On),
            _ => None,
        }
    }
}

/// The best speed-up on offer for one finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Speedup {
    /// How many times faster the best candidate is than the code as written
    /// (for the same problem, on the machine named in `provenance`).
    pub factor: f64,
    /// The candidate (`openblas-sgemm`, `cublas-tf32`, ...).
    pub candidate: String,
    /// What the number is and how it is known: "measured here (…)",
    /// "predicted from N points ±E%", "reference data from S", with the
    /// candidate's accuracy cost where it has one.
    pub provenance: String,
    /// The estimate's one-line headline (cost of the code as written here,
    /// and the best option), every number labelled; empty where there is
    /// none.
    pub headline: String,
}

/// Answers the best speed-up for a finding, or `None` where there is no
/// estimate (unknown sizes, no model, nothing measured).
pub trait SpeedupSource: Sync {
    fn best_speedup(&self, finding: &Finding) -> Option<Speedup>;
}

/// The source used until the performance model is connected: no estimate
/// for anything.
pub struct NoEstimates;

impl SpeedupSource for NoEstimates {
    fn best_speedup(&self, _finding: &Finding) -> Option<Speedup> {
        None
    }
}

/// Estimates from the performance model, the reference data and (by mode)
/// this machine's store and measurements.
pub struct EstimateSource {
    est: Estimator,
    policy: MeasurePolicy,
    /// `on` measures: one estimate at a time, so that benchmarks never run
    /// side by side (check analyses on every core).
    one_at_a_time: Option<Mutex<()>>,
}

impl EstimateSource {
    /// Builds the estimator for `mode`. `off` probes nothing (the CPU
    /// fingerprint only); `cached` and `on` probe the toolchain (compiler,
    /// OpenBLAS, Python) so that the machine id matches `gemmscope bench`.
    pub fn new(mode: BenchMode) -> Result<EstimateSource, String> {
        let (est, policy) = match mode {
            BenchMode::Off => (
                Estimator::new(Machine::detect(&Toolchain::default()), None, None, None),
                MeasurePolicy::Never,
            ),
            BenchMode::Cached => {
                let machine = Machine::detect(&Toolchain::probe());
                let store = open_store();
                (
                    Estimator::new(machine, store, None, None),
                    MeasurePolicy::Cached,
                )
            }
            BenchMode::On => {
                let setup = crate::bench::setup(false)?;
                for w in &setup.warnings {
                    eprintln!("gemmscope: warning: {w}");
                }
                let store = open_store();
                (
                    Estimator::new(setup.machine, store, Some(setup.engine), None),
                    MeasurePolicy::Always,
                )
            }
        };
        Ok(EstimateSource {
            est,
            policy,
            one_at_a_time: (mode == BenchMode::On).then(|| Mutex::new(())),
        })
    }
}

/// The result store, its warnings (a damaged file moved aside) and errors
/// on stderr: estimates go on without it.
fn open_store() -> Option<Store> {
    match Store::open_default() {
        Ok((s, warnings)) => {
            for w in warnings {
                eprintln!("gemmscope: warning: {w}");
            }
            Some(s)
        }
        Err(e) => {
            eprintln!("gemmscope: warning: estimates without this machine's results: {e}");
            None
        }
    }
}

impl SpeedupSource for EstimateSource {
    fn best_speedup(&self, f: &Finding) -> Option<Speedup> {
        let _turn = self
            .one_at_a_time
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()));
        let e = crate::advice::estimate_for(f, &self.est, self.policy).ok()?;
        let best = e.faster().filter(|l| l.speedup.is_some()).max_by(|a, b| {
            a.speedup
                .unwrap_or(0.0)
                .total_cmp(&b.speedup.unwrap_or(0.0))
        })?;
        Some(Speedup {
            factor: best.speedup?,
            candidate: best.candidate.clone(),
            provenance: format!(
                "{}; accuracy cost {}",
                best.source.short(),
                best.accuracy.text
            ),
            headline: e.headline.clone(),
        })
    }
}

/// The speed-up source for a `--bench` mode: the estimator, or no
/// estimates where it cannot be built (the reason goes to stderr once).
pub fn source_for(mode: BenchMode) -> Box<dyn SpeedupSource> {
    match EstimateSource::new(mode) {
        Ok(s) => Box::new(s),
        Err(e) => {
            eprintln!(
                "gemmscope: warning: no estimates (--bench {}): {e}",
                mode.as_str()
            );
            Box::new(NoEstimates)
        }
    }
}

/// `--no-estimates`: findings only.
pub fn no_estimates(_mode: BenchMode) -> Box<dyn SpeedupSource> {
    Box::new(NoEstimates)
}
