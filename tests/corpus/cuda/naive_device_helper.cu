// Element access goes through small __device__ helpers.
#include <cuda_runtime.h>

__device__ float get(const float *m, int r, int c, int ld) { return m[r * ld + c]; }

__device__ void put(float *m, int r, int c, int ld, float v) { m[r * ld + c] = v; }

__global__ void mm_helper(const float *A, const float *B, float *C, int M, int N, int K)   // expect: GS102 routine=gemm dims=MxNxK dtype=f32 order=thread-per-output layout=A:row,B:row
{
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < M && j < N) {
        float s = 0.0f;
        for (int k = 0; k < K; k++)
            s += get(A, i, k, K) * get(B, k, j, N);
        C[i * N + j] = s;
    }
}
