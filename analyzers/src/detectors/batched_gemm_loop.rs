//! GS104: batched GEMM / tensor contraction loops.

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{self, FixContext, FixResult};

declare_rule! {
    /// Hand-written batched GEMM or tensor contraction.
    ///
    /// **What it finds.** Loop nests (CPU loops, Python loops, or CUDA
    /// kernels with thread indices) computing
    /// `C[b][i][j] += A[b][i][k] * B[b][k][j]`: a batch variable indexes the
    /// output and both operands, or several variables play the same role
    /// (`C[i][j][l] += A[i][j][k] * B[k][l]`, a contraction that is one GEMM
    /// after merging `i,j` into M). Dims are reported as batch × (M×N×K), with
    /// M, N, K the products of the extents of their variables.
    ///
    /// **Why it is slow.** The same reasons as a single hand-written GEMM,
    /// repeated per batch: no packing, no register blocking, no tensor
    /// cores. Batched library calls also fill the machine when each problem
    /// alone is small.
    ///
    /// ```c
    /// for (int b = 0; b < B; b++)
    ///   for (int i = 0; i < M; i++)
    ///     for (int j = 0; j < N; j++)
    ///       for (int k = 0; k < K; k++)
    ///         C[b][i][j] += A[b][i][k] * Bm[b][k][j];
    /// // → cublasSgemmStridedBatched / torch.bmm / a loop of cblas_sgemm
    /// ```
    ///
    /// **When the rewrite is safe.** All bounds rectangular, arrays not
    /// overlapping, and each batch's matrices at a constant stride (or
    /// passed as an array of pointers to the pointer-array batched API).
    /// For a contraction with several variables per role, the merged
    /// dimensions must be contiguous in memory (otherwise permute first, or
    /// use `np.einsum` / cuTENSOR).
    pub struct BatchedGemmLoop {
        code: "GS104",
        name: "batched-gemm-loop",
        idiom: Idiom::Gemm,
        fix: FixAvailability::Sometimes(
            "a loop of `cblas_?gemm` (C/C++), one broadcasting `@` (Python) · exact · `batched.rs`",
        ),
    }
}

impl Rule for BatchedGemmLoop {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, _finding: &Finding) -> FixResult {
        fixes::batched::fix(cx.file, cx.text, cx.nest()?)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests_of(Shape::Batched) {
            let what = if n.dims.batch.is_some() {
                "batched GEMM"
            } else {
                "tensor contraction"
            };
            let message = format!(
                "hand-written {what} {} (loop order {}): one batched {} call does the same work",
                n.size_text(),
                n.order_dashed(),
                n.blas("gemm")
            );
            out.push_nest(n, n.report(&Self::META, Routine::GemmBatched, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{file, func, host, run, run_all};
    use crate::finding::Backend;
    use crate::ir::{FnKind, Lang};

    #[test]
    fn batched_cpu_loops() {
        let f = host(
            &[("NB", 8), ("M", 64), ("N", 32), ("K", 16)],
            "A: f32[NB][M][K], Bm: f32[NB][K][N], C: f32[NB][M][N]",
            "for b in 0..NB { for i in 0..M { for j in 0..N { for k in 0..K {
               C[b][i][j] += A[b][i][k] * Bm[b][k][j]; } } } }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.code, "GS104");
        assert_eq!(x.routine, Routine::GemmBatched);
        assert_eq!(x.dims.display(), "8×(64×32×16)");
        assert_eq!(x.loop_order.as_deref(), Some("bijk"));
        assert_eq!(x.range.start_line, 1);
    }

    #[test]
    fn batched_flattened_cuda_kernel() {
        let f = file(
            Lang::Cuda,
            &[],
            vec![func(
                "bmm",
                FnKind::CudaKernel,
                "A: f32*, B: f32*, C: f32*",
                "thread b.z in 0..batch { thread row.y in 0..M { thread col.x in 0..N {
                   decl f32 s = 0;
                   for k in 0..K { s += A[b*M*K + row*K + k] * B[b*K*N + k*N + col]; }
                   C[b*M*N + row*N + col] = s; } } }",
            )],
        );
        let v = run(&BatchedGemmLoop, &f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].backend, Backend::CudaKernel);
        assert_eq!(v[0].dims.display(), "batch×(M×N×K)");
        assert_eq!(v[0].range, f.functions[0].span);
        assert_eq!(v[0].layouts[1].ld.as_deref(), Some("K"));
        assert_eq!(run_all(&f).len(), 1);
    }

    #[test]
    fn contraction_with_two_m_vars() {
        let f = host(
            &[],
            "X: f64[P][Q][K], W: f64[K][N], Y: f64[P][Q][N]",
            "for p in 0..P { for q in 0..Q { for n in 0..N { for k in 0..K {
               Y[p][q][n] += X[p][q][k] * W[k][n]; } } } }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].code, "GS104");
        assert_eq!(v[0].dims.display(), "P*Q×N×K");
        assert!(v[0].dims.batch.is_none());
        assert_eq!(v[0].loop_order.as_deref(), Some("iijk"));
    }
}
