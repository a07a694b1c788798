//! GS201: matrix–vector product loops.

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{self, FixContext, FixResult};

declare_rule! {
    /// Hand-written matrix–vector product: `y[i] += A[i][k] * x[k]` (or `y[j] += A[i][j] * x[i]`).
    ///
    /// **What it finds.** Two counted loops (C/C++, Python, or a CUDA kernel
    /// with one thread per output) accumulating the product of a matrix
    /// indexed by the output variable and the reduction variable with a
    /// vector indexed by the reduction variable only, directly or through
    /// a scalar (`sum += A[i*n + k] * x[k]; y[i] = sum;`). The transposed
    /// form (`y[j] += A[i][j] * x[i]`, i.e. `y = Aᵀx`) is reported with `A`
    /// column-major. A store that applies one elementwise function to the
    /// sum (`y[j] = sigmoid(s)`, a layer's activation) is still the
    /// product; it is reported, and not rewritten (the library call
    /// computes the product alone).
    ///
    /// **Why it is slow.** GEMV is memory-bound, so the gain is smaller than
    /// for GEMM, but a hand-written loop usually misses vectorisation,
    /// multi-threading and (for the transposed form) streams `A` with a
    /// large stride. Python loops are orders of magnitude slower than
    /// `A @ x`.
    ///
    /// ```c
    /// for (int i = 0; i < M; i++) {
    ///     float s = 0;
    ///     for (int k = 0; k < N; k++) s += A[i * N + k] * x[k];
    ///     y[i] = s;
    /// }
    /// // → cblas_sgemv(CblasRowMajor, CblasNoTrans, M, N, 1.0f, A, N, x, 1, 0.0f, y, 1);
    /// ```
    ///
    /// **When the rewrite is safe.** `y` must not overlap `A` or `x`, bounds
    /// rectangular; summation order changes the last bits.
    pub struct GemvLoop {
        code: "GS201",
        name: "gemv-loop",
        idiom: Idiom::Gemv,
        fix: FixAvailability::Sometimes(
            "`cblas_?gemv` (C/C++), `@` (Python) · exact · `cblas.rs`, `numpy.rs`",
        ),
    }
}

impl Rule for GemvLoop {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, _finding: &Finding) -> FixResult {
        fixes::numpy_or_cblas(cx)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests_of(Shape::Gemv) {
            let message = format!(
                "hand-written matrix–vector product {} (loop order {}): one {} call does the same work",
                n.size_text(),
                n.order_dashed(),
                n.blas("gemv")
            );
            out.push_nest(n, n.report(&Self::META, Routine::Gemv, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{file, func, host, run_all};
    use crate::finding::{Backend, Major};
    use crate::ir::{FnKind, Lang};

    #[test]
    fn row_major_gemv_with_scalar() {
        let f = host(
            &[("M", 4096), ("N", 1024)],
            "A: f32*, x: f32*, y: f32*",
            "for i in 0..M {
               decl f32 s = 0;
               for k in 0..N { s += A[i*N + k] * x[k]; }
               y[i] = s;
             }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.code, "GS201");
        assert_eq!(x.routine, Routine::Gemv);
        assert_eq!(x.dims.display(), "4096×1024");
        assert!(x.dims.n.is_none());
        assert_eq!(x.layouts.len(), 1);
        assert_eq!(x.layouts[0].role, "A");
        assert_eq!(x.layouts[0].major, Major::Row);
        assert_eq!(x.layouts[0].ld.as_deref(), Some("N"));
        assert_eq!(x.loop_order.as_deref(), Some("ik"));
        assert!(x.message.contains("sgemv"));
    }

    #[test]
    fn transposed_gemv() {
        let f = host(
            &[],
            "A: f64[N][M], x: f64*, y: f64*",
            "for i in 0..N { for j in 0..M { y[j] += A[i][j] * x[i]; } }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].layouts[0].major, Major::Col);
        assert_eq!(v[0].loop_order.as_deref(), Some("ki"));
        assert_eq!(v[0].dims.display(), "M×N");
    }

    #[test]
    fn vector_first_and_python() {
        let f = file(
            Lang::Python,
            &[],
            vec![func(
                "mv",
                FnKind::Python,
                "W: list, v: list, out: list",
                "for r in 0..len(W) { for c in 0..len(v) { out[r] += v[c] * W[r][c]; } }",
            )],
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].backend, Backend::PythonLoop);
        assert_eq!(v[0].layouts[0].name, "W");
        assert!(v[0].layouts[0].jagged);
    }

    #[test]
    fn cuda_thread_per_row_gemv() {
        let f = file(
            Lang::Cuda,
            &[],
            vec![func(
                "gemv",
                FnKind::CudaKernel,
                "A: f32*, x: f32*, y: f32*",
                "thread row.x in 0..M { decl f32 s = 0;
                   for k in 0..N { s += A[row*N + k] * x[k]; }
                   y[row] = s; }",
            )],
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].backend, Backend::CudaKernel);
        assert_eq!(v[0].range, f.functions[0].span);
    }
}
