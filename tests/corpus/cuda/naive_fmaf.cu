// Naive kernel accumulating with fused multiply-adds.
#include <cuda_runtime.h>

#define N 4096

__global__ void matmul_fma(const float *__restrict__ A, const float *__restrict__ B, float *__restrict__ C)   // expect: GS102 routine=gemm dims=4096x4096x4096 dtype=f32 order=thread-per-output layout=C:row,A:row,B:row
{
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    if (y < N && x < N) {
        float acc = 0.0f;
        for (int k = 0; k < N; ++k)
            acc = fmaf(A[y * N + k], B[k * N + x], acc);
        C[y * N + x] = acc;
    }
}

int main()
{
    float *A, *B, *C;
    cudaMalloc(&A, sizeof(float) * N * N);
    cudaMalloc(&B, sizeof(float) * N * N);
    cudaMalloc(&C, sizeof(float) * N * N);
    matmul_fma<<<dim3(N / 16, N / 16), dim3(16, 16)>>>(A, B, C);
    cudaDeviceSynchronize();
    return 0;
}
