//! `gemmscope calibrate`: a small fixed set of generated kernels (no user
//! code) measured on this machine through the [`Engine`] and its sandbox,
//! kept in the result store under the CPU's fingerprint, so that the
//! default advice (`check --bench off`, the editor before its first
//! measurement) predicts from this machine's own points instead of the
//! shipped reference data (docs/model.md, "Self-calibration").
//!
//! The set: the CPU candidates the advice uses most — the naive C loop at
//! `-O1` and `-O3` (i-j-k, row-major, f32) and OpenBLAS (`sgemm`, and
//! `dgemm` at three sizes) on cubes and on small-K and small-N shapes, and
//! the GEMV pair (naive i-k at `-O1`/`-O3`, OpenBLAS `sgemv`) over sizes.
//! Each problem gets a fixed budget, so the whole run is bounded (a few
//! seconds of measuring plus one compile per kernel).
//!
//! The rows are fitted by [`crate::model::fit`] like any stored rows (the
//! per-machine least-squares model, with its leave-one-out error as the
//! `±`); what a calibration adds is that `--bench off` reads them (and only
//! them: other stored rows do not change the default advice).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::engine::{Engine, Options, Progress};
use crate::fingerprint::{Machine, Software};
use crate::problem::{DType, Layout, LoopOrder, Operation, Problem};
use crate::report::{Row, Status};
use crate::toolchain::Toolchain;

/// Seconds of measuring per problem (split over its candidates).
pub const BUDGET_PER_PROBLEM_S: f64 = 0.4;
/// Wall-clock limit per candidate (compile and run), seconds.
pub const TIMEOUT_PER_CANDIDATE_S: f64 = 30.0;

const NAIVE_AND_BLAS: &[&str] = &["c-naive-O1", "c-naive-O3", "openblas"];

fn gemv(m: u64, k: u64) -> Problem {
    Problem {
        op: Operation::Gemv,
        m,
        n: 1,
        k,
        batch: 1,
        dtype: DType::F32,
        layout: Layout::default(),
        loop_order: LoopOrder::parse("ikj").unwrap_or_default(),
    }
}

/// The fixed calibration set: each problem with the candidates measured
/// for it.
pub fn plan() -> Vec<(Problem, &'static [&'static str])> {
    let f32 = DType::F32;
    let mut v: Vec<(Problem, &'static [&'static str])> = Vec::new();
    // GEMM, f32: cubes from in-L1 to past L2, a small-K (rank-k update),
    // a small-N (skinny, batched-inference), a wide and a deep shape. The
    // sizes are of mixed residues mod 16, so that the libraries' partial
    // register tiles are averaged as in users' sizes, and never a
    // power-of-two row stride (one cache set for the naive column walk).
    for (m, n, k) in [
        (24, 24, 24),
        (60, 60, 60),
        (120, 120, 120),
        (210, 210, 210),
        (400, 400, 400),
        (500, 500, 20),
        (1000, 15, 500),
        (90, 1000, 90),
        (150, 150, 1000),
    ] {
        v.push((Problem::gemm(m, n, k, f32), NAIVE_AND_BLAS));
    }
    // OpenBLAS dgemm: its own model (f64 runs at half the f32 rate).
    for s in [32, 128, 384] {
        v.push((Problem::gemm(s, s, s, DType::F64), &["openblas"]));
    }
    // GEMV, f32, row-major A, the i-k loop.
    for (m, k) in [(32, 32), (128, 128), (512, 512), (2048, 2048), (256, 8192)] {
        v.push((gemv(m, k), NAIVE_AND_BLAS));
    }
    v
}

/// The key a calibration is stored under: this CPU's fingerprint without
/// software versions (what `check --bench off` detects without probing).
pub fn cpu_key(m: &Machine) -> String {
    let mut c = m.clone();
    c.software = Software::from_toolchain(&Toolchain::default());
    c.id()
}

/// A stored calibration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// [`cpu_key`] of the machine.
    pub cpu_key: String,
    /// The engine's machine id the rows were measured under.
    pub machine: String,
    /// Unix time of the run.
    pub at: u64,
    /// The ok rows measured, with their problems.
    pub rows: Vec<(Problem, Row)>,
}

impl Calibration {
    /// `2026-12-02` (UTC).
    pub fn date(&self) -> String {
        utc_date(self.at)
    }

    /// `calibrated here (35 points, gemmscope calibrate on 2026-12-02)`.
    pub fn describe(&self) -> String {
        format!(
            "calibrated here ({} points, gemmscope calibrate on {})",
            self.rows.len(),
            self.date()
        )
    }
}

/// `YYYY-MM-DD` of a Unix time (UTC; the proleptic Gregorian calendar).
pub fn utc_date(unix: u64) -> String {
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// What one run measured.
pub struct Outcome {
    pub calibration: Calibration,
    /// `(problem, candidate, why)` of what did not give a number.
    pub failed: Vec<(String, String, String)>,
    pub elapsed_s: f64,
    /// The run was cancelled before the end of the plan (its rows are the
    /// problems measured until then).
    pub cancelled: bool,
}

/// One step of a run, for progress: problem `index` (from 0) of `total`,
/// and a line saying what it is and what runs for it.
pub struct Step<'a> {
    pub index: usize,
    pub total: usize,
    pub line: &'a str,
}

