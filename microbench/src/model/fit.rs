//! Fitted models of time per call, one per (machine, candidate, variant),
//! from the rows in the store: ordinary least squares (linfa-linear) of
//! `ln(seconds / FLOPs)` on the features of [`super::features`], with the
//! number of features chosen by leave-one-out cross-validation so that a
//! handful of points still fit (one point: constant GFLOP/s).

use linfa::prelude::*;
use linfa_linear::LinearRegression;
use ndarray::{Array1, Array2};
use serde::Serialize;

use super::features;
use crate::fingerprint::Caches;
use crate::problem::{DType, Operation, Problem};
use crate::report::{Row, Status};

/// Never more features than this, whatever the number of points.
pub const MAX_FEATURES: usize = 4;

/// One measured point.
#[derive(Clone, Debug)]
pub struct Sample {
    pub problem: Problem,
    pub seconds: f64,
}

/// `intercept + Σ coef · feature[column]` over the target of
/// [`features::target`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Linear {
    pub columns: Vec<usize>,
    pub coef: Vec<f64>,
    pub intercept: f64,
}

impl Linear {
    /// Least squares on the given columns (intercept only when none).
    /// `None` when the solver fails or gives a non-finite coefficient.
    pub fn fit(x: &[Vec<f64>], y: &[f64], columns: &[usize]) -> Option<Linear> {
        if y.is_empty() {
            return None;
        }
        if columns.is_empty() {
            return Some(Linear {
                columns: Vec::new(),
                coef: Vec::new(),
                intercept: y.iter().sum::<f64>() / y.len() as f64,
            });
        }
        let n = x.len();
        let records = Array2::from_shape_fn((n, columns.len()), |(i, j)| x[i][columns[j]]);
        let targets = Array1::from(y.to_vec());
        let ds = Dataset::new(records, targets);
        let fitted = LinearRegression::new().fit(&ds).ok()?;
        let coef: Vec<f64> = fitted.params().to_vec();
        let intercept = fitted.intercept();
        (intercept.is_finite() && coef.iter().all(|c| c.is_finite())).then(|| Linear {
            columns: columns.to_vec(),
            coef,
            intercept,
        })
    }

    pub fn eval(&self, f: &[f64]) -> f64 {
        self.intercept
            + self
                .columns
                .iter()
                .zip(&self.coef)
                .map(|(&j, c)| c * f[j])
                .sum::<f64>()
    }
}

/// One left-out point: fitted on the others, predicted here.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LooPoint {
    pub problem: Problem,
    pub measured_s: f64,
    pub predicted_s: f64,
    /// `|predicted − measured| / measured`.
    pub rel_error: f64,
}

/// Leave-one-out cross-validation of a model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Validation {
    pub points: Vec<LooPoint>,
    pub median_rel: f64,
    /// The 80th percentile of the leave-one-out errors: the printed `±`
    /// (a bound that holds for most points, not a typical error).
    pub p80_rel: f64,
    pub max_rel: f64,
}

/// A fitted model of one candidate on one machine.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FittedModel {
    pub machine: String,
    pub candidate: String,
    /// Loop order and layout for the naive candidates (whose speed depends
    /// on them), empty for the others.
    pub variant: String,
    pub caches: Caches,
    pub linear: Linear,
    /// Names of the features used (in `linear.columns` order).
    pub features: Vec<&'static str>,
    /// Measured points fitted.
    pub points: usize,
    /// `None` with a single point (no error can be estimated).
    pub validation: Option<Validation>,
    /// Smallest and largest FLOPs fitted (outside: extrapolated).
    pub flops_range: (f64, f64),
    /// What ran, from the newest row's provenance.
    pub what: String,
}

