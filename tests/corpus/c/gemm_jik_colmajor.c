/* Column-major (Fortran order) matrix multiply with leading dimensions,
 * loop order j, i, p. */
#include <stdio.h>
#include <stdlib.h>

void matmul_colmajor(int m, int n, int k,
                     const float *A, int lda,
                     const float *B, int ldb,
                     float *C, int ldc)
{
    for (int j = 0; j < n; j++) {   // expect: GS101 routine=gemm dims=64x32x16 dtype=f32 order=jik layout=C:col,A:col,B:col
        for (int i = 0; i < m; i++) {
            float acc = 0.0f;
            for (int p = 0; p < k; p++) {
                acc += A[i + p * lda] * B[p + j * ldb];
            }
            C[i + j * ldc] = acc;
        }
    }
}

int main(void)
{
    int m = 64, n = 32, k = 16;
    float *A = calloc((size_t)m * k, sizeof(float));
    float *B = calloc((size_t)k * n, sizeof(float));
    float *C = calloc((size_t)m * n, sizeof(float));
    for (int i = 0; i < m; i++) A[i + i % k * m] = 1.0f;
    for (int i = 0; i < k * n; i++) B[i] = 0.5f;
    matmul_colmajor(m, n, k, A, m, B, k, C, m);
    printf("C(0,0) = %g\n", C[0]);
    free(A); free(B); free(C);
    return 0;
}
