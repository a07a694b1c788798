//! CUDA C source of the hand-written candidates, generated from the
//! [`Problem`] (element type and layout) and compiled with NVRTC at run time
//! inside the benchmark child. Nothing here comes from the user's file.
//!
//! Both kernels take `(A, B, C, M, N, K, rows, batch)`: row-major `C[M×N]`
//! per batch, A stored `M×K` (or `K×M` when `trans_a`), B stored `K×N` (or
//! `N×K` when `trans_b`), batches packed one after another; only the first
//! `rows` rows of each C are computed (the engine may sample rows).

use crate::problem::{DType, Layout, Problem};

/// Threads per block side of the naive kernel (16×16 = 256 threads).
pub const NAIVE_BLOCK: u32 = 16;
/// Tile side of the shared-memory kernel (32×32 threads, one output each).
pub const TILE: u32 = 32;
/// Largest grid z (batches beyond it are looped over in the kernel).
pub const MAX_GRID_Z: u32 = 65_535;

/// Which hand-written kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelKind {
    /// One thread per output, plain K loop, 16×16 blocks.
    Naive,
    /// 32×32 tiles of A and B staged through shared memory.
    Tiled,
}

/// A generated kernel and how to launch it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kernel {
    pub name: String,
    pub source: String,
    pub block: (u32, u32, u32),
    pub grid: (u32, u32, u32),
}

/// The CUDA scalar type: `double` for f64 problems, `float` otherwise (f16
/// and bf16 inputs are widened to f32, exactly).
pub fn scalar(dtype: DType) -> &'static str {
    match dtype {
        DType::F64 => "double",
        _ => "float",
    }
}

/// Index of `A(i, p)` in its storage, as CUDA C.
pub fn a_index(l: Layout, i: &str, p: &str) -> String {
    if l.trans_a {
        format!("(idx_t){p} * M + {i}")
    } else {
        format!("(idx_t){i} * K + {p}")
    }
}

/// Index of `B(p, j)` in its storage, as CUDA C.
pub fn b_index(l: Layout, p: &str, j: &str) -> String {
    if l.trans_b {
        format!("(idx_t){j} * K + {p}")
    } else {
        format!("(idx_t){p} * N + {j}")
    }
}

/// `gemm_naive_float_nn`: unique per kernel, element type and layout.
pub fn kernel_name(kind: KernelKind, p: &Problem) -> String {
    let k = match kind {
        KernelKind::Naive => "naive",
        KernelKind::Tiled => "tiled",
    };
    format!("gemm_{k}_{}_{}", scalar(p.dtype), p.layout.as_str())
}

fn header(kind: KernelKind, p: &Problem) -> String {
    let l = p.layout;
    format!(
        "// gemmscope microbench: generated for {} ({} kernel).\n\
         // C (row-major, M x N) = A * B; A stored {}, B stored {}.\n\
         typedef unsigned long long idx_t;\n",
        p.describe(),
        match kind {
            KernelKind::Naive => "naive",
            KernelKind::Tiled => "tiled",
        },
        if l.trans_a {
            "K x M (transposed)"
        } else {
            "M x K"
        },
        if l.trans_b {
            "N x K (transposed)"
        } else {
            "K x N"
        },
    )
}

/// The launch grid for `rows` rows of C.
pub fn grid(kind: KernelKind, p: &Problem, rows: u64) -> (u32, u32, u32) {
    let side = match kind {
        KernelKind::Naive => NAIVE_BLOCK,
        KernelKind::Tiled => TILE,
    } as u64;
    (
        p.n.div_ceil(side) as u32,
        rows.div_ceil(side) as u32,
        p.batch.min(MAX_GRID_Z as u64) as u32,
    )
}

