//! `rust-gemm`: the pure-Rust `gemm` crate, in-process in the child, on all
//! cores (rayon). A fast reference on a machine with no BLAS at all.

use std::time::Instant;

use gemm::{f16, Parallelism};

use crate::candidates::{Backend, Candidate};
use crate::job::{Job, Measurement, Reply};
use crate::problem::{DType, Layout, Operation, Problem};
use crate::stats;
use crate::toolchain::Toolchain;

/// The `gemm` crate version this is built against (Cargo.toml).
const GEMM_VERSION: &str = "0.19";

/// An element type the `gemm` crate multiplies.
pub trait Elem: Copy + Send + Sync + 'static {
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn zero() -> Self;
    fn one() -> Self;
}

impl Elem for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
}

impl Elem for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
}

impl Elem for f16 {
    fn from_f64(x: f64) -> Self {
        f16::from_f64(x)
    }
    fn to_f64(self) -> f64 {
        f16::to_f64(self)
    }
    fn zero() -> Self {
        f16::ZERO
    }
    fn one() -> Self {
        f16::ONE
    }
}

/// SplitMix64, the same generator as the C programs' frame.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// Element `(i, k)` of A and `(k, j)` of B in one batch's storage.
fn a_at(l: Layout, m: usize, k: usize, i: usize, kk: usize) -> usize {
    if l.trans_a {
        kk * m + i
    } else {
        i * k + kk
    }
}

fn b_at(l: Layout, n: usize, k: usize, kk: usize, j: usize) -> usize {
    if l.trans_b {
        j * k + kk
    } else {
        kk * n + j
    }
}

/// The float64 check of computed rows, the same rule as the C programs':
/// up to 16 rows (the first 8 of the first and the last batch when
/// batched), relative Frobenius error via [`stats::rel_frobenius`]. Returns
/// the error and the rows checked.
pub fn check_rows<T: Elem>(p: &Problem, a: &[T], b: &[T], c: &[T], rows: u64) -> (f64, u64) {
    let (m, n, k) = (p.m as usize, p.n as usize, p.k as usize);
    let per = (if p.batch > 1 { 8 } else { 16 }).min(rows as usize);
    let batches: Vec<usize> = if p.batch > 1 {
        vec![0, p.batch as usize - 1]
    } else {
        vec![0]
    };
    let (mut got, mut want) = (Vec::new(), Vec::new());
    let mut checked = 0;
    for bt in batches {
        let (a, b, c) = (
            &a[bt * m * k..(bt + 1) * m * k],
            &b[bt * k * n..(bt + 1) * k * n],
            &c[bt * m * n..(bt + 1) * m * n],
        );
        for i in 0..per {
            let mut r = vec![0.0f64; n];
            for kk in 0..k {
                let av = a[a_at(p.layout, m, k, i, kk)].to_f64();
                for (j, rj) in r.iter_mut().enumerate() {
                    *rj += av * b[b_at(p.layout, n, k, kk, j)].to_f64();
                }
            }
            got.extend(c[i * n..(i + 1) * n].iter().map(|x| x.to_f64()));
            want.extend(r);
            checked += 1;
        }
    }
    (stats::rel_frobenius(&got, &want), checked)
}

/// Times `call` the way every candidate does: one warm-up, then repeats
/// until `budget` seconds (at least 3 unless one call exceeds the budget,
/// at most 100). Seconds per call.
pub fn time_repeats(budget: f64, mut call: impl FnMut()) -> Vec<f64> {
    let t = Instant::now();
    call();
    let warm = t.elapsed().as_secs_f64();
    let mut samples = Vec::new();
    let mut spent = 0.0;
    while samples.len() < 100 {
        let t = Instant::now();
        call();
        let d = t.elapsed().as_secs_f64();
        samples.push(d);
        spent += d;
        if warm > budget || (samples.len() >= 3 && spent >= budget) {
            break;
        }
    }
    samples
}

fn measure<T: Elem>(job: &Job, threads: usize) -> Measurement {
    let p = &job.problem;
    let (m, n, k, batch) = (p.m as usize, p.n as usize, p.k as usize, p.batch as usize);
    let rows = job.sample_rows.unwrap_or(p.m).clamp(1, p.m) as usize;
    let mut rng = SplitMix(job.seed);
    let a: Vec<T> = (0..batch * m * k)
        .map(|_| T::from_f64(rng.uniform()))
        .collect();
    let b: Vec<T> = (0..batch * k * n)
        .map(|_| T::from_f64(rng.uniform()))
        .collect();
    let mut c: Vec<T> = vec![T::from_f64(1000.0); batch * m * n];
    let l = p.layout;
    // Strides in elements: (column, row) of each operand.
    let (a_cs, a_rs) = if l.trans_a { (m, 1) } else { (1, k) };
    let (b_cs, b_rs) = if l.trans_b { (k, 1) } else { (1, n) };
    let par = if threads > 1 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    let samples = time_repeats(job.budget_s, || {
        for bt in 0..batch {
            let ap = a[bt * m * k..].as_ptr();
            let bp = b[bt * k * n..].as_ptr();
            let cp = c[bt * m * n..].as_mut_ptr();
            // SAFETY: the pointers and strides describe `rows`×K, K×N and
            // `rows`×N views inside this batch's slices of `a`, `b`, `c`,
            // which outlive the call; `c` does not overlap `a` or `b`.
            unsafe {
                gemm::gemm(
                    rows,
                    n,
                    k,
                    cp,
                    1,
                    n as isize,
                    false,
                    ap,
                    a_cs as isize,
                    a_rs as isize,
                    bp,
                    b_cs as isize,
                    b_rs as isize,
                    T::zero(),
                    T::one(),
                    false,
                    false,
                    false,
                    par,
                );
            }
        }
    });
    let (rel_error, checked_rows) = check_rows(p, &a, &b, &c, rows as u64);
    Measurement {
        samples,
        rows_computed: rows as u64,
        rel_error,
        checked_rows,
        what: format!(
            "gemm crate {GEMM_VERSION} (pure Rust), {}, {}",
            p.dtype.as_str(),
            if threads > 1 {
                format!("rayon, {threads} threads")
            } else {
                "1 thread".into()
            }
        ),
        threads: threads as u32,
        transfer_s: None,
        notes: Vec::new(),
    }
}

