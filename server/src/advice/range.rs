//! Advice when a size is not known: the finding's dims that have no value
//! in the code (function parameters, `A.shape[0]`, config objects) are
//! given each of a few assumed sizes in turn — [`ASSUMED`] for matrix
//! dims, [`ASSUMED_BATCH`] for a batch — with the known dims kept, and the
//! same Estimate API answers for each. The headline then says the cost as
//! a range over those sizes, names the sizes as assumed, and keeps every
//! number's provenance; the hover shows the curve as a table. A range
//! never fires a speed-up gate by its best case: the speed-up it reports
//! for gates is the smallest over the range.

use gemmscope_analyzers::{Dim, Finding};
use gemmscope_microbench::estimate::{speedup_text, Estimate, Estimator, Line, MeasurePolicy};
use gemmscope_microbench::report::human_seconds;

use super::hover::cell;
use super::{as_written_for, problem_for, NoProblem, Speedup};

/// The sizes an unknown matrix dim takes, smallest first.
pub const ASSUMED: [u64; 4] = [64, 256, 1024, 4096];
/// The sizes an unknown batch count takes, with the same index.
pub const ASSUMED_BATCH: [u64; 4] = [1, 4, 16, 64];
/// The head dim an attention's unknown head dim is taken to be, at every
/// assumed size (GPT-2's, LLaMA's and most models' 64; 128 is the other
/// common one).
pub const ASSUMED_HEAD_DIM: u64 = 64;

/// The estimates of one finding over assumed sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeAdvice {
    /// What was assumed: `n = 64…4096` or `M (B*T), N (OC), K (C) = 64…4096 each`.
    pub assumed: String,
    /// One estimate per assumed size that could be estimated, smallest
    /// first.
    pub points: Vec<Estimate>,
}

/// The dims of `f` that have no value, by role, each with its expression
/// (a matrix dim the code does not name at all — the rows of the input of
/// an `nn.Linear` — is `M (not in the code)`; a missing batch is 1, and a
/// GEMV has no N).
fn unknown(f: &Finding) -> Vec<(&'static str, String)> {
    let gemv = f.routine == gemmscope_analyzers::Routine::Gemv;
    let attention = f.routine == gemmscope_analyzers::Routine::Sdpa;
    [
        ("M", &f.dims.m),
        ("N", &f.dims.n),
        ("K", &f.dims.k),
        ("batch", &f.dims.batch),
    ]
    .into_iter()
    .filter_map(|(r, d)| match d {
        Some(d) => d.value.is_none().then(|| (r, d.expr.clone())),
        None if r == "batch" || (gemv && r == "N") => None,
        // Attention's keys are as many as its queries unless said.
        None if attention && r == "N" => None,
        None if attention && r == "M" => Some((r, "T (queries, not in the code)".into())),
        None if attention && r == "K" => Some((r, "d (head dim, not in the code)".into())),
        None => Some((r, format!("{r} (not in the code)"))),
    })
    .collect()
}

/// `f` with its unknown dims set to the `i`th assumed size.
fn assume(f: &Finding, i: usize) -> Finding {
    let unknown = unknown(f);
    let head_dim = [ASSUMED_HEAD_DIM; 4];
    let k_sizes = match f.routine {
        gemmscope_analyzers::Routine::Sdpa => &head_dim,
        _ => &ASSUMED,
    };
    let mut g = f.clone();
    for (role, d, sizes) in [
        ("M", &mut g.dims.m, &ASSUMED),
        ("N", &mut g.dims.n, &ASSUMED),
        ("K", &mut g.dims.k, k_sizes),
        ("batch", &mut g.dims.batch, &ASSUMED_BATCH),
    ] {
        let Some((_, expr)) = unknown.iter().find(|(r, _)| *r == role) else {
            continue;
        };
        match d {
            Some(d) => d.value = Some(sizes[i]),
            None => *d = Some(Dim::new(expr, Some(sizes[i]))),
        }
    }
    g
}

