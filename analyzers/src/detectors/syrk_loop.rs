//! GS105: symmetric rank-k update loops (C += A·Aᵀ).

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{self, FixContext, FixResult};

declare_rule! {
    /// Hand-written symmetric rank-k update: `C[i][j] += A[i][k] * A[j][k]`.
    ///
    /// **What it finds.** A GEMM-shaped nest whose two operands are the same
    /// array read the same way with `i` and `j` swapped (`C = A·Aᵀ`, or
    /// `C = Aᵀ·A` for `A[k][i] * A[k][j]`), over the full square or only one
    /// triangle (`j <= i`), with optional `alpha`/`beta` scaling (PolyBench
    /// `syrk`, Gram matrices, covariance).
    ///
    /// **Why it is slow.** It is a GEMM written as loops, with the same
    /// missing blocking and vectorisation; and when the full square is
    /// computed, half of the work is redundant since the result is
    /// symmetric.
    ///
    /// ```c
    /// for (i = 0; i < N; i++) {
    ///   for (j = 0; j <= i; j++) C[i][j] *= beta;
    ///   for (k = 0; k < M; k++)
    ///     for (j = 0; j <= i; j++) C[i][j] += alpha * A[i][k] * A[j][k];
    /// }
    /// // → cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, N, M,
    /// //               alpha, A, M, beta, C, N);
    /// ```
    ///
    /// **When the rewrite is safe.** `C` must not overlap `A`. SYRK writes
    /// only one triangle: if the code fills the full square, either use the
    /// triangle it computes or mirror it afterwards (or call GEMM with `A`
    /// and `Aᵀ`).
    pub struct SyrkLoop {
        code: "GS105",
        name: "syrk-loop",
        idiom: Idiom::Gemm,
        fix: FixAvailability::Sometimes(
            "`cblas_?syrk` (C/C++) · exact · `symmetric.rs`",
        ),
    }
}

impl Rule for SyrkLoop {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, finding: &Finding) -> FixResult {
        fixes::symmetric::fix_c(cx, finding)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests_of(Shape::Syrk) {
            let tri = if n.triangular { ", one triangle" } else { "" };
            let message = format!(
                "hand-written symmetric rank-k update C += A·Aᵀ {}{tri}: one {} call does the same work",
                n.size_text(),
                n.blas("syrk")
            );
            out.push_nest(n, n.report(&Self::META, Routine::Syrk, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{host, run_all};
    use crate::finding::Major;

    #[test]
    fn polybench_syrk() {
        let f = host(
            &[("N", 1200), ("M", 1000)],
            "A: f64[N][M], C: f64[N][N], alpha: f64, beta: f64",
            "for i in 0..N {
               for j in 0..i + 1 { C[i][j] *= beta; }
               for k in 0..M {
                 for j in 0..i + 1 { C[i][j] += alpha * A[i][k] * A[j][k]; }
               }
             }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.code, "GS105");
        assert_eq!(x.routine, Routine::Syrk);
        assert_eq!(x.dims.display(), "1200×1200×1000");
        assert_eq!(x.alpha.as_deref(), Some("alpha"));
        assert_eq!(x.beta.as_deref(), Some("beta"));
        assert_eq!(x.loop_order.as_deref(), Some("ikj"));
        assert!(x.message.contains("dsyrk") && x.message.contains("one triangle"));
        let l: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.major))
            .collect();
        assert_eq!(l, vec![("C", Major::Row), ("A", Major::Row)]);
    }

    #[test]
    fn gram_matrix_at_a_full_square() {
        // C = Aᵀ·A, rectangular bounds, flattened.
        let f = host(
            &[],
            "A: f32*, C: f32*",
            "for i in 0..N { for j in 0..N { for k in 0..M {
               C[i*N + j] += A[k*N + i] * A[k*N + j]; } } }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].code, "GS105");
        assert_eq!(v[0].layouts[1].major, Major::Col);
        assert!(!v[0].message.contains("triangle"));
    }
}