impl FittedModel {
    /// Seconds per call predicted for `p` (finite and positive).
    pub fn predict(&self, p: &Problem) -> f64 {
        let z = self.linear.eval(&features::all(p, &self.caches));
        let s = features::seconds(p, z);
        if s.is_finite() && s > 0.0 {
            s
        } else {
            // Only reachable through overflow at absurd sizes: fall back to
            // the constant-rate model through the intercept.
            features::seconds(p, self.linear.intercept).clamp(f64::MIN_POSITIVE, f64::MAX)
        }
    }

    /// Whether `p` lies outside the fitted sizes.
    pub fn extrapolates(&self, p: &Problem) -> bool {
        let f = p.flops();
        f < self.flops_range.0 * 0.999 || f > self.flops_range.1 * 1.001
    }

    /// `predicted from 9 points ±12% (LOO median; max 31%)`.
    pub fn describe(&self) -> String {
        match &self.validation {
            Some(v) => format!(
                "predicted from {} points ±{:.0}% (80% of leave-one-out errors within; median {:.0}%, max {:.0}%)",
                self.points,
                v.p80_rel * 100.0,
                v.median_rel * 100.0,
                v.max_rel * 100.0
            ),
            None => format!(
                "predicted from {} point at constant GFLOP/s (error unknown)",
                self.points
            ),
        }
    }
}

/// The variant key of a candidate for a problem.
pub fn variant(candidate: &str, p: &Problem) -> String {
    let naive = candidate.starts_with("c-naive") || candidate == "python-loop";
    let v = match (p.op, naive) {
        // A GEMV is another curve (memory-bound, 2 flops per element of A)
        // and never shares a model with a GEMM; its layout matters to the
        // library too (a transposed sweep).
        (Operation::Gemv, true) => {
            format!("gemv {} {}", p.loop_order.as_str(), p.layout.as_str())
        }
        (Operation::Gemv, false) => format!("gemv {}", p.layout.as_str()),
        (_, true) => format!("{} {}", p.loop_order.as_str(), p.layout.as_str()),
        (_, false) => String::new(),
    };
    // Another precision is another curve (f64 moves twice the bytes and
    // fills half the SIMD lanes); the elem-bytes feature alone is rarely
    // chosen, so f32 and f64 points never share a model. f32 keeps the
    // bare key.
    match p.dtype {
        DType::F32 => v,
        d if v.is_empty() => d.as_str().to_string(),
        d => format!("{v} {}", d.as_str()),
    }
}

fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

fn median(v: &[f64]) -> f64 {
    crate::stats::median(v)
}

/// Leave-one-out with the given columns (each fold drops the columns that
/// are degenerate on its own points). Returns ln-ratio errors and points.
fn loo(
    samples: &[Sample],
    x: &[Vec<f64>],
    y: &[f64],
    columns: &[usize],
) -> Option<(Vec<f64>, Vec<LooPoint>)> {
    let n = samples.len();
    let mut ln_err = Vec::with_capacity(n);
    let mut pts = Vec::with_capacity(n);
    for i in 0..n {
        let tx: Vec<Vec<f64>> = (0..n).filter(|&j| j != i).map(|j| x[j].clone()).collect();
        let ty: Vec<f64> = (0..n).filter(|&j| j != i).map(|j| y[j]).collect();
        let cols = features::independent_columns(&tx, columns, columns.len());
        let cols: Vec<usize> = cols.into_iter().take(tx.len().saturating_sub(2)).collect();
        let lin = Linear::fit(&tx, &ty, &cols)?;
        let z = lin.eval(&x[i]);
        let d = z - y[i];
        let p = &samples[i].problem;
        let predicted_s = features::seconds(p, z);
        ln_err.push(d);
        pts.push(LooPoint {
            problem: p.clone(),
            measured_s: samples[i].seconds,
            predicted_s,
            rel_error: (d.exp() - 1.0).abs(),
        });
    }
    Some((ln_err, pts))
}

