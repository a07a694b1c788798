// Register-tiled SGEMM whose B tile rows are padded by a few floats (so
// that the threads of a warp hit different shared-memory banks), with
// each tile filled by a loop over row offsets that stops one stride short
// of the tile height (`off + STRIDE <= height`). The padded row stride
// `PN + PAD` is a sum, not a single symbol.
#include <cuda_runtime.h>

#define PM 64
#define PN 64
#define PK 16
#define PAD 4
#define RT 4
#define NT 256

__global__ void sgemm_padded(int M, int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_padded layout=C:row,A:row,B:row
{
    const int by = blockIdx.y, bx = blockIdx.x;
    const int trow = threadIdx.x / (PN / RT), tcol = threadIdx.x % (PN / RT);
    const int ar = threadIdx.x / PK, ac = threadIdx.x % PK;
    const int br = threadIdx.x / PN, bc = threadIdx.x % PN;
    __shared__ float sA[PM * PK];
    __shared__ float sB[PK * (PN + PAD)];
    float acc[RT * RT] = {0.0f};
    for (int t = 0; t < K; t += PK) {
        for (int off = 0; off + NT / PK <= PM; off += NT / PK)
            sA[(ar + off) * PK + ac] = A[(by * PM + ar + off) * K + t + ac];
        for (int off = 0; off + NT / PN <= PK; off += NT / PN)
            sB[(br + off) * (PN + PAD) + bc] = B[(t + br + off) * N + bx * PN + bc];
        __syncthreads();
        for (int d = 0; d < PK; ++d)
            for (int i = 0; i < RT; ++i)
                for (int j = 0; j < RT; ++j)
                    acc[i * RT + j] += sA[(trow * RT + i) * PK + d] * sB[d * (PN + PAD) + tcol * RT + j];
        __syncthreads();
    }
    for (int i = 0; i < RT; ++i)
        for (int j = 0; j < RT; ++j)
            C[(by * PM + trow * RT + i) * N + bx * PN + tcol * RT + j] = acc[i * RT + j];
}

// negative: the same padded tile used to transpose B (a copy, no product).
__global__ void transpose_padded(int N, const float *B, float *Bt)
{
    const int br = threadIdx.x / PN, bc = threadIdx.x % PN;
    __shared__ float sB[PK * (PN + PAD)];
    for (int off = 0; off + NT / PN <= PK; off += NT / PN)
        sB[(br + off) * (PN + PAD) + bc] = B[(blockIdx.y * PK + br + off) * N + blockIdx.x * PN + bc];
    __syncthreads();
    for (int off = 0; off + NT / PN <= PK; off += NT / PN)
        Bt[(blockIdx.x * PN + bc) * N + blockIdx.y * PK + br + off] = sB[(br + off) * (PN + PAD) + bc];
}
