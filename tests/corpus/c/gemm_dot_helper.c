/* A GEMM split across functions: the i-j loop hands each output element to
 * a helper that accumulates one dot product through pointers and a stride
 * (BLAS-1 style). Row-major A and C, B read down a column with stride ldb. */
#include <stdlib.h>

static void dot_acc(int n, const float *x, const float *y, int incy, float *out)
{
    int p;
    for (p = 0; p < n; ++p)
        *out += x[p] * y[p * incy];
}

void gemm_by_dots(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc)
{
    for (int i = 0; i < M; ++i)   // expect: GS101 routine=gemm dims=MxNxK dtype=f32 order=ijk function=gemm_by_dots layout=C:row,A:row,B:row
        for (int j = 0; j < N; ++j)
            dot_acc(K, &A[i * lda], &B[j], ldb, &C[i * ldc + j]);
}

/* near miss: a helper that scales and adds a row (axpy), called per row;
 * no product of two arrays. */
static void axpy_row(int n, float a, const float *x, float *y)
{
    for (int p = 0; p < n; ++p)
        y[p] += a * x[p];
}

void rows_axpy(int M, int N, float a, const float *X, float *Y)
{
    for (int i = 0; i < M; ++i)
        axpy_row(N, a, &X[i * N], &Y[i * N]);
}

/* near miss: the squared norm of each row through the same dot helper
 * shape (x with itself). */
static void sumsq(int n, const float *x, float *out)
{
    for (int p = 0; p < n; ++p)
        *out += x[p] * x[p];
}

void row_norms2(int M, int N, const float *X, float *out)
{
    for (int i = 0; i < M; ++i)
        sumsq(N, &X[i * N], &out[i]);
}
