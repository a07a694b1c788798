// A BF16 tensor-core GEMM whose shared tiles are filled by asynchronous
// copies (`cuda::memcpy_async` through a pipeline) two stages ahead: the
// rule reads only the fragment traffic, so the staging does not matter.
// Each warp owns one 16x16 output tile; K advances 16 per stage. The
// accumulator is scaled element by element into a second fragment, which
// is what reaches memory.
#include <mma.h>
#include <cuda_bf16.h>
#include <cuda/pipeline>

#define TILE 16
#define STAGES 2

using namespace nvcuda;

__global__ void bf16_async(const __nv_bfloat16 *P, const __nv_bfloat16 *Q, float *R, int M, int N, int K, float alpha)   // expect: GS109 routine=gemm dtype=bf16 order=wmma function=bf16_async layout=C:row,A:row,B:col
{
    __shared__ alignas(32) __nv_bfloat16 sp[STAGES][TILE * TILE];
    __shared__ alignas(32) __nv_bfloat16 sq[STAGES][TILE * TILE];
    const int lane = threadIdx.x;
    const int row = blockIdx.y * TILE, col = blockIdx.x * TILE;
    auto pipe = cuda::make_pipeline();
    const auto eight = cuda::aligned_size_t<16>(16);

    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fp;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fq;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> sum;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> out;
    wmma::fill_fragment(sum, 0.0f);

    for (int kt = 0; kt < K; kt += TILE) {
        const int s = (kt / TILE) % STAGES;
        pipe.producer_acquire();
        cuda::memcpy_async(&sp[s][lane * 8], &P[(row + lane / 2) * K + kt + (lane % 2) * 8], eight, pipe);
        cuda::memcpy_async(&sq[s][lane * 8], &Q[(col + lane / 2) * K + kt + (lane % 2) * 8], eight, pipe);
        pipe.producer_commit();
        cuda::pipeline_consumer_wait_prior<0>(pipe);
        __syncwarp();
        wmma::load_matrix_sync(fp, sp[s], TILE);
        wmma::load_matrix_sync(fq, sq[s], TILE);
        wmma::mma_sync(sum, fp, fq, sum);
        pipe.consumer_release();
    }
    for (int e = 0; e < out.num_elements; e++)
        out.x[e] = alpha * sum.x[e];
    wmma::store_matrix_sync(R + row * N + col, out, N, wmma::mem_row_major);
}
