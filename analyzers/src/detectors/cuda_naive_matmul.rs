//! GS102: a naive CUDA matmul kernel (one thread per output, serial dot product).

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{self, FixContext, FixResult};
use crate::ir::LoopKind;

declare_rule! {
    /// Naive CUDA matmul kernel: each thread computes one `C[row][col]` with a serial loop over `k`.
    ///
    /// **What it finds.** A `__global__` kernel whose row and column come from
    /// thread indices (`row = blockIdx.y*blockDim.y + threadIdx.y`, or a 1-D
    /// index split by `/` and `%`) and whose body loops over `k`
    /// accumulating `A[row*K + k] * B[k*N + col]`, then stores into
    /// `C[row*N + col]` (optionally `alpha*sum + beta*C[...]`). A kernel with
    /// only one thread index (one thread per row or column, serial loop over
    /// the other) is reported too, with loop order `thread-per-row` /
    /// `thread-per-col`.
    ///
    /// **Why it is slow.** Every thread streams a whole row of `A` and a whole
    /// column of `B` from global memory with no reuse through shared memory
    /// or registers, and no tensor cores are used: such kernels typically
    /// reach a few percent of cuBLAS.
    ///
    /// ```cuda
    /// __global__ void mm(const float *A, const float *B, float *C, int N) {
    ///     int row = blockIdx.y * blockDim.y + threadIdx.y;
    ///     int col = blockIdx.x * blockDim.x + threadIdx.x;
    ///     if (row < N && col < N) {
    ///         float sum = 0;
    ///         for (int k = 0; k < N; k++) sum += A[row * N + k] * B[k * N + col];
    ///         C[row * N + col] = sum;
    ///     }
    /// }
    /// // → cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N, &one,
    /// //               B, N, A, N, &zero, C, N);   (row-major: swap A and B)
    /// ```
    ///
    /// **When the rewrite is safe.** The launch must cover the whole output
    /// (the guard is `row < M && col < N`), the arrays must not overlap, and
    /// the kernel must do nothing else. cuBLAS is column-major: a row-major
    /// `C = A·B` is `Cᵀ = Bᵀ·Aᵀ`, i.e. the same call with `A` and `B` swapped.
    pub struct CudaNaiveMatmul {
        code: "GS102",
        name: "cuda-naive-matmul",
        idiom: Idiom::Gemm,
        fix: FixAvailability::Sometimes(
            "launch → `cublasGemmEx` · TF32 or exact FP32/FP64 · `cuda_launch.rs`",
        ),
    }
}

impl Rule for CudaNaiveMatmul {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, _finding: &Finding) -> FixResult {
        fixes::cuda_launch::fix(cx.file, cx.text, cx.nest()?)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests() {
            if n.shape != Shape::Gemm || n.tiled || !n.has_thread_loops() {
                continue;
            }
            // A row (column) over a block and a thread index, or with the
            // thread's own register block, has several loops of its role.
            let thread = |role: char| {
                n.loops
                    .iter()
                    .any(|l| l.role == role && matches!(l.kind, LoopKind::CudaThread { .. }))
            };
            let (ti, tj) = (thread('i'), thread('j'));
            if !matches!(n.kind_of('k'), Some(LoopKind::Serial)) {
                continue;
            }
            let order = match (ti, tj) {
                (true, true) => "thread-per-output",
                (true, false) => "thread-per-row",
                (false, true) => "thread-per-col",
                (false, false) => continue,
            };
            let mut f = n.finding(
                &Self::META,
                Routine::Gemm,
                Some(order.to_string()),
                format!(
                    "{} with {} from thread indices, serial loop over {}",
                    n.text,
                    n.loops
                        .iter()
                        .filter(|l| matches!(l.kind, LoopKind::CudaThread { .. }))
                        .map(|l| l.var.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    n.loops
                        .iter()
                        .filter(|l| l.role == 'k')
                        .map(|l| l.var.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "naive CUDA matmul kernel {} ({}, no shared-memory reuse): one cuBLAS {} call does the same work",
                    n.size_text(),
                    order,
                    n.blas("gemm")
                ),
            );
            if order != "thread-per-output" {
                f.confidence -= 0.1;
            }
            out.push_nest(n, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{file, func, run, run_all};
    use crate::finding::{Backend, Major};
    use crate::ir::{FnKind, Lang};

    fn kernel(decls: &str, body: &str) -> crate::ir::File {
        file(
            Lang::Cuda,
            &[("N", 2048)],
            vec![func("matmul", FnKind::CudaKernel, decls, body)],
        )
    }

    #[test]
    fn thread_per_output_kernel() {
        let f = kernel(
            "A: f32*, B: f32*, C: f32*, M: i32, K: i32",
            "thread row.y in 0..M {
               thread col.x in 0..N {
                 decl f32 sum = 0;
                 for k in 0..K { sum += A[row*K + k] * B[k*N + col]; }
                 C[row*N + col] = sum;
               }
             }",
        );
        let v = run(&CudaNaiveMatmul, &f);
        assert_eq!(v.len(), 1);
        let x = &v[0];
        assert_eq!(x.loop_order.as_deref(), Some("thread-per-output"));
        assert_eq!(x.backend, Backend::CudaKernel);
        assert_eq!(x.range, f.functions[0].span);
        assert_eq!(x.key_range.start_line, 4);
        assert_eq!(x.dims.display(), "M×2048×K");
        assert_eq!(x.layouts[1].ld.as_deref(), Some("K"));
        assert!(x.layouts.iter().all(|l| l.major == Major::Row));
        assert!(x.message.contains("sgemm"));
        // Not also reported as a CPU GEMM.
        assert_eq!(run_all(&f).len(), 1);
    }

    #[test]
    fn split_index_alpha_beta_and_array_accumulation() {
        let f = kernel(
            "A: f64*, B: f64*, C: f64*, alpha: f64, beta: f64",
            "thread! row.x in 0..N {
               thread! col.x in 0..N {
                 decl f64 acc = 0;
                 for k in 0..N { acc += A[row*N + k] * B[k*N + col]; }
                 C[row*N + col] = alpha * acc + beta * C[row*N + col];
               }
             }",
        );
        let v = run(&CudaNaiveMatmul, &f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].alpha.as_deref(), Some("alpha"));
        assert_eq!(v[0].beta.as_deref(), Some("beta"));
        assert_eq!(v[0].dims.display(), "2048×2048×2048");
        assert!(v[0].message.contains("dgemm"));

        let g = kernel(
            "A: f32*, B: f32*, C: f32*",
            "thread row.y in 0..N { thread col.x in 0..N {
               for k in 0..N { C[row*N + col] += A[row*N + k] * B[k*N + col]; } } }",
        );
        assert_eq!(run(&CudaNaiveMatmul, &g).len(), 1);
    }

    #[test]
    fn thread_per_row_kernel() {
        let f = kernel(
            "A: f32*, B: f32*, C: f32*",
            "thread row.x in 0..N {
               for j in 0..N {
                 decl f32 s = 0;
                 for k in 0..N { s += A[row*N + k] * B[k*N + j]; }
                 C[row*N + j] = s;
               }
             }",
        );
        let v = run(&CudaNaiveMatmul, &f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].loop_order.as_deref(), Some("thread-per-row"));
    }

    #[test]
    fn elementwise_kernel_is_not_matmul() {
        let f = kernel(
            "A: f32*, B: f32*, C: f32*",
            "thread row.y in 0..N { thread col.x in 0..N {
               C[row*N + col] = A[row*N + col] * B[row*N + col]; } }",
        );
        assert!(run_all(&f).is_empty());
    }
}
