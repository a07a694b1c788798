//! Where `check --fail-on-speedup X` gets its numbers: a [`SpeedupSource`]
//! answers, for one finding, the best speed-up some candidate offers over
//! the code as written, with where that number comes from.
//!
//! Today the only source is [`NoEstimates`], which answers `None` for
//! every finding: the gate then never fires and the output says "no
//! estimate". The performance model (`gemmscope::advice::estimate_for`,
//! measured cache ∪ fitted model ∪ reference data) plugs in at
//! [`source_for`]: implement [`SpeedupSource`] over it, honouring the
//! [`BenchMode`], and return it there. Nothing else in `check` changes.

use gemmscope_analyzers::Finding;

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

/// The speed-up source for a `--bench` mode. The estimator plugs in here.
pub fn source_for(_mode: BenchMode) -> Box<dyn SpeedupSource> {
    Box::new(NoEstimates)
}

/// Whether the source for `mode` can answer anything at all (false while
/// only [`NoEstimates`] exists; the CLI says so once when a speed-up gate
/// is asked for).
pub fn estimates_available(_mode: BenchMode) -> bool {
    false
}