/// What was assumed, in words (an attention's head dim is one size, not a
/// range: [`ASSUMED_HEAD_DIM`]).
fn assumed_text(unknown: &[(&'static str, String)], attention: bool) -> String {
    let fixed_k = |r: &str| attention && r == "K";
    let mut exprs: Vec<&str> = unknown
        .iter()
        .filter(|(r, _)| *r != "batch" && !fixed_k(r))
        .map(|(_, e)| e.as_str())
        .collect();
    // Each expression once, in role order (M, N, K).
    let mut seen = std::collections::HashSet::new();
    exprs.retain(|e| seen.insert(*e));
    let span = format!("{}…{}", ASSUMED[0], ASSUMED[ASSUMED.len() - 1]);
    let mut parts = Vec::new();
    match exprs.as_slice() {
        [] => {}
        [one] => parts.push(format!("{one} = {span}")),
        many => parts.push(format!("{} = {span} each", many.join(", "))),
    }
    if let Some((_, e)) = unknown.iter().find(|(r, _)| fixed_k(r)) {
        parts.push(format!("{e} = {ASSUMED_HEAD_DIM}"));
    }
    if let Some((_, e)) = unknown.iter().find(|(r, _)| *r == "batch") {
        parts.push(format!(
            "batch {} = {}…{}",
            e,
            ASSUMED_BATCH[0],
            ASSUMED_BATCH[ASSUMED_BATCH.len() - 1]
        ));
    }
    parts.join(", ")
}

/// Why assumed sizes gave no range either.
#[derive(Clone, Debug, PartialEq)]
pub enum NoRange {
    /// `f` lacks a problem for another reason than unknown dims (or has
    /// none unknown): the range is not tried.
    NotTried,
    /// Tried: at no assumed size has the code as written a number; why, in
    /// a few words (`python-loop: no reference data`).
    NoNumber(String),
}

/// The estimates over assumed sizes, where the only reason `f` has no
/// problem is that some dims have no value.
pub fn over_sizes(
    f: &Finding,
    est: &Estimator,
    policy: MeasurePolicy,
) -> Result<RangeAdvice, NoRange> {
    over_sizes_built(f, est, policy, None)
}

/// [`over_sizes`] for code built with `built` (its as-written candidate:
/// [`super::as_written_built`]).
pub fn over_sizes_built(
    f: &Finding,
    est: &Estimator,
    policy: MeasurePolicy,
    built: Option<&super::Built>,
) -> Result<RangeAdvice, NoRange> {
    if !matches!(problem_for(f), Err(NoProblem::UnresolvedDim(..))) {
        return Err(NoRange::NotTried);
    }
    let unknown = unknown(f);
    if unknown.is_empty() {
        return Err(NoRange::NotTried);
    }
    let mut why = None;
    let points: Vec<Estimate> = (0..ASSUMED.len())
        .filter_map(|i| {
            let g = assume(f, i);
            let p = problem_for(&g).ok()?;
            let aw = match built {
                Some(_) => super::as_written_built(&g, &p, est, built).0,
                None => as_written_for(&g, &p, est),
            };
            let e = est.estimate(&p, aw, policy);
            if e.as_written.is_none() && why.is_none() {
                why = Some(
                    match e.unknown.iter().find(|(id, _)| *id == e.as_written_id) {
                        Some((id, reason)) => format!("{id}: {reason}"),
                        None => format!(
                            "{}: not measured, no model, no reference data",
                            e.as_written_id
                        ),
                    },
                );
            }
            e.as_written.is_some().then_some(e)
        })
        .collect();
    if points.is_empty() {
        return Err(NoRange::NoNumber(why.unwrap_or_else(|| {
            "the assumed sizes make no problem the tool can estimate".into()
        })));
    }
    Ok(RangeAdvice {
        assumed: assumed_text(&unknown, f.routine == gemmscope_analyzers::Routine::Sdpa),
        points,
    })
}

/// The option one estimate names ([`Estimate::best`]).
fn best_of(e: &Estimate) -> Option<&Line> {
    e.best()
}

fn span(lo: f64, hi: f64, f: impl Fn(f64) -> String) -> String {
    let (a, b) = (f(lo), f(hi));
    if a == b {
        a
    } else {
        format!("{a}–{b}")
    }
}

impl RangeAdvice {
    /// The code as written's time per output at each point (ns).
    fn per_output(&self) -> Vec<f64> {
        self.points
            .iter()
            .filter_map(|e| e.as_written.as_ref().map(|l| l.ns_per_output))
            .collect()
    }

    /// The best speed-up at each point (1 where nothing is faster).
    fn factors(&self) -> Vec<f64> {
        self.points
            .iter()
            .map(|e| best_of(e).and_then(|l| l.speedup).unwrap_or(1.0))
            .collect()
    }

    /// The largest best speed-up over the range (1 where the options with
    /// a number are all slower); `None` where no option has a number.
    pub fn max_factor(&self) -> Option<f64> {
        let known = self
            .points
            .iter()
            .any(|e| e.alternatives.iter().any(|l| l.speedup.is_some()));
        known.then(|| self.factors().into_iter().fold(1.0, f64::max))
    }

    /// The headline: the cost as written and the best option as ranges,
    /// with the sizes said to be assumed and each number's provenance
    /// (that of the middle point).
    pub fn headline(&self) -> String {
        let ns = self.per_output();
        let lo = ns.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ns.iter().copied().fold(0.0, f64::max);
        let mid = &self.points[self.points.len() / 2];
        let aw = mid
            .as_written
            .as_ref()
            .expect("points have the code as written");
        let mut s = format!(
            "sizes unknown here; assuming {}: {} ~{} per output ({})",
            self.assumed,
            aw.label,
            span(lo, hi, |x| human_seconds(x * 1e-9)),
            aw.source.short()
        );
        let factors = self.factors();
        if let Some(b) = best_of(mid) {
            let flo = factors.iter().copied().fold(f64::INFINITY, f64::min);
            let fhi = factors.iter().copied().fold(0.0, f64::max);
            s.push_str(&format!(
                "; {} is {} faster over that range ({})",
                b.label,
                span(flo, fhi, speedup_text),
                b.source.short()
            ));
        } else {
            s.push_str("; nothing measured or predicted is faster at these sizes");
        }
        s
    }

    /// For gates: the smallest best speed-up over the range, named with
    /// the option that gives it and how it is known.
    pub fn gate_speedup(&self) -> Option<Speedup> {
        let (i, x) = self
            .factors()
            .into_iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        let b = best_of(&self.points[i])?;
        Some(Speedup {
            factor: x,
            candidate: b.candidate.clone(),
            provenance: format!(
                "the least over the assumed sizes {} (at {}); {}; accuracy cost {}",
                self.assumed,
                self.points[i].problem.describe(),
                b.source.short(),
                b.accuracy.text
            ),
            headline: self.headline(),
        })
    }

    /// The inlay hint: `~0.2–30 µs/output`.
    pub fn inlay(&self) -> String {
        let ns = self.per_output();
        let lo = ns.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ns.iter().copied().fold(0.0, f64::max);
        format!("~{}/output", span(lo, hi, |x| human_seconds(x * 1e-9)))
    }

    /// The hover: the curve as a table over the assumed sizes.
    pub fn markdown(&self, f: &Finding, machine_text: &str) -> String {
        let mut s = format!(
            "**{}**\n\n{}\n\nThis machine: {}\n\n\
             | assumed size | as written, per output | best option | per output | speed-up | how known |\n\
             |---|--:|---|--:|--:|---|\n",
            cell(&f.message),
            cell(&self.headline()),
            cell(machine_text)
        );
        for e in &self.points {
            let Some(aw) = &e.as_written else { continue };
            let best = best_of(e);
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                cell(&e.problem.describe()),
                human_seconds(aw.ns_per_output * 1e-9),
                best.map(|b| cell(&b.label)).unwrap_or_else(|| "—".into()),
                best.map(|b| human_seconds(b.ns_per_output * 1e-9))
                    .unwrap_or_else(|| "—".into()),
                best.and_then(|b| b.speedup)
                    .map(speedup_text)
                    .unwrap_or_else(|| "—".into()),
                cell(&format!(
                    "as written: {}; best: {}",
                    aw.source.short(),
                    best.map(|b| b.source.short()).unwrap_or_default()
                )),
            ));
        }
        s.push_str(
            "\nThe sizes are assumed: the code gives them no value here. Defined as \
             constants (`#define`, `const`, a module-level constant), they give the \
             number at the real size.\n",
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advice::{Advisor, BenchMode};
    use gemmscope_analyzers::{analyze, NoIncludes};

    fn first(path: &str, src: &str) -> Finding {
        analyze(path, src, &NoIncludes).unwrap().findings.remove(0)
    }

    const PARAM_GEMM: &str = "void f(int n, const float *A, const float *B, float *C) {\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n + j] += A[i*n + k] * B[k*n + j];\n}\n";

    #[test]
    fn an_unknown_size_gets_a_number_over_a_range_that_says_it_is_assumed() {
        let a = Advisor::for_bench(BenchMode::Off);
        let advice = a.advise(&first("a.c", PARAM_GEMM));
        let r = advice.range.as_ref().expect("a range");
        assert_eq!(r.points.len(), ASSUMED.len());
        assert_eq!(r.assumed, "n = 64…4096");
        let h = advice.headline().unwrap();
        assert!(
            h.starts_with("sizes unknown here; assuming n = 64…4096: "),
            "{h}"
        );
        assert!(
            h.contains(" per output (") && h.contains("faster over that range ("),
            "{h}"
        );
        // The gate sees the least speed-up of the range, the level the most.
        let best = advice.best.as_ref().unwrap();
        assert!(best.factor <= r.max_factor().unwrap());
        assert_eq!(advice.best_factor(), r.max_factor());
        assert!(best.provenance.contains("the least over the assumed sizes"));
        assert!(advice.inlay.as_deref().unwrap().ends_with("/output"));
        let md = a.hover(&first("a.c", PARAM_GEMM), &advice);
        assert_eq!(
            md.matches("| 64×64×64").count() + md.matches("| 4096×4096×4096").count(),
            2,
            "{md}"
        );
    }

    #[test]
    fn a_dim_the_code_does_not_name_is_assumed_too() {
        // An `nn.Linear(d, 3*d)` made in `__init__` names N and K, never
        // the rows of its input: M is assumed with the others, not left
        // without a number.
        let src = "import torch\nimport torch.nn as nn\n\nclass Block(nn.Module):\n    def __init__(self, d):\n        super().__init__()\n        self.qkv = nn.Linear(d, 3 * d)\n\nmodel = Block(512).to(torch.device(\"cuda\"))\n";
        let f = first("m.py", src);
        assert!(f.dims.m.is_none(), "{:?}", f.dims);
        let a = Advisor::for_bench(BenchMode::Off);
        let advice = a.advise(&f);
        let r = advice.range.as_ref().expect("a range");
        assert!(
            r.assumed.starts_with("M (not in the code), "),
            "{}",
            r.assumed
        );
        // Each expression is named once.
        assert_eq!(
            r.assumed.matches(" d,").count() + r.assumed.matches(" d ").count(),
            1,
            "{}",
            r.assumed
        );
        assert_eq!(r.points[0].problem.m, ASSUMED[0]);
        assert!(advice.headline().unwrap().contains("per output"));
    }

    #[test]
    fn a_tiled_cuda_kernel_is_estimated_by_the_talks_tiled_kernel() {
        let src = include_str!("../../../tests/corpus/cuda/tiled_32_bounds.cu");
        let f = first("t.cu", src);
        assert_eq!(f.code, "GS103");
        let advice = Advisor::for_bench(BenchMode::Off).advise(&f);
        let r = advice.range.as_ref().expect("a range");
        let aw = r.points[0].as_written.as_ref().unwrap();
        assert_eq!(aw.candidate, "cuda-tiled");
        assert!(aw.label.contains("tiled"), "{}", aw.label);
        assert!(advice
            .headline()
            .unwrap()
            .contains("faster over that range"));
    }

    #[test]
    fn attention_gets_a_range_over_lengths_at_an_assumed_head_dim() {
        let src = include_str!("../../../tests/corpus/python/attention_numpy.py");
        let f = first("a.py", src);
        assert_eq!(f.code, "GS501");
        let advice = Advisor::for_bench(BenchMode::Off).advise(&f);
        let r = advice.range.as_ref().expect("a range");
        assert!(
            r.assumed.contains("d (head dim, not in the code) = 64"),
            "{}",
            r.assumed
        );
        for (e, t) in r.points.iter().zip(ASSUMED) {
            assert_eq!(
                (e.problem.m, e.problem.n, e.problem.k),
                (t, t, ASSUMED_HEAD_DIM)
            );
            assert_eq!(e.as_written_id, "numpy-attention");
        }
        // Fused attention is the option named, with how it is known.
        let h = advice.headline().unwrap();
        assert!(h.contains("scaled_dot_product_attention"), "{h}");
        assert!(h.contains("faster over that range"), "{h}");
    }

    #[test]
    fn known_dims_stay_and_other_reasons_give_no_range() {
        let src = "void f(int k_, const float *A, const float *B, float *C) {\n    for (int i = 0; i < 8; i++)\n        for (int j = 0; j < 8; j++)\n            for (int k = 0; k < k_; k++)\n                C[i*8 + j] += A[i*k_ + k] * B[k*8 + j];\n}\n";
        let a = Advisor::for_bench(BenchMode::Off);
        let advice = a.advise(&first("b.c", src));
        let r = advice.range.expect("a range");
        assert!(r
            .points
            .iter()
            .all(|e| e.problem.m == 8 && e.problem.n == 8));
        assert_eq!(r.points[0].problem.k, 64);
        // A GEMV gets its range too, as a GEMV (n = 1), from its own curves.
        let gemv = "void g(int n, const float *A, const float *x, float *y) {\n    for (int i = 0; i < n; i++) {\n        float acc = 0.0f;\n        for (int j = 0; j < n; j++) acc += A[i*n + j] * x[j];\n        y[i] = acc;\n    }\n}\n";
        let advice = a.advise(&first("c.c", gemv));
        // The inlay and the hover say it too, the hover's sizes as a GEMV's.
        assert!(advice.inlay.as_deref().unwrap().ends_with("/output"));
        let md = a.hover(&first("c.c", gemv), &advice);
        assert!(md.contains("| 64×64 GEMV f32 A row-major i-k"), "{md}");
        let r = advice.range.expect("a GEMV range");
        assert!(r.points.iter().all(|e| e.problem.n == 1
            && e.problem.m == e.problem.k
            && e.problem.op == gemmscope_microbench::Operation::Gemv));
        assert!(advice.no_estimate.is_none());
    }
}
