//! The features the fitted models see: logarithms of the problem's sizes
//! and of its working set against this machine's measured cache sizes.
//!
//! The target is `ln(seconds per call / FLOPs)`: a candidate that runs at a
//! constant rate is a constant, so the model with no features at all (the
//! intercept) is the physically sensible "constant GFLOP/s" model, and each
//! feature only bends it where the data say so.

use crate::fingerprint::Caches;
use crate::problem::Problem;

/// Names of the features, in the order the fit tries them (most physical
/// first: the reduction depth, then the cache spills, then the output size).
pub const NAMES: &[&str] = &[
    "ln K",
    "ln(ws/L2)+",
    "ln(M·N·batch)",
    "ln(ws/L1d)+",
    "ln(ws/L3)+",
    "ln(elem bytes)",
    "ln(M/N)",
];

/// Operand bytes touched once: A, B and C (`(MK + KN + MN) · batch · elem`).
/// The working set for the cache features and the compulsory traffic of
/// the roofline bound.
pub fn working_set_bytes(p: &Problem) -> f64 {
    let (m, n, k) = (p.m as f64, p.n as f64, p.k as f64);
    (m * k + k * n + m * n) * p.batch as f64 * p.dtype.size_bytes() as f64
}

/// `max(0, ln(ws / cache))`, 0 when the cache size is unknown.
fn spill(ws: f64, cache: Option<u64>) -> f64 {
    match cache {
        Some(c) if c > 0 => (ws / c as f64).ln().max(0.0),
        _ => 0.0,
    }
}

/// All features of `p` on a machine with `caches`, in [`NAMES`] order.
pub fn all(p: &Problem, caches: &Caches) -> Vec<f64> {
    let ws = working_set_bytes(p);
    let outputs = p.m as f64 * p.n as f64 * p.batch as f64;
    vec![
        (p.k as f64).ln(),
        spill(ws, caches.l2),
        outputs.ln(),
        spill(ws, caches.l1d),
        spill(ws, caches.l3),
        (p.dtype.size_bytes() as f64).ln(),
        (p.m as f64 / p.n as f64).ln(),
    ]
}

/// The model's target for a measured time: `ln(seconds per call / FLOPs)`.
pub fn target(p: &Problem, seconds_per_call: f64) -> f64 {
    (seconds_per_call / p.flops()).ln()
}

/// Back from the target to seconds per call.
pub fn seconds(p: &Problem, target: f64) -> f64 {
    target.exp() * p.flops()
}

/// From the columns of `x` (rows = points), the indices that are usable
/// together, in order: a column is skipped when it is constant over the
/// points, or (nearly) a linear combination of the columns kept before it
/// (Gram–Schmidt on centred columns, relative residual under 1e-6). At most
/// `max` are kept.
pub fn independent_columns(x: &[Vec<f64>], candidates: &[usize], max: usize) -> Vec<usize> {
    let n = x.len();
    let mut kept: Vec<usize> = Vec::new();
    let mut basis: Vec<Vec<f64>> = Vec::new();
    if n < 2 {
        return kept;
    }
    for &j in candidates {
        if kept.len() >= max {
            break;
        }
        let mean = x.iter().map(|r| r[j]).sum::<f64>() / n as f64;
        let mut v: Vec<f64> = x.iter().map(|r| r[j] - mean).collect();
        let norm0 = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if !norm0.is_finite() || norm0 < 1e-9 {
            continue;
        }
        for b in &basis {
            let d: f64 = v.iter().zip(b).map(|(a, c)| a * c).sum();
            for (a, c) in v.iter_mut().zip(b) {
                *a -= d * c;
            }
        }
        let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm / norm0 < 1e-6 {
            continue;
        }
        for a in &mut v {
            *a /= norm;
        }
        basis.push(v);
        kept.push(j);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::DType;

    #[test]
    fn cube_features_and_collinearity() {
        let caches = Caches {
            l1d: Some(48 << 10),
            l2: Some(2 << 20),
            l3: Some(480 << 20),
        };
        let p = Problem::gemm(1024, 1024, 1024, DType::F32);
        let f = all(&p, &caches);
        assert_eq!(f.len(), NAMES.len());
        assert!((f[0] - 1024f64.ln()).abs() < 1e-12);
        // 12 MiB working set against a 2 MiB L2.
        assert!((f[1] - 6f64.ln()).abs() < 1e-9, "{f:?}");
        assert_eq!(f[4], 0.0, "fits in L3");
        // Cubes: ln(M·N) = 2 ln K is dropped; constant columns are dropped.
        let x: Vec<Vec<f64>> = [64u64, 128, 256, 512, 1024, 2048]
            .iter()
            .map(|&s| all(&Problem::gemm(s, s, s, DType::F32), &caches))
            .collect();
        let all_cols: Vec<usize> = (0..NAMES.len()).collect();
        let kept = independent_columns(&x, &all_cols, 10);
        assert_eq!(kept[0], 0);
        assert!(!kept.contains(&2), "{kept:?}");
        assert!(!kept.contains(&4) && !kept.contains(&5) && !kept.contains(&6));
        assert_eq!(independent_columns(&x, &all_cols, 1), vec![0]);
        assert!(independent_columns(&x[..1], &all_cols, 3).is_empty());
        let t = target(&p, 0.5);
        assert!((seconds(&p, t) - 0.5).abs() < 1e-12);
    }
}
