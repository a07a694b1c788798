// A TF32 tensor-core GEMM whose operand tiles are staged through shared
// memory: the block's 128 threads copy a 32x8 slice of A and an 8x32 slice
// of B into __shared__ arrays, synchronise, and each of the four warps
// loads its fragments from the shared tiles (not from global memory) and
// accumulates one 16x16 tile of C. The result is stored column-major.
#include <mma.h>

#define BM 32
#define BN 32
#define BK 8

namespace wm = nvcuda::wmma;

__global__ void tf32_staged(int n, int k, const float *lhs, const float *rhs, float *res)   // expect: GS109 routine=gemm dtype=tf32 order=wmma function=tf32_staged layout=C:col,A:row,B:row
{
    __shared__ float sl[BM][BK];
    __shared__ float sr[BK][BN];
    const int warp = threadIdx.x / 32;
    const int wr = warp / 2, wc = warp % 2;
    const int r0 = blockIdx.y * BM, c0 = blockIdx.x * BN;

    wm::fragment<wm::matrix_a, 16, 16, 8, wm::precision::tf32, wm::row_major> fl;
    wm::fragment<wm::matrix_b, 16, 16, 8, wm::precision::tf32, wm::row_major> fr;
    wm::fragment<wm::accumulator, 16, 16, 8, float> acc;
    wm::fill_fragment(acc, 0.0f);

    for (int t = 0; t < k; t += BK) {
        for (int e = threadIdx.x; e < BM * BK; e += blockDim.x) {
            sl[e / BK][e % BK] = lhs[(r0 + e / BK) * k + t + e % BK];
            sr[e / BN][e % BN] = rhs[(t + e / BN) * n + c0 + e % BN];
        }
        __syncthreads();
        wm::load_matrix_sync(fl, &sl[wr * 16][0], BK);
        wm::load_matrix_sync(fr, &sr[0][wc * 16], BN);
        for (int q = 0; q < fl.num_elements; q++)
            fl.x[q] = wm::__float_to_tf32(fl.x[q]);
        for (int q = 0; q < fr.num_elements; q++)
            fr.x[q] = wm::__float_to_tf32(fr.x[q]);
        wm::mma_sync(acc, fl, fr, acc);
        __syncthreads();
    }
    float *dst = res + (c0 + wc * 16) * n + r0 + wr * 16;
    wm::store_matrix_sync(dst, acc, n, wm::mem_col_major);
}
