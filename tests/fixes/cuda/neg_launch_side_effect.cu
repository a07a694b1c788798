// An argument with a side effect: the cuBLAS call would evaluate it twice.
#include <cuda_runtime.h>

__global__ void mm_se(const float *A, const float *B, float *C, int n)
{
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < n && col < n) {
        float sum = 0.0f;
        for (int k = 0; k < n; ++k)
            sum += A[row * n + k] * B[k * n + col];
        C[row * n + col] = sum;
    }
}

void run(const float *A, const float *B, float *C, int n)
{
    int calls = 0;
    mm_se<<<dim3((n + 7) / 8, (n + 7) / 8), dim3(8, 8)>>>(A, B, C, (calls++, n));
}