/// Fits a model on `samples` (all of one candidate and variant on one
/// machine). `None` when there is no usable sample.
pub fn fit_samples(
    machine: &str,
    candidate: &str,
    variant: &str,
    caches: &Caches,
    samples: &[Sample],
    what: &str,
) -> Option<FittedModel> {
    let samples: Vec<Sample> = samples
        .iter()
        .filter(|s| s.seconds.is_finite() && s.seconds > 0.0 && s.problem.flops() > 0.0)
        .cloned()
        .collect();
    let n = samples.len();
    if n == 0 {
        return None;
    }
    let x: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| features::all(&s.problem, caches))
        .collect();
    let y: Vec<f64> = samples
        .iter()
        .map(|s| features::target(&s.problem, s.seconds))
        .collect();
    let all_cols: Vec<usize> = (0..features::NAMES.len()).collect();
    // Up to (n − 1) / 2 features, and at least two points more than
    // parameters in every leave-one-out fold.
    let p_max = ((n.saturating_sub(1)) / 2)
        .min(n.saturating_sub(2))
        .min(MAX_FEATURES);
    let mut best: Option<(f64, Vec<usize>, Vec<LooPoint>)> = None;
    if n >= 2 {
        for p in 0..=p_max {
            let cols = features::independent_columns(&x, &all_cols, p);
            if cols.len() < p {
                break;
            }
            let Some((ln_err, pts)) = loo(&samples, &x, &y, &cols) else {
                continue;
            };
            let score = rms(&ln_err);
            // A feature must earn its place: 5% better than the smaller model.
            if best.as_ref().is_none_or(|b| score < b.0 * 0.95) {
                best = Some((score, cols, pts));
            }
        }
    }
    let (columns, validation) = match best {
        Some((_, cols, pts)) => {
            let errs: Vec<f64> = pts.iter().map(|p| p.rel_error).collect();
            let v = Validation {
                median_rel: median(&errs),
                p80_rel: crate::model::reference::percentile(&errs, 0.8),
                max_rel: errs.iter().cloned().fold(0.0, f64::max),
                points: pts,
            };
            (cols, Some(v))
        }
        None => (Vec::new(), None),
    };
    let linear = Linear::fit(&x, &y, &columns).or_else(|| Linear::fit(&x, &y, &[]))?;
    let flops: Vec<f64> = samples.iter().map(|s| s.problem.flops()).collect();
    Some(FittedModel {
        machine: machine.to_string(),
        candidate: candidate.to_string(),
        variant: variant.to_string(),
        caches: caches.clone(),
        features: linear.columns.iter().map(|&j| features::NAMES[j]).collect(),
        linear,
        points: n,
        validation,
        flops_range: (
            flops.iter().cloned().fold(f64::INFINITY, f64::min),
            flops.iter().cloned().fold(0.0, f64::max),
        ),
        what: what.to_string(),
    })
}

/// Every model of one machine.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Models {
    pub machine: String,
    pub models: Vec<FittedModel>,
}

impl Models {
    /// Fits one model per (candidate, variant) from the machine's stored
    /// rows (ok rows with a time; GEMM and batched GEMM, and GEMV in
    /// models of its own: [`variant`]).
    pub fn fit(machine: &str, caches: &Caches, rows: &[(Problem, Row)]) -> Models {
        let mut groups: Vec<((String, String), Vec<Sample>, String)> = Vec::new();
        for (p, r) in rows {
            if r.status != Status::Ok || p.validate().is_err() {
                continue;
            }
            let Some(s) = r.seconds_per_call.filter(|s| s.is_finite() && *s > 0.0) else {
                continue;
            };
            let key = (r.id.clone(), variant(&r.id, p));
            let what = r
                .provenance
                .as_ref()
                .map(|pr| pr.what.clone())
                .unwrap_or_default();
            let sample = Sample {
                problem: p.clone(),
                seconds: s,
            };
            match groups.iter_mut().find(|g| g.0 == key) {
                Some(g) => {
                    g.1.push(sample);
                    g.2 = what;
                }
                None => groups.push((key, vec![sample], what)),
            }
        }
        let models = groups
            .into_iter()
            .filter_map(|((c, v), s, what)| fit_samples(machine, &c, &v, caches, &s, &what))
            .collect();
        Models {
            machine: machine.to_string(),
            models,
        }
    }