/// The kernel for `p`, computing its first `rows` rows.
pub fn generate(kind: KernelKind, p: &Problem, rows: u64) -> Kernel {
    let name = kernel_name(kind, p);
    let t = scalar(p.dtype);
    let l = p.layout;
    let body = match kind {
        KernelKind::Naive => format!(
            "extern \"C\" __global__ void {name}(const {t}* A, const {t}* B, {t}* C,\n\
             \x20   int M, int N, int K, int rows, int batch)\n\
             {{\n\
             \x20   int j = blockIdx.x * blockDim.x + threadIdx.x;\n\
             \x20   int i = blockIdx.y * blockDim.y + threadIdx.y;\n\
             \x20   if (i >= rows || j >= N) return;\n\
             \x20   for (int bt = blockIdx.z; bt < batch; bt += gridDim.z) {{\n\
             \x20       const {t}* a = A + (idx_t)bt * M * K;\n\
             \x20       const {t}* b = B + (idx_t)bt * K * N;\n\
             \x20       {t} acc = 0;\n\
             \x20       for (int p = 0; p < K; ++p)\n\
             \x20           acc += a[{ai}] * b[{bi}];\n\
             \x20       C[(idx_t)bt * M * N + (idx_t)i * N + j] = acc;\n\
             \x20   }}\n\
             }}\n",
            ai = a_index(l, "i", "p"),
            bi = b_index(l, "p", "j"),
        ),
        KernelKind::Tiled => {
            // Loads are arranged so that consecutive threadIdx.x read
            // consecutive addresses whatever the layout (coalesced); the
            // +1 column of padding keeps transposed stores conflict-free.
            let (ar, aq) = if l.trans_a {
                ("threadIdx.x", "threadIdx.y")
            } else {
                ("threadIdx.y", "threadIdx.x")
            };
            let (bq, bc) = if l.trans_b {
                ("threadIdx.x", "threadIdx.y")
            } else {
                ("threadIdx.y", "threadIdx.x")
            };
            format!(
                "extern \"C\" __global__ void {name}(const {t}* A, const {t}* B, {t}* C,\n\
                 \x20   int M, int N, int K, int rows, int batch)\n\
                 {{\n\
                 \x20   __shared__ {t} As[{T}][{T} + 1];  // As[r][q] = A(row0 + r, t0 + q)\n\
                 \x20   __shared__ {t} Bs[{T}][{T} + 1];  // Bs[q][c] = B(t0 + q, col0 + c)\n\
                 \x20   const int row0 = blockIdx.y * {T}, col0 = blockIdx.x * {T};\n\
                 \x20   const int i = row0 + threadIdx.y, j = col0 + threadIdx.x;\n\
                 \x20   const int ar = {ar}, aq = {aq};\n\
                 \x20   const int bq = {bq}, bc = {bc};\n\
                 \x20   for (int bt = blockIdx.z; bt < batch; bt += gridDim.z) {{\n\
                 \x20       const {t}* a = A + (idx_t)bt * M * K;\n\
                 \x20       const {t}* b = B + (idx_t)bt * K * N;\n\
                 \x20       {t} acc = 0;\n\
                 \x20       for (int t0 = 0; t0 < K; t0 += {T}) {{\n\
                 \x20           const int ai = row0 + ar, ap = t0 + aq;\n\
                 \x20           As[ar][aq] = (ai < rows && ap < K) ? a[{ai}] : ({t})0;\n\
                 \x20           const int bp = t0 + bq, bj = col0 + bc;\n\
                 \x20           Bs[bq][bc] = (bp < K && bj < N) ? b[{bi}] : ({t})0;\n\
                 \x20           __syncthreads();\n\
                 \x20           for (int q = 0; q < {T}; ++q)\n\
                 \x20               acc += As[threadIdx.y][q] * Bs[q][threadIdx.x];\n\
                 \x20           __syncthreads();\n\
                 \x20       }}\n\
                 \x20       if (i < rows && j < N)\n\
                 \x20           C[(idx_t)bt * M * N + (idx_t)i * N + j] = acc;\n\
                 \x20   }}\n\
                 }}\n",
                T = TILE,
                ai = a_index(l, "ai", "ap"),
                bi = b_index(l, "bp", "bj"),
            )
        }
    };
    let side = match kind {
        KernelKind::Naive => NAIVE_BLOCK,
        KernelKind::Tiled => TILE,
    };
    Kernel {
        source: format!("{}{body}", header(kind, p)),
        name,
        block: (side, side, 1),
        grid: grid(kind, p, rows),
    }
}
