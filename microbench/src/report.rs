//! One table of results: a [`Row`] per candidate, each saying what ran, how
//! long it took per call and per output, how accurate it was, and how the
//! number is known (its provenance).

use serde::{Deserialize, Serialize};

use crate::candidates::Backend;
use crate::problem::Problem;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Skipped,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }
}

/// How a number is known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// `measured`, `cached` (measured here earlier, from the store).
    pub how: String,
    /// The machine fingerprint id it was measured on.
    pub machine: String,
    /// What exactly ran (compiler and flags, library and version, device).
    pub what: String,
    /// Timed repeats behind the median.
    pub repeats: usize,
    /// Relative spread of the repeats (IQR half-width / median).
    pub spread: f64,
    /// `8 of 1024 rows, scaled` when measured on a sample.
    pub sampled: Option<String>,
    /// Unix seconds when it was measured.
    pub measured_at: u64,
}

impl Provenance {
    /// One line: `measured here: gcc 12.2.0 -O1; median of 9, ±2%; 8 of 1024 rows, scaled`.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{} here: {}; median of {}, ±{:.0}%",
            self.how,
            self.what,
            self.repeats,
            self.spread * 100.0
        );
        if let Some(x) = &self.sampled {
            s.push_str("; ");
            s.push_str(x);
        }
        s
    }
}

/// One candidate's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Stable id (`c-naive-O1`).
    pub id: String,
    /// What it is (`naive C -O1 (ijk)`).
    pub candidate: String,
    pub backend: Backend,
    /// The arithmetic done (`f32`, `f16 in, f32 accumulate`).
    pub dtype: String,
    pub status: Status,
    /// Why it was skipped or failed; empty when ok.
    pub reason: String,
    pub seconds_per_call: Option<f64>,
    pub ns_per_output: Option<f64>,
    pub gflops: Option<f64>,
    /// Over the slowest ok row of the same table.
    pub speedup: Option<f64>,
    pub rel_error: Option<f64>,
    /// Host↔device copies of the operands, seconds (GPU rows).
    pub transfer_s: Option<f64>,
    pub threads: Option<u32>,
    pub provenance: Option<Provenance>,
}

impl Row {
    pub fn not_ok(
        id: &str,
        candidate: String,
        backend: Backend,
        dtype: String,
        status: Status,
        reason: String,
    ) -> Row {
        Row {
            id: id.to_string(),
            candidate,
            backend,
            dtype,
            status,
            reason,
            seconds_per_call: None,
            ns_per_output: None,
            gflops: None,
            speedup: None,
            rel_error: None,
            transfer_s: None,
            threads: None,
            provenance: None,
        }
    }
}

/// The results for one problem on one machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub problem: Problem,
    /// The machine fingerprint id.
    pub machine: String,
    pub rows: Vec<Row>,
}

impl Table {
    /// Fills `speedup` of every ok row relative to the slowest ok row.
    pub fn compute_speedups(&mut self) {
        let slowest = self
            .rows
            .iter()
            .filter(|r| r.status == Status::Ok)
            .filter_map(|r| r.seconds_per_call)
            .fold(0.0f64, f64::max);
        for r in &mut self.rows {
            r.speedup = match (r.status, r.seconds_per_call) {
                (Status::Ok, Some(s)) if s > 0.0 && slowest > 0.0 => Some(slowest / s),
                _ => None,
            };
        }
    }

    /// The fastest ok row.
    pub fn best(&self) -> Option<&Row> {
        self.rows
            .iter()
            .filter(|r| r.status == Status::Ok)
            .min_by(|a, b| {
                a.seconds_per_call
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.seconds_per_call.unwrap_or(f64::INFINITY))
            })
    }
}

/// `12.3 ms`, `850 ns`, `2.1 s`, `41 ps`.
pub fn human_seconds(s: f64) -> String {
    let (v, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else if s >= 1e-6 {
        (s * 1e6, "µs")
    } else if s >= 1e-9 {
        (s * 1e9, "ns")
    } else {
        (s * 1e12, "ps")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_seconds(2.5), "2.50 s");
        assert_eq!(human_seconds(0.0123), "12.3 ms");
        assert_eq!(human_seconds(850e-9), "850 ns");
        assert_eq!(human_seconds(4.1e-11), "41.0 ps");
    }
}
