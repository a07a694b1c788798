// negative: SGEMM with the handle set to TF32 tensor-op math, so the FP32
// product uses tensor cores.
#include <cublas_v2.h>
#include <cuda_runtime.h>

int main()
{
    const int n = 8192;
    float *A, *B, *C;
    cudaMalloc(&A, sizeof(float) * n * n);
    cudaMalloc(&B, sizeof(float) * n * n);
    cudaMalloc(&C, sizeof(float) * n * n);
    cublasHandle_t handle;
    cublasCreate(&handle);
    cublasSetMathMode(handle, CUBLAS_TF32_TENSOR_OP_MATH);
    const float alpha = 1.0f, beta = 0.0f;
    for (int it = 0; it < 10; ++it)
        cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, A, n, B, n, &beta, C, n);
    cudaDeviceSynchronize();
    cublasDestroy(handle);
    return 0;
}