/// The `gemm` crate's GEMM.
pub struct RustGemm;

pub static RUST_GEMM: RustGemm = RustGemm;

impl RustGemm {
    fn usable(p: &Problem) -> Result<(), String> {
        match p.op {
            Operation::Gemm | Operation::GemmBatched => {}
            Operation::Gemv | Operation::Attention => {
                return Err("this candidate measures GEMM only".into())
            }
        }
        match p.dtype {
            DType::Bf16 => Err("the gemm crate has no bf16 GEMM".into()),
            _ => Ok(()),
        }
    }
}

impl Candidate for RustGemm {
    fn id(&self) -> &'static str {
        "rust-gemm"
    }
    fn label(&self, _p: &Problem) -> String {
        "Rust gemm crate, all cores".into()
    }
    fn backend(&self) -> Backend {
        Backend::Cpu
    }
    fn precision(&self, p: &Problem) -> String {
        match p.dtype {
            DType::F16 => "f16 in, f32 compute".into(),
            d => d.as_str().into(),
        }
    }
    fn check(&self, p: &Problem, _tc: &Toolchain) -> Result<(), String> {
        Self::usable(p)
    }
    fn prior_flops(&self) -> f64 {
        3.0e10 * super::c::cores() as f64
    }
    fn run(&self, job: &Job) -> Reply {
        if let Err(reason) = Self::usable(&job.problem) {
            return Reply::Skipped { reason };
        }
        let threads = super::c::cores() as usize;
        Reply::Ok(match job.problem.dtype {
            DType::F64 => measure::<f64>(job, threads),
            DType::F32 => measure::<f32>(job, threads),
            DType::F16 => measure::<f16>(job, threads),
            DType::Bf16 => unreachable!("refused above"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::LoopOrder;

    fn job(p: Problem) -> (Job, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        (
            Job {
                candidate: "rust-gemm".into(),
                problem: p,
                budget_s: 0.05,
                seed: 42,
                sample_rows: None,
                workdir: dir.path().to_path_buf(),
                toolchain: Toolchain::default(),
            },
            dir,
        )
    }

    fn ok(r: Reply) -> Measurement {
        match r {
            Reply::Ok(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn all_layouts_and_types_are_correct() {
        for dtype in [DType::F32, DType::F64, DType::F16] {
            for l in ["nn", "nt", "tn", "tt"] {
                let mut p = Problem::gemm(37, 29, 23, dtype);
                p.layout = Layout::parse(l).unwrap();
                p.loop_order = LoopOrder::parse("kji").unwrap();
                let (j, _d) = job(p.clone());
                let m = ok(RUST_GEMM.run(&j));
                assert!(
                    m.rel_error < dtype.tolerance(),
                    "{dtype:?} {l}: {}",
                    m.rel_error
                );
                assert_eq!(m.rows_computed, 37);
                assert_eq!(m.checked_rows, 16);
                assert!(m.samples.len() >= 3 && m.samples.iter().all(|s| *s > 0.0));
                assert!(m.what.contains("gemm crate"));
            }
        }
    }

    #[test]
    fn batched() {
        let mut p = Problem::gemm(20, 17, 9, DType::F32);
        p.op = Operation::GemmBatched;
        p.batch = 3;
        p.layout = Layout::parse("tn").unwrap();
        let (j, _d) = job(p);
        let m = ok(RUST_GEMM.run(&j));
        assert!(m.rel_error < 1e-5, "{}", m.rel_error);
        assert_eq!(m.checked_rows, 16);
    }

    #[test]
    fn bf16_and_gemv_are_skipped_with_a_reason() {
        let p = Problem::gemm(8, 8, 8, DType::Bf16);
        assert!(RUST_GEMM.check(&p, &Toolchain::default()).is_err());
        let (j, _d) = job(p);
        assert!(matches!(RUST_GEMM.run(&j), Reply::Skipped { reason } if reason.contains("bf16")));
    }

    #[test]
    fn the_checker_catches_a_perturbed_output() {
        let mut p = Problem::gemm(12, 10, 7, DType::F32);
        p.layout = Layout::parse("nt").unwrap();
        let mut rng = SplitMix(7);
        let a: Vec<f32> = (0..12 * 7).map(|_| rng.uniform() as f32).collect();
        let b: Vec<f32> = (0..7 * 10).map(|_| rng.uniform() as f32).collect();
        let mut c = vec![0f32; 12 * 10];
        for i in 0..12 {
            for j in 0..10 {
                c[i * 10 + j] = (0..7)
                    .map(|kk| a[i * 7 + kk] as f64 * b[j * 7 + kk] as f64)
                    .sum::<f64>() as f32;
            }
        }
        let (e, checked) = check_rows(&p, &a, &b, &c, 12);
        assert!(e < 1e-6, "{e}");
        assert_eq!(checked, 12);
        c[3 * 10 + 4] += 0.05;
        let (e, _) = check_rows(&p, &a, &b, &c, 12);
        assert!(e > DType::F32.tolerance(), "{e}");
        c[0] = f32::NAN;
        assert!(check_rows(&p, &a, &b, &c, 12).0.is_nan());
    }
}
