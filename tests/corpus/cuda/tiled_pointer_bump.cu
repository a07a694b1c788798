// Tiled SGEMM with one-dimensional thread blocks: the thread index is split
// into a row and a column by `/` and `%` of the tile width, the operand
// pointers are moved to the block's corner once and advanced by one tile
// per step, and the shared tiles are flat arrays.
#include <cuda_runtime.h>

#define TW 32

__global__ void sgemm_bumped(int M, int N, int K, float alpha, const float *A, const float *B, float beta, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_bumped alpha=alpha beta=beta
{
    const int br = blockIdx.y;
    const int bc = blockIdx.x;
    const int tr = threadIdx.x / TW;
    const int tc = threadIdx.x % TW;
    __shared__ float sa[TW * TW];
    __shared__ float sb[TW * TW];

    A += br * TW * K;
    B += bc * TW;
    C += br * TW * N + bc * TW;

    float acc = 0.0f;
    for (int t = 0; t < K; t += TW) {
        sa[tr * TW + tc] = A[tr * K + tc];
        sb[tr * TW + tc] = B[tr * N + tc];
        __syncthreads();
        A += TW;
        B += TW * N;
        for (int d = 0; d < TW; ++d)
            acc += sa[tr * TW + d] * sb[d * TW + tc];
        __syncthreads();
    }
    C[tr * N + tc] = alpha * acc + beta * C[tr * N + tc];
}
