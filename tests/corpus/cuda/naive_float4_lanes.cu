// Each thread of a one-dimensional block computes four consecutive rows
// of one column of C (column-major), accumulating them in the lanes of a
// float4 updated one by one and stored with one vector store. The block
// covers a 32x32 tile: 8 threads of four rows by 32 columns. The near
// miss with the same lanes is neg_float4_lane_sums.cu.
#include <cuda_runtime.h>

#define M 1024
#define N 512
#define K 256

__global__ void sgemm_four_rows(const float *A, const float *B, float *C)   // expect: GS102 routine=gemm dims=1024x512x256 dtype=f32
{
    int t = threadIdx.x;
    int r = (t & 7) << 2, c = t >> 3;
    A += blockIdx.x << 5;
    B += (blockIdx.y << 5) * K;
    C += (blockIdx.x << 5) + (blockIdx.y << 5) * M;
    float4 acc;
    acc.x = 0.f;
    acc.y = 0.f;
    acc.z = 0.f;
    acc.w = 0.f;
    for (int p = 0; p < K; p++) {
        float b = B[p + c * K];
        acc.x += A[r + p * M] * b;
        acc.y += A[r + 1 + p * M] * b;
        acc.z += A[r + 2 + p * M] * b;
        acc.w += A[r + 3 + p * M] * b;
    }
    *(float4 *)(&C[r + c * M]) = acc;
}

void launch(const float *A, const float *B, float *C)
{
    dim3 grid(M / 32, N / 32);
    sgemm_four_rows<<<grid, 256>>>(A, B, C);
}
