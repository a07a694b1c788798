// Host code: cublasGemmEx on FP32 inputs with the pedantic compute type (GS601).
#include <cublas_v2.h>
#include <cuda_runtime.h>

void run(cublasHandle_t handle, int n, const float *dA, const float *dB, float *dC)
{
    const float alpha = 1.0f, beta = 0.0f;
    cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha,
                 dA, CUDA_R_32F, n, dB, CUDA_R_32F, n, &beta,
                 dC, CUDA_R_32F, n,
                 CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT);
}
