/* CPU implementation of the cuBLAS calls the kernel-launch rewrite emits,
 * following the documented column-major semantics of cublasGemmEx:
 * C (m×n, ldc) = alpha·op(A)·op(B) + beta·C, op(A) m×k read from A with
 * lda (A is m×k when transa = N, k×m when T), op(B) k×n likewise; alpha
 * and beta are host pointers of the compute type's scalar; with beta == 0
 * C is not read. Argument errors (leading dimensions below the stored
 * rows, mismatched data/compute types, no handle) abort with exit code 3,
 * so a wrong mapping fails the test instead of computing something.
 * CUBLAS_COMPUTE_32F_FAST_TF32 rounds A and B to TF32 (10-bit mantissa).
 * cublasSgemm computes as cublasGemmEx with CUBLAS_COMPUTE_32F, or with
 * ..._FAST_TF32 when the handle's math mode is CUBLAS_TF32_TENSOR_OP_MATH
 * (the documented effect of that mode on SGEMM). */
#pragma once
#include "cuda_runtime.h"
typedef enum {
    CUBLAS_DEFAULT_MATH = 0,
    CUBLAS_TENSOR_OP_MATH = 1,
    CUBLAS_PEDANTIC_MATH = 2,
    CUBLAS_TF32_TENSOR_OP_MATH = 3
} cublasMath_t;
struct cublasContext {
    cudaStream_t stream;
    cublasMath_t math;
};
typedef cublasContext *cublasHandle_t;
typedef enum { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7 } cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 } cublasOperation_t;
typedef enum {
    CUBLAS_COMPUTE_16F = 64,
    CUBLAS_COMPUTE_16F_PEDANTIC = 65,
    CUBLAS_COMPUTE_32F = 68,
    CUBLAS_COMPUTE_32F_PEDANTIC = 69,
    CUBLAS_COMPUTE_32F_FAST_16F = 74,
    CUBLAS_COMPUTE_32F_FAST_16BF = 75,
    CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
    CUBLAS_COMPUTE_64F = 70,
    CUBLAS_COMPUTE_64F_PEDANTIC = 71
} cublasComputeType_t;
typedef enum { CUBLAS_GEMM_DEFAULT = -1 } cublasGemmAlgo_t;

static int gs_cublas_handles = 0;
static cudaStream_t gs_cublas_last_stream = 0;

static inline cublasStatus_t cublasCreate(cublasHandle_t *h) {
    *h = new cublasContext{0, CUBLAS_DEFAULT_MATH};
    ++gs_cublas_handles;
    return CUBLAS_STATUS_SUCCESS;
}
static inline cublasStatus_t cublasDestroy(cublasHandle_t h) { delete h; return CUBLAS_STATUS_SUCCESS; }
static inline cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
    if (!h) { fprintf(stderr, "cublasSetStream: no handle\n"); exit(3); }
    h->stream = s;
    return CUBLAS_STATUS_SUCCESS;
}

static inline void gs_cublas_fail(const char *why) {
    fprintf(stderr, "cublasGemmEx: %s\n", why);
    exit(3);
}
static inline double gs_tf32(double v) {
    float f = (float)v;
    unsigned u;
    memcpy(&u, &f, 4);
    u = (u + 0x1000u) & ~0x1FFFu; /* round to nearest, keep 10 mantissa bits */
    memcpy(&f, &u, 4);
    return f;
}
static inline cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                          int m, int n, int k, const void *alpha, const void *A,
                                          cudaDataType at, int lda, const void *B, cudaDataType bt,
                                          int ldb, const void *beta, void *C, cudaDataType ct, int ldc,
                                          cublasComputeType_t comp, cublasGemmAlgo_t) {
    if (!h) gs_cublas_fail("no handle");
    if (m < 0 || n < 0 || k < 0) gs_cublas_fail("negative size");
    if (ta == CUBLAS_OP_C || tb == CUBLAS_OP_C) gs_cublas_fail("conjugate transpose on real data");
    if (lda < (ta == CUBLAS_OP_N ? (m > 1 ? m : 1) : (k > 1 ? k : 1))) gs_cublas_fail("lda too small");
    if (ldb < (tb == CUBLAS_OP_N ? (k > 1 ? k : 1) : (n > 1 ? n : 1))) gs_cublas_fail("ldb too small");
    if (ldc < (m > 1 ? m : 1)) gs_cublas_fail("ldc too small");
    if (at != bt || at != ct) gs_cublas_fail("mixed data types");
    bool dbl;
    if (at == CUDA_R_32F && (comp == CUBLAS_COMPUTE_32F || comp == CUBLAS_COMPUTE_32F_PEDANTIC ||
                             comp == CUBLAS_COMPUTE_32F_FAST_TF32))
        dbl = false;
    else if (at == CUDA_R_64F && (comp == CUBLAS_COMPUTE_64F || comp == CUBLAS_COMPUTE_64F_PEDANTIC))
        dbl = true;
    else
        gs_cublas_fail("data type and compute type do not match");
    bool tf32 = comp == CUBLAS_COMPUTE_32F_FAST_TF32;
    gs_cublas_last_stream = h->stream;
    double al = dbl ? *(const double *)alpha : *(const float *)alpha;
    double be = dbl ? *(const double *)beta : *(const float *)beta;
    auto get = [&](const void *p, long i) -> double {
        double v = dbl ? ((const double *)p)[i] : ((const float *)p)[i];
        return tf32 ? gs_tf32(v) : v;
    };
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
            double s = 0;
            for (int p = 0; p < k; ++p) {
                double a = get(A, ta == CUBLAS_OP_N ? i + (long)p * lda : p + (long)i * lda);
                double b = get(B, tb == CUBLAS_OP_N ? p + (long)j * ldb : j + (long)p * ldb);
                s += a * b;
            }
            long c = i + (long)j * ldc;
            if (dbl) {
                double *cc = (double *)C;
                cc[c] = al * s + (be == 0 ? 0.0 : be * cc[c]);
            } else {
                float *cc = (float *)C;
                cc[c] = (float)(al * s + (be == 0 ? 0.0 : be * cc[c]));
            }
        }
    return CUBLAS_STATUS_SUCCESS;
}

static inline cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode) {
    if (!h) { fprintf(stderr, "cublasSetMathMode: no handle\n"); exit(3); }
    h->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}
static inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                         int m, int n, int k, const float *alpha, const float *A, int lda,
                                         const float *B, int ldb, const float *beta, float *C, int ldc) {
    if (!h) gs_cublas_fail("no handle");
    cublasComputeType_t comp =
        h->math == CUBLAS_TF32_TENSOR_OP_MATH ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    return cublasGemmEx(h, ta, tb, m, n, k, alpha, A, CUDA_R_32F, lda, B, CUDA_R_32F, ldb, beta, C,
                        CUDA_R_32F, ldc, comp, CUBLAS_GEMM_DEFAULT);
}
