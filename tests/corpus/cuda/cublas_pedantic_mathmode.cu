// The handle is switched to pedantic math before an SGEMM.
#include <cublas_v2.h>
#include <cuda_runtime.h>

struct Gemm {
    cublasHandle_t handle;
};

void gemm_init(Gemm *g)
{
    cublasCreate(&g->handle);
    cublasSetMathMode(g->handle, CUBLAS_PEDANTIC_MATH);
}

void gemm_run(Gemm *g, int m, int n, int k, const float *A, const float *B, float *C)
{
    float one = 1.0f, zero = 0.0f;
    cublasSgemm(g->handle, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &one, A, k, B, k, &zero, C, m);   // expect: GS601 routine=gemm
}
