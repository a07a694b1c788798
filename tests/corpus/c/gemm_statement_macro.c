/* GEMMs whose reduction step is a statement macro: the body of the k loop
 * is a #define of several statements that ends by advancing k, called
 * several times per iteration (an unrolled loop with no update in its
 * header) and, as tuned kernels often do, with no `;` after the call.
 * Column-major operands through accessor macros; a 4x4 block of C kept
 * in four AVX2 registers (one per column), alpha folded into the load of
 * A. The near misses with the same macros are neg_statement_macros.c. */
#include <immintrin.h>

#define AT(i, j) a[(i) + (j) * lda]
#define BT(i, j) b[(i) + (j) * ldb]
#define CT(i, j) c[(i) + (j) * ldc]

#define STEP_4x4                                          \
    va = _mm256_mul_pd(vscale, _mm256_loadu_pd(&AT(r, p))); \
    w0 = _mm256_broadcast_sd(&BT(p, s));                  \
    w1 = _mm256_broadcast_sd(&BT(p, s + 1));              \
    w2 = _mm256_broadcast_sd(&BT(p, s + 2));              \
    w3 = _mm256_broadcast_sd(&BT(p, s + 3));              \
    acc0 = _mm256_fmadd_pd(va, w0, acc0);                 \
    acc1 = _mm256_fmadd_pd(va, w1, acc1);                 \
    acc2 = _mm256_fmadd_pd(va, w2, acc2);                 \
    acc3 = _mm256_fmadd_pd(va, w3, acc3);                 \
    p++;

void dgemm_macro_4x4(int m, int n, int kk, double scale, const double *a, int lda,
                     const double *b, int ldb, double *c, int ldc)
{
    int r, s, p;
    __m256d vscale = _mm256_set1_pd(scale);
    __m256d va, w0, w1, w2, w3;
    for (r = 0; r < m; r += 4) {   // expect: GS101 routine=gemm dims=mxnxkk dtype=f64 function=dgemm_macro_4x4
        for (s = 0; s < n; s += 4) {
            __m256d acc0 = _mm256_setzero_pd();
            __m256d acc1 = _mm256_setzero_pd();
            __m256d acc2 = _mm256_setzero_pd();
            __m256d acc3 = _mm256_setzero_pd();
            /* four steps per trip, k advanced by the macro */
            for (p = 0; p < kk;) {
                STEP_4x4
                STEP_4x4
                STEP_4x4
                STEP_4x4
            }
            _mm256_storeu_pd(&CT(r, s), _mm256_add_pd(acc0, _mm256_loadu_pd(&CT(r, s))));
            _mm256_storeu_pd(&CT(r, s + 1), _mm256_add_pd(acc1, _mm256_loadu_pd(&CT(r, s + 1))));
            _mm256_storeu_pd(&CT(r, s + 2), _mm256_add_pd(acc2, _mm256_loadu_pd(&CT(r, s + 2))));
            _mm256_storeu_pd(&CT(r, s + 3), _mm256_add_pd(acc3, _mm256_loadu_pd(&CT(r, s + 3))));
        }
    }
}

/* A scalar form: a function-like statement macro for one multiply-add,
 * called twice per trip of a while loop that the macro's caller advances. */
#define MAC2(dst, x, y) dst += (x) * (y); t++;

void sgemm_macro_pairs(int rows, int cols, int depth, const float *x, const float *y, float *z)
{
    for (int i = 0; i < rows; i++) {   // expect: GS101 routine=gemm dims=rowsxcolsxdepth dtype=f32 function=sgemm_macro_pairs
        for (int j = 0; j < cols; j++) {
            float sum = 0.0f;
            int t = 0;
            while (t < depth) {
                MAC2(sum, x[i * depth + t], y[t * cols + j])
                MAC2(sum, x[i * depth + t], y[t * cols + j])
            }
            z[i * cols + j] = sum;
        }
    }
}
