// cublasGemmEx with the pedantic FP32 compute type (GS601), A transposed:
// C (M×N, column-major) = Aᵀ·B with A stored K×M. The rewrite picks the
// TF32 compute type.
#include <cublas_v2.h>
#include <cuda_runtime.h>

void run(int M, int N, int K, const float *A, const float *B, float *C)
{
    float *dA, *dB, *dC;
    cudaMalloc(&dA, sizeof(float) * K * M);
    cudaMalloc(&dB, sizeof(float) * K * N);
    cudaMalloc(&dC, sizeof(float) * M * N);
    cudaMemcpy(dA, A, sizeof(float) * K * M, cudaMemcpyHostToDevice);
    cudaMemcpy(dB, B, sizeof(float) * K * N, cudaMemcpyHostToDevice);
    cublasHandle_t handle;
    cublasCreate(&handle);
    const float one = 1.0f, zero = 0.0f;
    cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, M, N, K, &one, dA, CUDA_R_32F, K, dB, CUDA_R_32F, K,
                 &zero, dC, CUDA_R_32F, M, CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_GEMM_DEFAULT);
    cudaMemcpy(C, dC, sizeof(float) * M * N, cudaMemcpyDeviceToHost);
    cublasDestroy(handle);
    cudaFree(dA);
    cudaFree(dB);
    cudaFree(dC);
}
