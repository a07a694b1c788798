//! GS107: symmetric matrix times matrix loops (one triangle of A read).

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{self, FixContext, FixResult};

declare_rule! {
    /// Hand-written symmetric matrix–matrix product: `C = alpha·A·B + beta·C` with `A` symmetric, one triangle stored.
    ///
    /// **What it finds.** A nest with a triangular reduction bound
    /// (`k < i`) that uses only one triangle of `A`, accumulates both
    /// `C[k][j] += A[i][k]*B[i][j]` and `temp += B[k][j]*A[i][k]`, and
    /// reads the diagonal `A[i][i]` separately (the PolyBench `symm` shape).
    /// Reported once per nest.
    ///
    /// **Why it is slow.** It is a GEMM's worth of multiply-adds written as
    /// scalar loops with a triangular, cache-unfriendly access pattern; the
    /// library routine blocks and vectorises it.
    ///
    /// ```c
    /// for (i = 0; i < M; i++)
    ///   for (j = 0; j < N; j++) {
    ///     temp2 = 0;
    ///     for (k = 0; k < i; k++) {
    ///       C[k][j] += alpha * B[i][j] * A[i][k];
    ///       temp2 += B[k][j] * A[i][k];
    ///     }
    ///     C[i][j] = beta * C[i][j] + alpha * B[i][j] * A[i][i] + alpha * temp2;
    ///   }
    /// // → cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, M, N,
    /// //               alpha, A, M, B, N, beta, C, N);
    /// ```
    ///
    /// **When the rewrite is safe.** `A` must really be symmetric in the
    /// triangle the code reads (the other triangle is ignored by SYMM too),
    /// and `C` must not overlap `A` or `B`.
    pub struct SymmLoop {
        code: "GS107",
        name: "symm-loop",
        idiom: Idiom::Gemm,
        fix: FixAvailability::Sometimes(
            "`cblas_?symm` (C/C++) · exact · `symmetric.rs`",
        ),
    }
}

impl Rule for SymmLoop {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, finding: &Finding) -> FixResult {
        fixes::symmetric::fix_c(cx, finding)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests_of(Shape::Symm) {
            let a = n
                .layouts
                .iter()
                .find(|l| l.role == "A")
                .map_or("A".to_string(), |l| l.name.clone());
            let message = format!(
                "hand-written symmetric matrix product ({a} symmetric, one triangle read) {}: one {} call does the same work",
                n.size_text(),
                n.blas("symm")
            );
            out.push_nest(n, n.report(&Self::META, Routine::Symm, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{host, run_all};
    use crate::finding::Finding;

    #[test]
    fn polybench_symm() {
        let f = host(
            &[("M", 1000), ("N", 1200)],
            "A: f64[M][M], B: f64[M][N], C: f64[M][N], alpha: f64, beta: f64",
            "for i in 0..M {
               for j in 0..N {
                 temp2 = 0;
                 for k in 0..i {
                   C[k][j] += alpha * B[i][j] * A[i][k];
                   temp2 += B[k][j] * A[i][k];
                 }
                 C[i][j] = beta * C[i][j] + alpha * B[i][j] * A[i][i] + alpha * temp2;
               }
             }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.code, "GS107");
        assert_eq!(x.routine, Routine::Symm);
        assert_eq!(x.dims.display(), "1000×1200×1000");
        assert_eq!(x.range.start_line, 1);
        // Keyed on the `temp2` accumulation, whose roles read naturally.
        assert_eq!(x.key_range.start_line, 6);
        assert_eq!(x.loop_order.as_deref(), Some("ijk"));
        assert_eq!(x.layouts[1].major, crate::finding::Major::Row);
        assert_eq!(x.alpha.as_deref(), Some("alpha"));
        assert_eq!(x.beta.as_deref(), Some("beta"));
        let names: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.name.as_str()))
            .collect();
        assert_eq!(names, vec![("C", "C"), ("A", "A"), ("B", "B")]);
        assert!(x.message.contains("dsymm"));
    }

    /// `C = S·B` with only the lower triangle of `S` read: `S[i][k]` for
    /// `k <= i`, the mirrored `S[k][i]` for `k > i`, one accumulator.
    fn two_triangles(second: &str, second_b: &str) -> Vec<Finding> {
        let body = format!(
            "for i in 0..N {{
               for j in 0..P {{
                 decl f32 acc = 0;
                 for k in 0..i+1 {{
                   acc += S[i][k] * B[k][j];
                 }}
                 for k in i+1..N {{
                   acc += {second} * {second_b};
                 }}
                 C[i][j] = acc;
               }}
             }}"
        );
        let f = host(
            &[("N", 300), ("P", 200)],
            "S: f32[N][N], T: f32[N][N], B: f32[N][P], D: f32[N][P], C: f32[N][P]",
            &body,
        );
        run_all(&f)
    }

    #[test]
    fn lower_triangle_read_in_two_loops() {
        let v = two_triangles("S[k][i]", "B[k][j]");
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.code, "GS107");
        assert_eq!(x.dims.display(), "300×200×300");
        assert_eq!(x.loop_order.as_deref(), Some("ijk"));
        assert_eq!(x.range.start_line, 1);
        assert_eq!(x.key_range.start_line, 5);
        let names: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.name.as_str(), l.major))
            .collect();
        use crate::finding::Major::Row;
        assert_eq!(
            names,
            vec![("C", "C", Row), ("A", "S", Row), ("B", "B", Row)]
        );
        assert!(x.message.contains("ssymm"));
    }

    #[test]
    fn two_triangles_that_are_not_one_symmetric_matrix() {
        // Different matrices on the two triangles, a different B, or the
        // same (unmirrored) triangle twice: not SYMM.
        for (s2, b2) in [
            ("T[k][i]", "B[k][j]"),
            ("S[k][i]", "D[k][j]"),
            ("S[i][k]", "B[k][j]"),
        ] {
            let v = two_triangles(s2, b2);
            assert!(v.iter().all(|x| x.code != "GS107"), "{s2} {b2}: {v:#?}");
        }
    }

    #[test]
    fn rectangular_gemm_is_not_symm() {
        let f = host(
            &[("N", 300), ("P", 200)],
            "S: f32[N][N], B: f32[N][P], C: f32[N][P]",
            "for i in 0..N {
               for j in 0..P {
                 decl f32 acc = 0;
                 for k in 0..N {
                   acc += S[i][k] * B[k][j];
                 }
                 for k in 0..N {
                   acc += S[k][i] * B[k][j];
                 }
                 C[i][j] = acc;
               }
             }",
        );
        let v = run_all(&f);
        assert!(v.iter().all(|x| x.code != "GS107"), "{v:#?}");
    }
}
