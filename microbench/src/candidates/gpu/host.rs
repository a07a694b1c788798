//! Host-side parts of the GPU candidates that need no GPU: the inputs, their
//! rounding to the problem's and the candidate's element types, the float64
//! reference on the first rows, and the repeat rule.

use half::{bf16, f16};

use crate::problem::{DType, Problem};
use crate::stats;

/// SplitMix64: a small, fast, seedable generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
    }
}

/// `x` rounded to `dtype` (round to nearest even), back as f64.
pub fn round_to(dtype: DType, x: f64) -> f64 {
    match dtype {
        DType::F64 => x,
        DType::F32 => x as f32 as f64,
        DType::F16 => f16::from_f64(x).to_f64(),
        DType::Bf16 => bf16::from_f64(x).to_f64(),
    }
}

/// The operands as the problem stores them: uniform in [-1, 1), rounded to
/// the problem's element type, all batches packed (A first, then B).
pub struct Inputs {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
}

impl Inputs {
    pub fn generate(p: &Problem, seed: u64) -> Inputs {
        let mut rng = Rng::new(seed);
        let mut fill =
            |len: u64| -> Vec<f64> { (0..len).map(|_| round_to(p.dtype, rng.uniform())).collect() };
        let a = fill(p.m * p.k * p.batch);
        let b = fill(p.k * p.n * p.batch);
        Inputs { a, b }
    }
}

/// `A(i, p)` of batch `bt` in the problem's storage.
pub fn a_at(p: &Problem, a: &[f64], bt: u64, i: u64, q: u64) -> f64 {
    let base = bt * p.m * p.k;
    if p.layout.trans_a {
        a[(base + q * p.m + i) as usize]
    } else {
        a[(base + i * p.k + q) as usize]
    }
}

/// `B(p, j)` of batch `bt` in the problem's storage.
pub fn b_at(p: &Problem, b: &[f64], bt: u64, q: u64, j: u64) -> f64 {
    let base = bt * p.k * p.n;
    if p.layout.trans_b {
        b[(base + j * p.k + q) as usize]
    } else {
        b[(base + q * p.n + j) as usize]
    }
}

/// The batches whose rows are checked: the first and (if different) the last.
pub fn checked_batches(p: &Problem) -> Vec<u64> {
    if p.batch > 1 {
        vec![0, p.batch - 1]
    } else {
        vec![0]
    }
}

/// Rows of each checked batch: the first `min(rows_computed, 16)`.
pub fn checked_rows_per_batch(rows_computed: u64) -> u64 {
    rows_computed.min(16)
}

/// Float64 reference of rows `0..rows` of C for batch `bt`, row-major
/// `rows × N`.
pub fn reference_rows(p: &Problem, inp: &Inputs, bt: u64, rows: u64) -> Vec<f64> {
    let n = p.n as usize;
    let mut c = vec![0.0f64; rows as usize * n];
    for i in 0..rows {
        let row = &mut c[i as usize * n..(i as usize + 1) * n];
        if p.layout.trans_b {
            for (j, out) in row.iter_mut().enumerate() {
                let mut s = 0.0;
                for q in 0..p.k {
                    s += a_at(p, &inp.a, bt, i, q) * b_at(p, &inp.b, bt, q, j as u64);
                }
                *out = s;
            }
        } else {
            for q in 0..p.k {
                let aiq = a_at(p, &inp.a, bt, i, q);
                let brow = (bt * p.k * p.n + q * p.n) as usize;
                for (out, bv) in row.iter_mut().zip(&inp.b[brow..brow + n]) {
                    *out += aiq * bv;
                }
            }
        }
    }
    c
}

/// Relative Frobenius error of the device's C (all batches packed, row-major,
/// as f64) against the reference on the checked rows; returns the error and
/// the number of rows checked.
pub fn check(p: &Problem, inp: &Inputs, c: &[f64], rows_computed: u64) -> (f64, u64) {
    let rows = checked_rows_per_batch(rows_computed);
    let n = p.n as usize;
    let (mut got, mut want) = (Vec::new(), Vec::new());
    let batches = checked_batches(p);
    for &bt in &batches {
        let start = (bt * p.m * p.n) as usize;
        got.extend_from_slice(&c[start..start + rows as usize * n]);
        want.extend(reference_rows(p, inp, bt, rows));
    }
    (
        stats::rel_frobenius(&got, &want),
        rows * batches.len() as u64,
    )
}

