// Square matmul kernel; the thread-index expressions are written with the
// operands in a different order than usual.
#include <cuda_runtime.h>

__global__ void sq_matmul(float *c, const float *a, const float *b, int n)   // expect: GS102 routine=gemm dims=nxnxn dtype=f32 order=thread-per-output layout=C:row,A:row,B:row
{
    int col = threadIdx.x + blockDim.x * blockIdx.x;
    int row = threadIdx.y + blockIdx.y * blockDim.y;
    if (row < n && col < n) {
        float v = 0;
        for (int i = 0; i < n; i++) {
            v += a[row * n + i] * b[i * n + col];
        }
        c[row * n + col] = v;
    }
}

void launch(float *c, const float *a, const float *b, int n)
{
    dim3 threads(32, 8);
    dim3 blocks((n + 31) / 32, (n + 7) / 8);
    sq_matmul<<<blocks, threads>>>(c, a, b, n);
    cudaDeviceSynchronize();
}
