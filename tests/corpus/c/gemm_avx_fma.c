/* A GEMM vectorised by hand with AVX2/FMA: four columns of C per register,
 * one element of X broadcast against a loaded row of Y. */
#include <immintrin.h>

void dgemm_avx(int n, int m, int p, const double *X, const double *Y, double *Z)
{
    for (int r = 0; r < n; ++r)   // expect: GS101 routine=gemm dims=nxmxp dtype=f64 order=ijk function=dgemm_avx layout=C:row,A:row,B:row
        for (int c = 0; c < m; c += 4) {
            __m256d z = _mm256_setzero_pd();
            for (int q = 0; q < p; ++q) {
                __m256d x = _mm256_broadcast_sd(&X[r * p + q]);
                __m256d y = _mm256_loadu_pd(&Y[q * m + c]);
                z = _mm256_fmadd_pd(x, y, z);
            }
            _mm256_storeu_pd(&Z[r * m + c], z);
        }
}

/* near miss: an elementwise fused multiply-add of two matrices (no
 * reduction), in the same style. */
void fma_elementwise(int n, int m, const double *X, const double *Y, double *Z)
{
    for (int r = 0; r < n; ++r)
        for (int c = 0; c < m; c += 4) {
            __m256d z = _mm256_loadu_pd(&Z[r * m + c]);
            __m256d x = _mm256_loadu_pd(&X[r * m + c]);
            __m256d y = _mm256_loadu_pd(&Y[r * m + c]);
            _mm256_storeu_pd(&Z[r * m + c], _mm256_fmadd_pd(x, y, z));
        }
}
