// The launch is inside a macro.
#include <cuda_runtime.h>

__global__ void mm_mac(const float *A, const float *B, float *C, int n)
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

#define LAUNCH(a, b, c, n) \
    mm_mac<<<dim3(((n) + 7) / 8, ((n) + 7) / 8), dim3(8, 8)>>>(a, b, c, n)

void run(const float *A, const float *B, float *C, int n)
{
    LAUNCH(A, B, C, n);
}
