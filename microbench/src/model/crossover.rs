//! CPU or GPU: the size above which offloading a problem wins once the
//! host↔device copies of the operands and the launch cost are counted, and
//! a plain statement when the GPU loses at this size.
//!
//! GPU time = launch + (A + B in, C out) / PCIe bandwidth + FLOPs / rate.
//! The CPU time comes from the caller (the fitted model or the measurement
//! of the best CPU candidate here).

use serde::Serialize;

use crate::problem::Problem;
use crate::report::{human_seconds, Row, Status};

/// What the copies and the launch cost, with where each figure comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transfer {
    pub pcie_gbs: f64,
    pub pcie_source: String,
    pub launch_s: f64,
    pub launch_source: String,
}

impl Default for Transfer {
    fn default() -> Self {
        Transfer {
            pcie_gbs: 25.0,
            pcie_source: "assumed ~25 GB/s: PCIe 4.0 ×16 carries 31.5 GB/s per direction by its \
                          specification (16 GT/s × 16 lanes, 128b/130b coding) and pinned copies \
                          typically reach about 80% of that; not measured here"
                .into(),
            launch_s: 10e-6,
            launch_source: "assumed ~10 µs for a kernel or library launch plus synchronisation; \
                            not measured here"
                .into(),
        }
    }
}

impl Transfer {
    /// The default, with the PCIe figure replaced by the effective rate of
    /// copies measured here (GPU rows with `transfer_s`), when there are any.
    pub fn from_rows(rows: &[(Problem, Row)]) -> Transfer {
        let mut t = Transfer::default();
        let best = rows
            .iter()
            .filter(|(_, r)| r.status == Status::Ok)
            .filter_map(|(p, r)| {
                r.transfer_s
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(|s| transfer_bytes(p) / s / 1e9)
            })
            .fold(0.0f64, f64::max);
        if best > 0.0 {
            t.pcie_gbs = best;
            t.pcie_source = "measured here: the best effective rate of the GPU candidates' \
                             operand copies"
                .into();
        }
        t
    }
}

/// Bytes copied: A and B to the device, C back (`(MK + KN + MN) · batch ·
/// elem`).
pub fn transfer_bytes(p: &Problem) -> f64 {
    super::features::working_set_bytes(p)
}

/// The GPU side: which option, its rate and where the rate comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuSide {
    /// `cuBLAS SGEMM on an A100-class GPU`.
    pub label: String,
    pub gflops: f64,
    /// `reference data from the seed talk's table (A100, 4096³)`.
    pub source: String,
}

/// GPU seconds for `p`: (total, of which copies).
pub fn gpu_seconds(p: &Problem, g: &GpuSide, t: &Transfer) -> (f64, f64) {
    let copy = transfer_bytes(p) / (t.pcie_gbs * 1e9);
    (t.launch_s + copy + p.flops() / (g.gflops * 1e9), copy)
}

/// The verdict for one problem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Crossover {
    pub cpu_label: String,
    pub gpu_label: String,
    pub cpu_s: f64,
    /// GPU total, copies and launch included.
    pub gpu_s: f64,
    pub gpu_transfer_s: f64,
    pub gpu_wins_here: bool,
    /// The smallest problem of the same shape (every dimension scaled by
    /// the same factor) at which the GPU wins; `None` when it loses at
    /// every size up to the largest tried.
    pub wins_above: Option<Problem>,
    /// One plain sentence.
    pub statement: String,
}

fn scaled(p: &Problem, f: f64) -> Problem {
    let s = |d: u64| ((d as f64 * f).round() as u64).max(1);
    Problem {
        m: s(p.m),
        n: s(p.n),
        k: s(p.k),
        ..p.clone()
    }
}

fn dims(p: &Problem) -> String {
    format!("{}×{}×{}", p.m, p.n, p.k)
}

/// Largest dimension tried when looking for the crossover.
pub const MAX_DIM: f64 = 65536.0;

