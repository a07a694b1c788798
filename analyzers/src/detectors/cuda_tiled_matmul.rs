//! GS103: a shared-memory tiled CUDA matmul kernel.

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{self, FixContext, FixResult};

declare_rule! {
    /// Hand-written shared-memory tiled CUDA matmul kernel.
    ///
    /// **What it finds.** A `__global__` kernel that loads tiles of `A` and
    /// `B` into `__shared__` arrays inside a loop over tiles
    /// (`As[ty][tx] = A[row*K + t*TILE + tx]`), synchronises, and accumulates
    /// `As[ty][k] * Bs[k][tx]` over the tile. Each tile read is mapped back to
    /// the global array through its load statement, and the kernel is
    /// recognised as `C = A·B` with the reduction split over the tile loop
    /// and the in-tile loop.
    ///
    /// The forms real kernels take are read the same way: block and thread
    /// indices bound to names of their own (`bx = blockIdx.x`,
    /// `ty = threadIdx.y`) or used as written, with the row and column
    /// inline in every index; a tile loop walking two offsets
    /// (`for (a = aBegin, b = bBegin; a <= aEnd; a += aStep, b += bStep)`);
    /// operand pointers advanced once and per tile (`A += BK; B += BK*N;`);
    /// one-dimensional thread blocks split by `/` and `%`; flat tiles
    /// (`As[row*BK + col]`); a `__device__` helper that kernels call; and
    /// register tiling, where each thread accumulates a TM×TN block in a
    /// local array (flat or two-dimensional, `acc[TM][TN]`) read from
    /// per-thread copies of the tiles, a spare slot of that array holding
    /// the current B value (`acc[TM] = Bs[...]`) included. Vector
    /// (`float4`) loads and stores are read lane by lane
    /// (`reinterpret_cast<float4 *>(&A[e])[0]` is `A[e]` … `A[e + 3]`, a tile
    /// filled by a vector copy or transposed one lane at a time), and so are
    /// tiles filled by `cuda::memcpy_async` of one `float` or `float4`.
    /// A tile staged through a per-thread register array (a `float4` copy
    /// into `stage[q]`, then `As[(c + l)*BM + r] = stage[q + l]` lane by
    /// lane) is read through to the global load. A kernel with a single
    /// tile (no loop over tiles: a blocked LU's trailing update
    /// `a[...] -= sum` of two tiles copied into shared memory) has `K` =
    /// its one tile loop's extent.
    ///
    /// Multi-stage pipelines and double buffering, where a ring of tiles
    /// (`__shared__ float As[STAGES][T][T]`) is filled ahead while an
    /// earlier stage is multiplied, are read as the same product: a read of
    /// stage `t % STAGES` is matched with the store into stage `f % STAGES`
    /// with its fetch index `f` set to `t` (a fetch `t + STAGES - 1` ahead,
    /// a prologue loop filling stage `s` with tile `s`, or a fetch counter
    /// of its own advanced in a loop that runs ahead, with the offsets it
    /// bumps alongside). The stage may be a wrapped counter (`s = (s + 1) %
    /// STAGES`, `++s; if (s == STAGES) s = 0;`, `buf ^= 1`, `1 - buf`), and
    /// the copies may go through `cuda::pipeline`, the `__pipeline_*`
    /// primitives, a `cuda::barrier` or plain stores. The tile loop may be
    /// a `do { k += BK; ... } while (k < K)` with the first tile loaded
    /// before it, the next tile fetched into registers and stored into
    /// the other buffer under `if (k < K)` (the buffer flipped there too),
    /// register fragments double-buffered over the inner loop and its
    /// last step peeled after it. A store in the read's
    /// own loop must fetch 0 to STAGES-1 iterations ahead of the read (1 to
    /// STAGES when it comes after the read): a loop that multiplies a stage
    /// before it is filled is not a product of A and B. Each thread may
    /// also compute several register tiles spread over the block tile
    /// (warp tiles), kept in one flat array indexed in mixed radix.
    ///
    /// Not recognised: tiles whose layout is permuted by `%` and `/`
    /// (bank-conflict swizzles), a thread index split twice (a warp index
    /// split again into warp rows and columns), register fragments filled
    /// in pieces from several places of a tile (`frag[0..4]` from one
    /// quadrant, `frag[4..8]` from another), tiles filled and read
    /// through templated `__device__` helpers called with namespace-
    /// qualified names, a buffer chosen by a pointer offset toggled per
    /// tile (`As + (1 - off) * BM * BK`), producer and consumer halves of
    /// a block that fill and multiply different buffers. `wmma`
    /// tensor-core kernels (`mma_sync` on fragments) are a different idiom,
    /// already on the tensor cores: GS109 reports them.
    ///
    /// **Why it is slow.** Classic textbook tiling reuses each element
    /// `TILE` times, but without register blocking, vectorised loads,
    /// double buffering or tensor cores it stays far below cuBLAS (often
    /// 10–30% of it, much less for FP16/BF16 where cuBLAS uses tensor cores).
    ///
    /// ```cuda
    /// __shared__ float As[TILE][TILE], Bs[TILE][TILE];
    /// for (int t = 0; t < (K + TILE - 1) / TILE; t++) {
    ///     As[ty][tx] = A[row * K + t * TILE + tx];
    ///     Bs[ty][tx] = B[(t * TILE + ty) * N + col];
    ///     __syncthreads();
    ///     for (int k = 0; k < TILE; k++) sum += As[ty][k] * Bs[k][tx];
    ///     __syncthreads();
    /// }
    /// C[row * N + col] = sum;
    /// // → cublasSgemm (or cublasGemmEx with tensor-op math)
    /// ```
    ///
    /// **When the rewrite is safe.** As for any GEMM: non-overlapping arrays,
    /// the launch covering the whole output, and bit-level differences in
    /// the summation order accepted. cuBLAS is column-major: swap `A` and `B`
    /// for row-major data.
    pub struct CudaTiledMatmul {
        code: "GS103",
        name: "cuda-tiled-matmul",
        idiom: Idiom::Gemm,
        fix: FixAvailability::Sometimes(
            "launch → `cublasGemmEx` · TF32 or exact FP32/FP64 · `cuda_launch.rs`",
        ),
    }
}

