//! GS106: symmetric rank-2k update loops (C += A·Bᵀ + B·Aᵀ).

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{self, FixContext, FixResult};

declare_rule! {
    /// Hand-written symmetric rank-2k update: `C[i][j] += A[i][k]*B[j][k] + B[i][k]*A[j][k]`.
    ///
    /// **What it finds.** A GEMM-shaped nest accumulating two products with
    /// the operands swapped, either in one statement or in two statements
    /// of the same nest (PolyBench `syr2k`), over the full square or one
    /// triangle, with optional `alpha`/`beta`. Reported once per nest.
    ///
    /// **Why it is slow.** Two hand-written GEMMs' worth of loops with no
    /// blocking or vectorisation; the symmetric result also means half of
    /// the square is redundant work.
    ///
    /// ```c
    /// for (i = 0; i < N; i++)
    ///   for (k = 0; k < M; k++)
    ///     for (j = 0; j <= i; j++)
    ///       C[i][j] += A[j][k]*alpha*B[i][k] + B[j][k]*alpha*A[i][k];
    /// // → cblas_dsyr2k(CblasRowMajor, CblasLower, CblasNoTrans, N, M,
    /// //                alpha, A, M, B, M, beta, C, N);
    /// ```
    ///
    /// **When the rewrite is safe.** `C` must not overlap `A` or `B`, and the
    /// two products must use the same scaling. SYR2K writes one triangle:
    /// mirror it if the code uses the full square.
    pub struct Syr2kLoop {
        code: "GS106",
        name: "syr2k-loop",
        idiom: Idiom::Gemm,
        fix: FixAvailability::Sometimes(
            "`cblas_?syr2k` (C/C++) · exact · `symmetric.rs`",
        ),
    }
}

impl Rule for Syr2kLoop {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, finding: &Finding) -> FixResult {
        fixes::symmetric::fix_c(cx, finding)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests_of(Shape::Syr2k) {
            let message = format!(
                "hand-written symmetric rank-2k update C += A·Bᵀ + B·Aᵀ {}: one {} call does the same work",
                n.size_text(),
                n.blas("syr2k")
            );
            out.push_nest(n, n.report(&Self::META, Routine::Syr2k, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{host, run_all};

    #[test]
    fn polybench_syr2k_one_statement() {
        let f = host(
            &[("N", 1200), ("M", 1000)],
            "A: f64[N][M], B: f64[N][M], C: f64[N][N], alpha: f64, beta: f64",
            "for i in 0..N {
               for j in 0..i + 1 { C[i][j] *= beta; }
               for k in 0..M { for j in 0..i + 1 {
                 C[i][j] += A[j][k] * alpha * B[i][k] + B[j][k] * alpha * A[i][k]; } }
             }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.code, "GS106");
        assert_eq!(x.routine, Routine::Syr2k);
        assert_eq!(x.dims.display(), "1200×1200×1000");
        assert_eq!(x.alpha.as_deref(), Some("alpha"));
        assert_eq!(x.beta.as_deref(), Some("beta"));
        assert_eq!(x.key_range.start_line, 4);
        assert!(x.message.contains("dsyr2k"));
        let l: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.name.as_str()))
            .collect();
        assert_eq!(l, vec![("C", "C"), ("A", "A"), ("B", "B")]);
    }

    #[test]
    fn two_statements_one_finding() {
        let f = host(
            &[],
            "A: f32[N][M], B: f32[N][M], C: f32[N][N]",
            "for i in 0..N { for j in 0..N { for k in 0..M {
               C[i][j] += A[i][k] * B[j][k];
               C[i][j] += B[i][k] * A[j][k]; } } }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].code, "GS106");
    }
}
