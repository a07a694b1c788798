// Naive kernel that exits early for threads outside the output.
#include <cuda_runtime.h>

__global__ void gemm_kernel(int M, int N, int K, const float *A, const float *B, float *C)   // expect: GS102 routine=gemm dims=2048x2048x2048 dtype=f32 order=thread-per-output layout=C:row,A:row,B:row
{
    const int row = blockIdx.y * blockDim.y + threadIdx.y;
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= M || col >= N)
        return;
    float acc = 0.0f;
    for (int k = 0; k < K; ++k)
        acc += A[row * K + k] * B[k * N + col];
    C[row * N + col] = acc;
}

int main()
{
    int M = 2048, N = 2048, K = 2048;
    float *A, *B, *C;
    cudaMallocManaged(&A, sizeof(float) * M * K);
    cudaMallocManaged(&B, sizeof(float) * K * N);
    cudaMallocManaged(&C, sizeof(float) * M * N);
    dim3 block(32, 32);
    dim3 grid(N / 32, M / 32);
    gemm_kernel<<<grid, block>>>(M, N, K, A, B, C);
    cudaDeviceSynchronize();
    cudaFree(A); cudaFree(B); cudaFree(C);
    return 0;
}