impl Rule for CudaTiledMatmul {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, _finding: &Finding) -> FixResult {
        fixes::cuda_launch::fix(cx.file, cx.text, cx.nest()?)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests() {
            if n.shape != Shape::Gemm || !n.tiled {
                continue;
            }
            let tiles: Vec<&str> = n
                .loops
                .iter()
                .filter(|l| l.role == 'k')
                .map(|l| l.var.as_str())
                .collect();
            let why = format!(
                "{} reads shared-memory tiles loaded from {}; reduction over {}",
                n.text,
                n.layouts
                    .iter()
                    .filter(|l| l.role != "C")
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" and "),
                tiles.join(" × ")
            );
            let message = format!(
                "hand-written tiled CUDA matmul {}: one cuBLAS {} call (tensor cores where the type allows) does the same work",
                n.size_text(),
                n.blas("gemm")
            );
            out.push_nest(
                n,
                n.finding(
                    &Self::META,
                    Routine::Gemm,
                    Some("tiled".into()),
                    why,
                    message,
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{file, func, run, run_all};
    use crate::finding::{Backend, Major};
    use crate::ir::{FnKind, Lang};

    const TILED: &str = "thread row.y in 0..M {
  thread col.x in 0..N {
    shared f32 As[TILE][TILE];
    shared f32 Bs[TILE][TILE];
    decl f32 sum = 0;
    for t in 0..(K + TILE - 1) / TILE {
      if row < M && t*TILE + tx < K { As[ty][tx] = A[row*K + t*TILE + tx]; } else { As[ty][tx] = 0; }
      Bs[ty][tx] = B[(t*TILE + ty)*N + col];
      sync;
      for k in 0..TILE { sum += As[ty][k] * Bs[k][tx]; }
      sync;
    }
    C[row*N + col] = sum;
  }
}";

    #[test]
    fn tiled_kernel() {
        let f = file(
            Lang::Cuda,
            &[("TILE", 16), ("M", 512), ("N", 256), ("K", 1024)],
            vec![func(
                "tiled",
                FnKind::CudaKernel,
                "A: f32*, B: f32*, C: f32*",
                TILED,
            )],
        );
        let v = run(&CudaTiledMatmul, &f);
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.loop_order.as_deref(), Some("tiled"));
        assert_eq!(x.backend, Backend::CudaKernel);
        assert_eq!(x.dims.display(), "512×256×1024");
        assert_eq!(x.dims.k.as_ref().unwrap().expr, "K");
        assert_eq!(x.range, f.functions[0].span);
        assert_eq!(x.key_range.start_line, 10);
        let l: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.name.as_str(), l.major))
            .collect();
        assert_eq!(
            l,
            vec![
                ("C", "C", Major::Row),
                ("A", "A", Major::Row),
                ("B", "B", Major::Row)
            ]
        );
        let ld: Vec<_> = x.layouts.iter().map(|l| l.ld.clone().unwrap()).collect();
        assert_eq!(ld, vec!["N", "K", "N"]);
        // Only GS103, not GS102/GS104 as well.
        assert_eq!(run_all(&f).len(), 1);
    }

    #[test]
    fn tile_loop_with_tile_step() {
        let body = TILED
            .replace(
                "for t in 0..(K + TILE - 1) / TILE {",
                "for t in 0..K step TILE {",
            )
            .replace("t*TILE", "t");
        let f = file(
            Lang::Cuda,
            &[],
            vec![func(
                "tiled",
                FnKind::CudaKernel,
                "A: f32*, B: f32*, C: f32*",
                &body,
            )],
        );
        let v = run(&CudaTiledMatmul, &f);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].dims.display(), "M×N×K");
    }

    #[test]
    fn shared_memory_reduction_is_not_matmul() {
        // A block reduction through shared memory: no tile product.
        let f = file(
            Lang::Cuda,
            &[],
            vec![func(
                "reduce",
                FnKind::CudaKernel,
                "x: f32*, out: f32*",
                "thread i.x in 0..N {
                   shared f32 s[256];
                   s[tx] = x[i];
                   sync;
                   for k in 0..256 { out[i] += s[k] * s[k]; }
                 }",
            )],
        );
        assert!(run_all(&f).is_empty());
    }

    fn guarded(load_a: &str) -> crate::ir::File {
        let body = TILED
            .replace(
                "if row < M && t*TILE + tx < K { As[ty][tx] = A[row*K + t*TILE + tx]; } else { As[ty][tx] = 0; }",
                load_a,
            )
            .replace(
                "Bs[ty][tx] = B[(t*TILE + ty)*N + col];",
                "Bs[ty][tx] = select(t*TILE + ty < K && col < N, B[(t*TILE + ty)*N + col], 0.0);",
            );
        file(
            Lang::Cuda,
            &[("TILE", 32), ("M", 512), ("N", 256), ("K", 1024)],
            vec![func(
                "tiled",
                FnKind::CudaKernel,
                "A: f32*, B: f32*, C: f32*",
                &body,
            )],
        )
    }

    #[test]
    fn tile_loads_guarded_by_a_ternary() {
        // `As[ty][tx] = (row < M && ...) ? A[...] : 0.0f;` lowers to `select`.
        for load in [
            "As[ty][tx] = select(row < M && t*TILE + tx < K, A[row*K + t*TILE + tx], 0.0);",
            "As[ty][tx] = select(row >= M || t*TILE + tx >= K, 0, A[row*K + t*TILE + tx]);",
        ] {
            let f = guarded(load);
            let v = run_all(&f);
            assert_eq!(v.len(), 1, "{load}: {v:#?}");
            assert_eq!(v[0].code, "GS103");
            assert_eq!(v[0].dims.display(), "512×256×1024");
            let names: Vec<_> = v[0].layouts.iter().map(|l| l.name.as_str()).collect();
            assert_eq!(names, vec!["C", "A", "B"]);
        }
        // A select whose other branch is not zero is not a plain tile load.
        let f = guarded("As[ty][tx] = select(row < M, A[row*K + t*TILE + tx], A[t*TILE + tx]);");
        assert!(run_all(&f).is_empty());
    }
}