/// Measures the [`plan`] with `engine` (fresh measurements: earlier rows
/// are not reused), skipping candidates this machine cannot run. `progress`
/// gets one step per problem. `cancel`, once set, kills the running
/// candidate (the engine's `Options::cancel`) and starts nothing more.
pub fn run(
    engine: &Engine,
    machine: &Machine,
    cancel: Option<Arc<AtomicBool>>,
    progress: &mut dyn FnMut(Step<'_>),
) -> Outcome {
    let t0 = std::time::Instant::now();
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    let mut cancelled = false;
    let plan = plan();
    let stop = || cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst));
    for (i, (p, ids)) in plan.iter().enumerate() {
        if stop() {
            cancelled = true;
            break;
        }
        let runnable: Vec<String> = ids
            .iter()
            .filter(|id| {
                crate::candidates::by_id(id).is_some_and(|c| c.check(p, &engine.toolchain).is_ok())
            })
            .map(|id| id.to_string())
            .collect();
        let line = format!(
            "[{}/{}] {} ({})",
            i + 1,
            plan.len(),
            p.describe(),
            if runnable.is_empty() {
                "nothing runs here".to_string()
            } else {
                runnable.join(", ")
            }
        );
        progress(Step {
            index: i,
            total: plan.len(),
            line: &line,
        });
        if runnable.is_empty() {
            continue;
        }
        let opts = Options {
            budget_s: BUDGET_PER_PROBLEM_S,
            only: Some(runnable),
            use_cache: false,
            timeout_s: Some(TIMEOUT_PER_CANDIDATE_S),
            cancel: cancel.clone(),
            ..Default::default()
        };
        let table = engine.measure(p, &opts, &mut |_: Progress| {});
        for r in table.rows {
            if r.status == Status::Ok && r.seconds_per_call.is_some_and(|s| s > 0.0) {
                rows.push((p.clone(), r));
            } else if stop() {
                cancelled = true;
            } else {
                failed.push((
                    p.describe(),
                    r.id.clone(),
                    format!("{}: {}", r.status.as_str(), r.reason),
                ));
            }
        }
    }
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Outcome {
        calibration: Calibration {
            cpu_key: cpu_key(machine),
            machine: engine.machine.clone(),
            at,
            rows,
        },
        failed,
        elapsed_s: t0.elapsed().as_secs_f64(),
        cancelled,
    }
}

/// This machine's calibration in the default store ([`crate::store::default_path`]),
/// where `gemmscope calibrate` has run on it.
pub fn load_default(m: &Machine) -> Option<Calibration> {
    load(&crate::store::default_path()?, &cpu_key(m))
}

/// The calibration stored for `cpu_key` in the store at `path`, read
/// without writing anything (read-only connection; a missing file, table
/// or row, or one that does not parse, is `None`).
pub fn load(path: &Path, cpu_key: &str) -> Option<Calibration> {
    if !path.is_file() {
        return None;
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    let _ = conn.busy_timeout(crate::store::BUSY_TIMEOUT);
    let json: String = conn
        .query_row(
            "SELECT json FROM calibrations WHERE cpu_key = ?1",
            params![cpu_key],
            |r| r.get(0),
        )
        .optional()
        .ok()
        .flatten()?;
    serde_json::from_str(&json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_798_761_599), "2026-12-31");
        assert_eq!(utc_date(1_709_251_200), "2024-03-01");
    }

    #[test]
    fn stored_and_read_back_without_a_schema_change() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("r.sqlite3");
        assert_eq!(load(&path, "k"), None, "no file");
        let (store, _) = crate::store::Store::open(&path).unwrap();
        assert_eq!(load(&path, "k"), None, "no table yet");
        let c = Calibration {
            cpu_key: "k".into(),
            machine: "m".into(),
            at: 1_764_633_600,
            rows: Vec::new(),
        };
        store.put_calibration(&c).unwrap();
        let c2 = Calibration {
            at: c.at + 1,
            ..c.clone()
        };
        store.put_calibration(&c2).unwrap();
        assert_eq!(load(&path, "k"), Some(c2), "the newer one replaces");
        assert_eq!(load(&path, "other"), None);
        drop(store);
        // An older gemmscope (schema 1) still opens it.
        let v: i64 = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 1);
    }

    #[test]
    fn the_plan_is_small_valid_and_fixed() {
        let p = plan();
        assert!(p.len() <= 20, "{}", p.len());
        for (q, ids) in &p {
            q.validate().unwrap();
            for id in *ids {
                assert!(crate::candidates::by_id(id).is_some(), "{id}");
            }
        }
        assert_eq!(p, plan());
    }
}