/// Compares `cpu` (seconds per call for a problem) with the GPU at `p` and
/// over the same shape scaled from a largest dimension of 1 up to
/// [`MAX_DIM`] (eight steps per doubling).
pub fn crossover(
    p: &Problem,
    cpu: &dyn Fn(&Problem) -> f64,
    cpu_label: &str,
    g: &GpuSide,
    t: &Transfer,
) -> Crossover {
    let cpu_s = cpu(p);
    let (gpu_s, copy) = gpu_seconds(p, g, t);
    let gpu_wins_here = gpu_s < cpu_s;
    let largest = p.m.max(p.n).max(p.k) as f64;
    let mut wins_above = None;
    let mut f = 1.0 / largest;
    while f * largest <= MAX_DIM * 1.0001 {
        let q = scaled(p, f);
        if gpu_seconds(&q, g, t).0 < cpu(&q) {
            wins_above = Some(q);
            break;
        }
        f *= 2f64.powf(0.125);
    }
    let head = format!(
        "On {}, {} would take {} ({} of it copying operands at {:.0} GB/s, plus launch) against {} \
         with {} here",
        g.label,
        dims(p),
        human_seconds(gpu_s),
        human_seconds(copy),
        t.pcie_gbs,
        human_seconds(cpu_s),
        cpu_label
    );
    let statement = match (&wins_above, gpu_wins_here) {
        (Some(w), true) => format!(
            "{head}: offloading wins ({:.1}× faster); it wins above about {}.",
            cpu_s / gpu_s,
            dims(w)
        ),
        (Some(w), false) => format!(
            "{head}: the GPU loses at this size ({:.1}× slower once the copies are counted); \
             it wins above about {}.",
            gpu_s / cpu_s,
            dims(w)
        ),
        (None, _) => format!(
            "{head}: the GPU loses at this size, and at every size of this shape up to a largest \
             dimension of {MAX_DIM:.0}: the copies cost more than the CPU's compute."
        ),
    };
    Crossover {
        cpu_label: cpu_label.into(),
        gpu_label: g.label.clone(),
        cpu_s,
        gpu_s,
        gpu_transfer_s: copy,
        gpu_wins_here,
        wins_above,
        statement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::DType;

    fn gpu() -> GpuSide {
        GpuSide {
            label: "a test GPU".into(),
            gflops: 10_000.0,
            source: "test".into(),
        }
    }

    #[test]
    fn gpu_wins_above_a_size_and_loses_below() {
        // CPU at a constant 100 GFLOP/s.
        let cpu = |q: &Problem| q.flops() / 100e9;
        let t = Transfer::default();
        let small = Problem::gemm(64, 64, 64, DType::F32);
        let c = crossover(&small, &cpu, "OpenBLAS", &gpu(), &t);
        assert!(!c.gpu_wins_here, "{c:?}");
        assert!(
            c.statement.contains("the GPU loses at this size"),
            "{}",
            c.statement
        );
        let w = c.wins_above.clone().unwrap();
        // Analytically: 2s³/100e9 = 10e-6 + 12s²/25e9 + 2s³/1e13 → s ≈ 90.
        assert!(w.m > 64 && w.m < 128, "{w:?}");
        assert!(c
            .statement
            .contains(&format!("wins above about {}", dims(&w))));
        let big = Problem::gemm(4096, 4096, 4096, DType::F32);
        let c = crossover(&big, &cpu, "OpenBLAS", &gpu(), &t);
        assert!(c.gpu_wins_here);
        assert!(c.statement.contains("offloading wins"), "{}", c.statement);
        assert!(c.gpu_transfer_s > 0.0 && c.gpu_s > c.gpu_transfer_s);
    }

    #[test]
    fn gpu_never_wins_when_copies_dominate() {
        // A CPU as fast per FLOP as the GPU: the copies always lose.
        let cpu = |q: &Problem| q.flops() / 10_000e9;
        let p = Problem::gemm(1024, 1024, 1024, DType::F32);
        let c = crossover(&p, &cpu, "a fast CPU", &gpu(), &Transfer::default());
        assert!(!c.gpu_wins_here);
        assert!(c.wins_above.is_none());
        assert!(c.statement.contains("at every size"), "{}", c.statement);
    }

    #[test]
    fn measured_copies_replace_the_assumed_pcie_rate() {
        let p = Problem::gemm(1000, 1000, 1000, DType::F32);
        let mut r = Row::not_ok(
            "cuda-naive",
            "x".into(),
            crate::candidates::Backend::Gpu,
            "f32".into(),
            Status::Ok,
            String::new(),
        );
        r.transfer_s = Some(12e6 / 10e9);
        let t = Transfer::from_rows(&[(p, r)]);
        assert!((t.pcie_gbs - 10.0).abs() < 1e-9);
        assert!(t.pcie_source.starts_with("measured here"));
        assert!(Transfer::from_rows(&[]).pcie_source.contains("31.5 GB/s"));
    }
}
