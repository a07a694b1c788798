// Register-tiled SGEMM: each thread accumulates an RM x RN block of C in a
// local array, reading the shared tiles through per-thread register
// copies; the block is stored with alpha/beta once the tiles are done.
#include <cuda_runtime.h>

#define TBM 64
#define TBN 64
#define TBK 8
#define RM 8
#define RN 8

__global__ void sgemm_regblock(int M, int N, int K, float alpha, const float *A, const float *B, float beta, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_regblock layout=C:row,A:row,B:row alpha=alpha beta=beta
{
    const int by = blockIdx.y, bx = blockIdx.x;
    const int trow = threadIdx.x / (TBN / RN);
    const int tcol = threadIdx.x % (TBN / RN);
    const int lrA = threadIdx.x / TBK, lcA = threadIdx.x % TBK;
    const int lrB = threadIdx.x / TBN, lcB = threadIdx.x % TBN;
    __shared__ float tA[TBM * TBK];
    __shared__ float tB[TBK * TBN];
    float acc[RM * RN] = {0.0f};
    float ra[RM], rb[RN];

    A += by * TBM * K;
    B += bx * TBN;
    C += by * TBM * N + bx * TBN;
    for (int kk = 0; kk < K; kk += TBK) {
        for (int off = 0; off < TBM; off += 32)
            tA[(lrA + off) * TBK + lcA] = A[(lrA + off) * K + lcA];
        for (int off = 0; off < TBK; off += 1)
            tB[(lrB + off) * TBN + lcB] = B[(lrB + off) * N + lcB];
        __syncthreads();
        A += TBK;
        B += TBK * N;
        for (int d = 0; d < TBK; ++d) {
            for (int i = 0; i < RM; ++i)
                ra[i] = tA[(trow * RM + i) * TBK + d];
            for (int j = 0; j < RN; ++j)
                rb[j] = tB[d * TBN + tcol * RN + j];
            for (int i = 0; i < RM; ++i)
                for (int j = 0; j < RN; ++j)
                    acc[i * RN + j] += ra[i] * rb[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < RM; ++i)
        for (int j = 0; j < RN; ++j)
            C[(trow * RM + i) * N + tcol * RN + j] = alpha * acc[i * RN + j] + beta * C[(trow * RM + i) * N + tcol * RN + j];
}

// negative: the same register block, but each thread accumulates the
// outer product of its own rows of A with itself (elementwise squares of
// one tile), never reading B.
__global__ void tile_squares(int K, const float *A, float *C)
{
    const int trow = threadIdx.x / 8;
    const int tcol = threadIdx.x % 8;
    const int bx = blockIdx.x;
    __shared__ float tA[64 * 8];
    float acc[8] = {0.0f};
    for (int kk = 0; kk < K; kk += 8) {
        tA[trow * 8 + tcol] = A[bx * 64 + trow * K + tcol + kk];
        __syncthreads();
        for (int i = 0; i < 8; ++i)
            acc[i] += tA[trow * 8 + i] * tA[trow * 8 + i];
        __syncthreads();
    }
    for (int i = 0; i < 8; ++i)
        C[bx * 64 + trow * 8 + i] = acc[i];
}
