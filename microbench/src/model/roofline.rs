//! The roofline lower bound on the time of a problem on this machine:
//! no faster than its FLOPs at the peak GEMM rate, and no faster than its
//! compulsory operand traffic (A and B read once, C written once) at the
//! memory bandwidth. A model prediction under the bound is clamped to it and
//! flagged.

use serde::Serialize;

use super::features::working_set_bytes;
use crate::ceilings::{self, Bandwidth};
use crate::fingerprint::Machine;
use crate::problem::Problem;
use crate::report::{Row, Status};

/// The ceilings the bound uses, each with where it comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Roofline {
    /// Peak rate, GFLOP/s.
    pub peak_gflops: f64,
    /// `measured: OpenBLAS sgemm at 2048³` or the theoretical formula.
    pub peak_source: String,
    /// Memory bandwidth, GB/s, when measured.
    pub bandwidth_gbs: Option<f64>,
    pub bandwidth_source: String,
}

/// A time after the bound: the value and whether it was clamped.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Clamped {
    pub seconds: f64,
    pub clamped: bool,
    /// The bound itself.
    pub bound_s: f64,
}

impl Roofline {
    /// From this machine: the peak is the larger of the theoretical FP32
    /// peak (an estimate from the fingerprint, an upper bound on any rate)
    /// and the best GFLOP/s measured here in `rows` (f32 or f64 GEMMs), so
    /// that the bound never cuts a measured rate; the bandwidth is the
    /// measured STREAM-like figure when given. `None` when neither peak is
    /// known.
    pub fn for_machine(
        m: &Machine,
        rows: &[(Problem, Row)],
        bandwidth: Option<&Bandwidth>,
    ) -> Option<Roofline> {
        let theory = ceilings::theoretical_fp32_peak(m);
        let measured = rows
            .iter()
            .filter(|(_, r)| r.status == Status::Ok && r.backend != crate::candidates::Backend::Gpu)
            .filter_map(|(p, r)| r.gflops.filter(|g| g.is_finite()).map(|g| (g, p, r)))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let (peak_gflops, peak_source) = match (&theory, measured) {
            (Some(t), Some((g, p, r))) if g > t.gflops => (
                g,
                format!("measured here: {} at {}", r.candidate, p.describe()),
            ),
            (Some(t), _) => (t.gflops, format!("FP32 peak {}", t.formula)),
            (None, Some((g, p, r))) => (
                g,
                format!(
                    "measured here: {} at {} (best rate seen; no theoretical peak)",
                    r.candidate,
                    p.describe()
                ),
            ),
            (None, None) => return None,
        };
        Some(Roofline {
            peak_gflops,
            peak_source,
            bandwidth_gbs: bandwidth.map(|b| b.best_gbs()),
            bandwidth_source: bandwidth.map_or_else(
                || "memory bandwidth not measured: compute bound only".into(),
                |b| format!("measured here: {}", b.method),
            ),
        })
    }

    /// The lower bound on seconds per call for `p`.
    pub fn bound_s(&self, p: &Problem) -> f64 {
        let compute = p.flops() / (self.peak_gflops * 1e9);
        let memory = self
            .bandwidth_gbs
            .filter(|b| *b > 0.0)
            .map_or(0.0, |b| working_set_bytes(p) / (b * 1e9));
        compute.max(memory)
    }

    /// `predicted`, or the bound when the prediction is under it.
    pub fn clamp(&self, p: &Problem, predicted: f64) -> Clamped {
        let bound_s = self.bound_s(p);
        if predicted < bound_s {
            Clamped {
                seconds: bound_s,
                clamped: true,
                bound_s,
            }
        } else {
            Clamped {
                seconds: predicted,
                clamped: false,
                bound_s,
            }
        }
    }

    /// `roofline: 256 GFLOP/s (…), 20 GB/s (…)`.
    pub fn describe(&self) -> String {
        let bw = self
            .bandwidth_gbs
            .map_or_else(|| "no bandwidth".to_string(), |b| format!("{b:.1} GB/s"));
        format!(
            "roofline bound at {:.1} GFLOP/s ({}) and {} ({})",
            self.peak_gflops, self.peak_source, bw, self.bandwidth_source
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::DType;

    fn roof() -> Roofline {
        Roofline {
            peak_gflops: 100.0,
            peak_source: "test".into(),
            bandwidth_gbs: Some(10.0),
            bandwidth_source: "test".into(),
        }
    }

    #[test]
    fn compute_bound_clamp() {
        let r = roof();
        let p = Problem::gemm(1000, 1000, 1000, DType::F32);
        // 2 GFLOP at 100 GFLOP/s = 20 ms; 12 MB at 10 GB/s = 1.2 ms.
        assert!((r.bound_s(&p) - 0.02).abs() < 1e-12);
        let c = r.clamp(&p, 0.005);
        assert!(c.clamped);
        assert_eq!(c.seconds, c.bound_s);
        let c = r.clamp(&p, 0.5);
        assert!(!c.clamped);
        assert_eq!(c.seconds, 0.5);
    }

    #[test]
    fn memory_bound_clamp_for_a_thin_problem() {
        let r = roof();
        // K = 1: 2·M·N FLOPs, but (M + N + M·N)·4 bytes of traffic.
        let p = Problem::gemm(4096, 4096, 1, DType::F32);
        let mem = working_set_bytes(&p) / 10e9;
        assert!((r.bound_s(&p) - mem).abs() < 1e-15);
        assert!(r.clamp(&p, mem / 2.0).clamped);
        // Without a bandwidth the bound is compute only.
        let mut r2 = r.clone();
        r2.bandwidth_gbs = None;
        assert!(r2.bound_s(&p) < mem);
        assert!(r2.describe().contains("no bandwidth"));
    }

    #[test]
    fn peak_prefers_the_larger_of_theory_and_measurement() {
        let mut m = Machine::default();
        assert!(Roofline::for_machine(&m, &[], None).is_none());
        m.cpu.physical_cores = Some(2);
        m.cpu.mhz = Some(2000.0);
        m.cpu.flags = vec!["avx2".into(), "fma".into()];
        m.cpu.arch = "x86_64".into();
        let r = Roofline::for_machine(&m, &[], None).unwrap();
        assert!((r.peak_gflops - 128.0).abs() < 1e-9);
        let p = Problem::gemm(64, 64, 64, DType::F32);
        let mut row = Row::not_ok(
            "openblas",
            "OpenBLAS".into(),
            crate::candidates::Backend::Cpu,
            "f32".into(),
            Status::Ok,
            String::new(),
        );
        row.gflops = Some(200.0);
        let r = Roofline::for_machine(&m, &[(p, row)], None).unwrap();
        assert_eq!(r.peak_gflops, 200.0);
        assert!(r.peak_source.starts_with("measured here"));
    }
}