/// A row-major problem as a column-major (cuBLAS) call: row-major `C`
/// (`rows × N`, leading dimension N) is column-major `Cᵀ`, so the call
/// computes `Cᵀ = Bᵀ·Aᵀ` with B as the first operand and A as the second.
/// A row-major `K×N` B is a column-major `N×K` matrix that is already `Bᵀ`
/// (no transpose, ld N); a stored-transposed B (`N×K` row-major) is
/// column-major `K×N`, i.e. B, so it needs `T` (ld K). Likewise for A.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColMajorCall {
    /// cuBLAS `transa` (of the first operand, B).
    pub trans_first: bool,
    /// cuBLAS `transb` (of the second operand, A).
    pub trans_second: bool,
    /// cuBLAS m, n, k: N, rows, K.
    pub m: i32,
    pub n: i32,
    pub k: i32,
    pub ld_first: i32,
    pub ld_second: i32,
    pub ldc: i32,
    pub stride_first: i64,
    pub stride_second: i64,
    pub stride_c: i64,
    pub batch: i32,
}

impl ColMajorCall {
    pub fn new(p: &Problem, rows: u64) -> ColMajorCall {
        let l = p.layout;
        ColMajorCall {
            trans_first: l.trans_b,
            trans_second: l.trans_a,
            m: p.n as i32,
            n: rows as i32,
            k: p.k as i32,
            ld_first: if l.trans_b { p.k } else { p.n } as i32,
            ld_second: if l.trans_a { p.m } else { p.k } as i32,
            ldc: p.n as i32,
            stride_first: (p.k * p.n) as i64,
            stride_second: (p.m * p.k) as i64,
            stride_c: (p.m * p.n) as i64,
            batch: p.batch as i32,
        }
    }
}

