// Register-tiled SGEMM (one column of C per thread, RM rows of it) whose
// accumulator array has one slot more than it accumulates: `acc[RM]`
// holds the B tile value of the current step, read by every update of
// `acc[0..RM)`; only those slots are stored.
#include <cuda_runtime.h>

#define SBM 64
#define SBN 64
#define SBK 8
#define RM 8

__global__ void sgemm_spare_slot(int M, int N, int K, float alpha, const float *A, const float *B, float beta, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_spare_slot layout=C:row,A:row,B:row alpha=alpha beta=beta
{
    const int col = threadIdx.x % SBN;
    const int row0 = threadIdx.x / SBN * RM;
    const int ar = threadIdx.x / SBK, ac = threadIdx.x % SBK;
    const int br = threadIdx.x / SBN, bc = threadIdx.x % SBN;
    __shared__ float ta[SBM * SBK];
    __shared__ float tb[SBK * SBN];
    float acc[RM + 1] = {0.0f};

    A += blockIdx.y * SBM * K;
    B += blockIdx.x * SBN;
    C += blockIdx.y * SBM * N + blockIdx.x * SBN;
    for (int t = 0; t < K; t += SBK) {
        for (int s = 0; s < SBM; s += 64)
            ta[(ar + s) * SBK + ac] = A[(ar + s) * K + ac];
        for (int s = 0; s < SBK; s += 8)
            tb[(br + s) * SBN + bc] = B[(br + s) * N + bc];
        __syncthreads();
        A += SBK;
        B += SBK * N;
        for (int p = 0; p < SBK; ++p) {
            acc[RM] = tb[p * SBN + col];
            for (int u = 0; u < RM; ++u)
                acc[u] += ta[(row0 + u) * SBK + p] * acc[RM];
        }
        __syncthreads();
    }
    for (int u = 0; u < RM; ++u)
        C[(row0 + u) * N + col] = alpha * acc[u] + beta * C[(row0 + u) * N + col];
}

// negative: the spare slot holds a per-block scale set once before the
// tile loop (not a value of the B tile that moves with the reduction), so
// each thread sums a scaled column of A: no second matrix.
__global__ void scaled_row_sums(int K, const float *A, const float *scale, float *out)
{
    __shared__ float ta[64 * 8];
    float acc[8 + 1] = {0.0f};
    const int row0 = threadIdx.x / 8 * 8;
    acc[8] = scale[blockIdx.x];
    for (int t = 0; t < K; t += 8) {
        ta[threadIdx.x] = A[(blockIdx.x * 64 + threadIdx.x / 8) * K + t + threadIdx.x % 8];
        __syncthreads();
        for (int p = 0; p < 8; ++p)
            for (int u = 0; u < 8; ++u)
                acc[u] += ta[(row0 + u) * 8 + p] * acc[8];
        __syncthreads();
    }
    for (int u = 0; u < 8; ++u)
        out[blockIdx.x * 64 + row0 + u] = acc[u];
}
