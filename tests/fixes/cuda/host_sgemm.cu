// Host code: an FP32 cuBLAS GEMM in the default math mode (GS601).
#include <cublas_v2.h>
#include <cuda_runtime.h>

void run(int m, int n, int k)
{
    float *dA, *dB, *dC;
    cudaMalloc(&dA, sizeof(float) * m * k);
    cudaMalloc(&dB, sizeof(float) * k * n);
    cudaMalloc(&dC, sizeof(float) * m * n);
    cublasHandle_t handle;
    cublasCreate(&handle);
    const float alpha = 1.0f, beta = 0.0f;
    cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, dA, m, dB, k, &beta, dC, m);
    cublasDestroy(handle);
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);
}
