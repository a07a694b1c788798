//! The protocol between the engine (parent) and a benchmark child: a [`Job`]
//! goes in on the child's stdin as JSON, a [`Reply`] comes out on its stdout
//! as JSON (one document, last line).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::problem::Problem;
use crate::toolchain::Toolchain;

/// One candidate to measure on one problem.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    /// The candidate's stable id (`c-naive-O1`, `openblas`, ...).
    pub candidate: String,
    pub problem: Problem,
    /// Seconds this candidate may spend on timed repeats (after warm-up).
    pub budget_s: f64,
    /// Seed of the input generator (inputs uniform in [-1, 1), never zeros).
    pub seed: u64,
    /// Compute only the first `rows` rows of C (slow candidates); the engine
    /// scales the time to the whole problem. `None`: the whole problem.
    pub sample_rows: Option<u64>,
    /// A private, empty directory for generated sources and binaries; the
    /// engine removes it afterwards.
    pub workdir: PathBuf,
    /// What the parent found on this machine (compiler, Python, ...).
    pub toolchain: Toolchain,
}

/// What a child measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Seconds per timed call, one entry per repeat (of the computed part:
    /// `rows_computed` rows of C, every batch).
    pub samples: Vec<f64>,
    /// Rows of C computed per call (== M when not sampled).
    pub rows_computed: u64,
    /// Relative Frobenius error of the computed rows against a float64
    /// reference on the same inputs. JSON has no NaN: a NaN travels as
    /// `null` and comes back as NaN.
    #[serde(deserialize_with = "null_as_nan")]
    pub rel_error: f64,
    /// Rows that the error was checked on.
    pub checked_rows: u64,
    /// What exactly ran: compiler and flags, library and version, device.
    pub what: String,
    /// Threads used (CPU), or 0 for a GPU.
    pub threads: u32,
    /// Host→device and device→host copy time for the operands, seconds (GPU).
    pub transfer_s: Option<f64>,
    pub notes: Vec<String>,
}

/// The child's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Reply {
    Ok(Measurement),
    /// The machine cannot run this candidate (no compiler, no GPU, ...).
    Skipped {
        reason: String,
    },
    /// It ran and went wrong (compile error, wrong result, NaN, ...).
    Failed {
        reason: String,
    },
}

fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_error_survives_the_json_trip() {
        let m = Measurement {
            samples: vec![1.0],
            rows_computed: 1,
            rel_error: f64::NAN,
            checked_rows: 1,
            what: String::new(),
            threads: 1,
            transfer_s: None,
            notes: vec![],
        };
        let back: Reply =
            serde_json::from_str(&serde_json::to_string(&Reply::Ok(m)).unwrap()).unwrap();
        let Reply::Ok(m) = back else { panic!() };
        assert!(m.rel_error.is_nan());
    }
}
