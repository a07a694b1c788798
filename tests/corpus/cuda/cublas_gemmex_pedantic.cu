// cublasGemmEx on FP32 data with the pedantic compute type (bit-for-bit
// reproducible, but it can never use tensor cores).
#include <cublas_v2.h>
#include <cuda_runtime.h>

void reproducible_gemm(cublasHandle_t handle, int m, int n, int k,
                       const float *A, const float *B, float *C)
{
    const float alpha = 1.0f;
    const float beta = 0.0f;
    cublasStatus_t st = cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha,   // expect: GS601 routine=gemm idiom=slow-library-call
                                     A, CUDA_R_32F, m, B, CUDA_R_32F, k, &beta,
                                     C, CUDA_R_32F, m, CUBLAS_COMPUTE_32F_PEDANTIC,
                                     CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS)
        return;
}
