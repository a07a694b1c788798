// negative: the lanes of a float4 updated one by one, four rows per
// thread as in naive_float4_lanes.cu, but summing a 32-column strip of A
// (a row reduction): no second operand, no matrix product.
#include <cuda_runtime.h>

#define M 1024

__global__ void column_sums_four_rows(const float *A, float *out)
{
    int t = threadIdx.x;
    int r = (t & 7) << 2, c = t >> 3;
    A += (blockIdx.x << 5) + (blockIdx.y << 5) * M;
    float4 acc;
    acc.x = 0.f;
    acc.y = 0.f;
    acc.z = 0.f;
    acc.w = 0.f;
    for (int p = 0; p < 32; p++) {
        acc.x += A[r + p * M];
        acc.y += A[r + 1 + p * M];
        acc.z += A[r + 2 + p * M];
        acc.w += A[r + 3 + p * M];
    }
    *(float4 *)(&out[(blockIdx.x << 5) + r + c * M]) = acc;
}
