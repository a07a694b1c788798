// Element access through __device__ helpers.
#include <cuda_runtime.h>

__device__ float get(const float *m, int r, int c, int ld) { return m[r * ld + c]; }

__global__ void mm_helper(const float *A, const float *B, float *C, int M, int N, int K)
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

void run(int M, int N, int K, const float *A, const float *B, float *C)
{
    dim3 block(8, 8), grid((N + 7) / 8, (M + 7) / 8);
    mm_helper<<<grid, block>>>(A, B, C, M, N, K);
}