/// Whether to time another repeat: at least 3 (unless the first call alone
/// took more than the budget), until the budget is spent, at most 100.
pub fn keep_going(samples: &[f64], spent_s: f64, budget_s: f64) -> bool {
    match samples.len() {
        0 => true,
        n if n >= 100 => false,
        1 if samples[0] > budget_s => false,
        n if n < 3 => true,
        _ => spent_s < budget_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Layout;

    #[test]
    fn uniform_range_and_seed() {
        let mut r = Rng::new(7);
        let xs: Vec<f64> = (0..10_000).map(|_| r.uniform()).collect();
        assert!(xs.iter().all(|x| (-1.0..1.0).contains(x)));
        assert!(xs.iter().any(|x| *x < -0.9) && xs.iter().any(|x| *x > 0.9));
        let mut r2 = Rng::new(7);
        assert_eq!(r2.uniform(), xs[0]);
        assert_ne!(Rng::new(8).uniform(), xs[0]);
    }

    #[test]
    fn rounding() {
        let x = 0.1f64;
        assert_eq!(round_to(DType::F64, x), x);
        assert_eq!(round_to(DType::F32, x), 0.1f32 as f64);
        assert!((round_to(DType::F16, x) - x).abs() < 1e-4);
        assert!((round_to(DType::Bf16, x) - x).abs() < 1e-3);
        assert_ne!(round_to(DType::Bf16, x), round_to(DType::F16, x));
        // Rounded values are exactly representable in the narrower type.
        let h = round_to(DType::F16, 0.123456);
        assert_eq!(f16::from_f64(h).to_f64(), h);
    }

    #[test]
    fn reference_matches_plain_loops_for_every_layout() {
        for l in ["nn", "nt", "tn", "tt"] {
            let mut p = Problem::gemm(5, 7, 3, DType::F64);
            p.layout = Layout::parse(l).unwrap();
            p.batch = 2;
            let inp = Inputs::generate(&p, 3);
            for bt in 0..2 {
                let r = reference_rows(&p, &inp, bt, 4);
                for i in 0..4 {
                    for j in 0..7 {
                        let mut s = 0.0;
                        for q in 0..3 {
                            // Explicit storage indexing, independent of a_at/b_at.
                            let a = if p.layout.trans_a {
                                inp.a[(bt * 15 + q * 5 + i) as usize]
                            } else {
                                inp.a[(bt * 15 + i * 3 + q) as usize]
                            };
                            let b = if p.layout.trans_b {
                                inp.b[(bt * 21 + j * 3 + q) as usize]
                            } else {
                                inp.b[(bt * 21 + q * 7 + j) as usize]
                            };
                            s += a * b;
                        }
                        assert!((r[(i * 7 + j) as usize] - s).abs() < 1e-14, "{l}");
                    }
                }
            }
        }
    }

    #[test]
    fn check_compares_first_and_last_batch() {
        let mut p = Problem::gemm(20, 6, 4, DType::F32);
        p.batch = 3;
        let inp = Inputs::generate(&p, 1);
        let mut c = vec![0.0; (p.m * p.n * p.batch) as usize];
        for bt in 0..3 {
            let r = reference_rows(&p, &inp, bt, 20);
            let s = (bt * 120) as usize;
            c[s..s + 120].copy_from_slice(&r);
        }
        assert_eq!(check(&p, &inp, &c, 20), (0.0, 32));
        // A wrong value in the last batch's first row is seen.
        c[240] += 1.0;
        assert!(check(&p, &inp, &c, 20).0 > 1e-3);
        // Rows beyond the 16 checked are not.
        let mut c2 = c.clone();
        c2[240] -= 1.0;
        c2[19 * 6] = f64::NAN;
        assert_eq!(check(&p, &inp, &c2, 20).0, 0.0);
        assert!(check(&p, &inp, &c2, 20).1 == 32);
    }

    /// A plain column-major strided-batched GEMM with BLAS semantics, to
    /// check the row-major → column-major mapping without a GPU.
    fn blas_gemm(s: &ColMajorCall, first: &[f64], second: &[f64], c: &mut [f64]) {
        for bt in 0..s.batch as usize {
            let (f, g) = (
                &first[bt * s.stride_first as usize..],
                &second[bt * s.stride_second as usize..],
            );
            for col in 0..s.n as usize {
                for row in 0..s.m as usize {
                    let mut acc = 0.0;
                    for q in 0..s.k as usize {
                        // op(first)(row, q), op(second)(q, col), column-major.
                        let x = if s.trans_first {
                            f[q + row * s.ld_first as usize]
                        } else {
                            f[row + q * s.ld_first as usize]
                        };
                        let y = if s.trans_second {
                            g[col + q * s.ld_second as usize]
                        } else {
                            g[q + col * s.ld_second as usize]
                        };
                        acc += x * y;
                    }
                    c[bt * s.stride_c as usize + row + col * s.ldc as usize] = acc;
                }
            }
        }
    }

    #[test]
    fn column_major_call_computes_row_major_c() {
        for l in ["nn", "nt", "tn", "tt"] {
            let mut p = Problem::gemm(6, 5, 4, DType::F64);
            p.layout = Layout::parse(l).unwrap();
            p.batch = 2;
            let inp = Inputs::generate(&p, 11);
            for rows in [6, 3] {
                let s = ColMajorCall::new(&p, rows);
                let mut c = vec![0.0; (p.m * p.n * p.batch) as usize];
                blas_gemm(&s, &inp.b, &inp.a, &mut c);
                for bt in 0..2 {
                    let r = reference_rows(&p, &inp, bt, rows);
                    let s0 = (bt * p.m * p.n) as usize;
                    let got = &c[s0..s0 + r.len()];
                    assert!(stats::rel_frobenius(got, &r) < 1e-14, "{l} rows {rows}");
                }
            }
        }
    }

    #[test]
    fn repeat_rule() {
        assert!(keep_going(&[], 0.0, 1.0));
        assert!(keep_going(&[0.1], 0.1, 1.0));
        assert!(!keep_going(&[2.0], 2.0, 1.0), "one call over budget: stop");
        assert!(keep_going(&[0.6, 0.6], 1.2, 1.0), "at least 3");
        assert!(!keep_going(&[0.6, 0.6, 0.6], 1.8, 1.0));
        assert!(keep_going(&[0.001; 50], 0.05, 1.0));
        assert!(!keep_going(&[0.001; 100], 0.1, 1.0), "at most 100");
    }
}