    /// The model of `candidate` for `p`'s variant.
    pub fn get(&self, candidate: &str, p: &Problem) -> Option<&FittedModel> {
        let v = variant(candidate, p);
        self.models
            .iter()
            .find(|m| m.candidate == candidate && m.variant == v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::DType;

    fn caches() -> Caches {
        Caches {
            l1d: Some(48 << 10),
            l2: Some(2 << 20),
            l3: Some(32 << 20),
        }
    }

    fn cube(s: u64) -> Problem {
        Problem::gemm(s, s, s, DType::F32)
    }

    #[test]
    fn a_power_law_is_recovered_with_small_error() {
        // Time ∝ (MNK)^1.1 with 1% deterministic noise: the rate falls off
        // slowly with size.
        let sizes = [64u64, 96, 128, 192, 256, 384, 512, 768, 1024];
        let samples: Vec<Sample> = sizes
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let noise = 1.0 + 0.01 * if i % 2 == 0 { 1.0 } else { -1.0 };
                Sample {
                    problem: cube(s),
                    seconds: 1e-9 * ((s * s * s) as f64).powf(1.1) * noise,
                }
            })
            .collect();
        let m = fit_samples("m", "c", "", &caches(), &samples, "w").unwrap();
        let v = m.validation.as_ref().unwrap();
        assert_eq!(v.points.len(), sizes.len());
        assert!(v.median_rel < 0.05, "{v:?}");
        let p = cube(2048);
        let want = 1e-9 * ((2048u64.pow(3)) as f64).powf(1.1);
        let got = m.predict(&p);
        assert!((got / want - 1.0).abs() < 0.15, "{got} vs {want}");
        assert!(m.extrapolates(&p) && !m.extrapolates(&cube(256)));
        assert!(m.describe().contains("from 9 points"), "{}", m.describe());
    }

    #[test]
    fn one_point_is_constant_rate_with_unknown_error() {
        let s = [Sample {
            problem: cube(100),
            seconds: 2e-3,
        }];
        let m = fit_samples("m", "c", "", &caches(), &s, "w").unwrap();
        assert!(m.validation.is_none());
        assert!(m.features.is_empty());
        // Twice the size: 8× the FLOPs, 8× the time.
        assert!((m.predict(&cube(200)) / 16e-3 - 1.0).abs() < 1e-9);
        assert!(m.describe().contains("error unknown"));
        // Two points: still no feature, but an error.
        let s2 = [
            s[0].clone(),
            Sample {
                problem: cube(200),
                seconds: 20e-3,
            },
        ];
        let m = fit_samples("m", "c", "", &caches(), &s2, "w").unwrap();
        assert!(m.features.is_empty());
        assert!(m.validation.unwrap().max_rel > 0.0);
        assert!(fit_samples("m", "c", "", &caches(), &[], "w").is_none());
    }

    #[test]
    fn variants_split_the_naive_loops_only() {
        let mut p = cube(8);
        assert_eq!(variant("c-naive-O1", &p), "ijk nn");
        p.loop_order = crate::problem::LoopOrder::parse("ikj").unwrap();
        assert_eq!(variant("python-loop", &p), "ikj nn");
        assert_eq!(variant("openblas", &p), "");
        p.op = Operation::Gemv;
        p.n = 1;
        assert_eq!(variant("c-naive-O3", &p), "gemv ikj nn");
        assert_eq!(variant("openblas", &p), "gemv nn");
        let d = Problem::gemm(8, 8, 8, DType::F64);
        assert_eq!(variant("openblas", &d), "f64");
        assert_eq!(variant("c-naive-O1", &d), "ijk nn f64");
    }
}
