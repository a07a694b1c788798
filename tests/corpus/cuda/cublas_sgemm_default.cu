// Host code multiplying FP32 matrices with cuBLAS using the default math
// mode (no TF32 tensor cores on Ampere and later).
#include <cstdio>
#include <cublas_v2.h>
#include <cuda_runtime.h>

__global__ void fill(float *p, int n, float v)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] = v;
}

int main()
{
    const int m = 4096, n = 4096, k = 4096;
    float *dA, *dB, *dC;
    cudaMalloc(&dA, sizeof(float) * m * k);
    cudaMalloc(&dB, sizeof(float) * k * n);
    cudaMalloc(&dC, sizeof(float) * m * n);
    fill<<<(m * k + 255) / 256, 256>>>(dA, m * k, 1.0f);
    fill<<<(k * n + 255) / 256, 256>>>(dB, k * n, 2.0f);

    cublasHandle_t handle;
    cublasCreate(&handle);
    const float alpha = 1.0f, beta = 0.0f;
    cudaEvent_t t0, t1;
    cudaEventCreate(&t0);
    cudaEventCreate(&t1);
    cudaEventRecord(t0);
    cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, dA, m, dB, k, &beta, dC, m);   // expect: GS601 routine=gemm idiom=slow-library-call function=main
    cudaEventRecord(t1);
    cudaEventSynchronize(t1);
    float ms;
    cudaEventElapsedTime(&ms, t0, t1);
    printf("%.1f TFLOP/s\n", 2.0 * m * n * k / (ms * 1e-3) / 1e12);
    cublasDestroy(handle);
    cudaFree(dA); cudaFree(dB); cudaFree(dC);
    return 0;
}
