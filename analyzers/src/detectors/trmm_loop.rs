//! GS108: triangular matrix times matrix, in place.

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{self, FixContext, FixResult};

declare_rule! {
    /// Hand-written in-place triangular matrix product: `B[i][j] += A[k][i] * B[k][j]` over `k > i`.
    ///
    /// **What it finds.** A nest that updates `B` in place from a product of a
    /// different array `A` and `B` itself, with a triangular reduction bound
    /// (`k = i+1 .. M`) so that only values not yet overwritten are read,
    /// usually followed by a scaling `B[i][j] = alpha * B[i][j]` (PolyBench
    /// `trmm`).
    ///
    /// **Why it is slow.** A GEMM-sized amount of work (half of it) as scalar
    /// loops with a column walk through `A`; the library routine blocks,
    /// vectorises and parallelises it.
    ///
    /// ```c
    /// for (i = 0; i < M; i++)
    ///   for (j = 0; j < N; j++) {
    ///     for (k = i + 1; k < M; k++)
    ///       B[i][j] += A[k][i] * B[k][j];
    ///     B[i][j] = alpha * B[i][j];
    ///   }
    /// // → cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans,
    /// //               CblasUnit, M, N, alpha, A, M, B, N);
    /// ```
    ///
    /// **When the rewrite is safe.** The loop order must be the one that reads
    /// each `B[k][j]` before it is overwritten (as above); the diagonal is
    /// implicit (unit) when the loop skips `k == i`. `A` must not overlap `B`.
    /// A full-square in-place update with rectangular bounds is not a TRMM
    /// (and is not reported).
    pub struct TrmmLoop {
        code: "GS108",
        name: "trmm-loop",
        idiom: Idiom::Gemm,
        fix: FixAvailability::Sometimes(
            "`cblas_?trmm` (C/C++) · exact · `symmetric.rs`",
        ),
    }
}

impl Rule for TrmmLoop {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, finding: &Finding) -> FixResult {
        fixes::symmetric::fix_c(cx, finding)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests_of(Shape::Trmm) {
            let message = format!(
                "hand-written in-place triangular matrix product {}: one {} call does the same work",
                n.size_text(),
                n.blas("trmm")
            );
            out.push_nest(n, n.report(&Self::META, Routine::Trmm, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{host, run_all};
    use crate::finding::Major;

    #[test]
    fn polybench_trmm() {
        let f = host(
            &[("M", 1000), ("N", 1200)],
            "A: f64[M][M], B: f64[M][N], alpha: f64",
            "for i in 0..M {
               for j in 0..N {
                 for k in i + 1..M { B[i][j] += A[k][i] * B[k][j]; }
                 B[i][j] = alpha * B[i][j];
               }
             }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.code, "GS108");
        assert_eq!(x.routine, Routine::Trmm);
        assert_eq!(x.dims.display(), "1000×1200×1000");
        assert_eq!(x.alpha.as_deref(), Some("alpha"));
        assert!(x.beta.is_none());
        assert_eq!(x.loop_order.as_deref(), Some("ijk"));
        let l: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.name.as_str(), l.major))
            .collect();
        assert_eq!(l, vec![("A", "A", Major::Col), ("B", "B", Major::Row)]);
    }

    #[test]
    fn rectangular_in_place_update_is_not_trmm() {
        let f = host(
            &[],
            "A: f64[M][M], B: f64[M][N]",
            "for i in 0..M { for j in 0..N { for k in 0..M { B[i][j] += A[k][i] * B[k][j]; } } }",
        );
        assert!(run_all(&f).is_empty());
    }
}
