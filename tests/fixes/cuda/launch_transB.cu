// C = A * B^T with B stored N x K row-major (a linear layer's weights).
#include <cuda_runtime.h>

__global__ void linear_nt(const float *x, const float *W, float *y, int batch, int in_f, int out_f)
{
    int b = blockIdx.y * blockDim.y + threadIdx.y;
    int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (b < batch && o < out_f) {
        float acc = 0.0f;
        for (int i = 0; i < in_f; ++i)
            acc += x[b * in_f + i] * W[o * in_f + i];
        y[b * out_f + o] = acc;
    }
}

void run(int M, int N, int K, const float *A, const float *B, float *C)
{
    dim3 block(4, 8);
    dim3 grid((N + 3) / 4, (M + 7) / 8);
    linear_nt<<<grid, block>>>(A, B, C, M, K, N);
}
