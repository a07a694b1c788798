/* GEMM written with an indexing macro for row-major storage with leading
 * dimensions. */
#include <stdio.h>
#include <stdlib.h>

#define IDX(r, c, ld) ((r) * (ld) + (c))

void sgemm_idx(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
               float *C, int ldc)
{
    for (int i = 0; i < M; i++) {   // expect: GS101 routine=gemm dims=128x96x64 dtype=f32 order=ijk layout=C:row,A:row,B:row
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++)
                s += A[IDX(i, k, lda)] * B[IDX(k, j, ldb)];
            C[IDX(i, j, ldc)] = s;
        }
    }
}

int main(void)
{
    int M = 128, N = 96, K = 64;
    float *A = malloc(sizeof(float) * M * K);
    float *B = malloc(sizeof(float) * K * N);
    float *C = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * K; i++) A[i] = 1.0f;
    for (int i = 0; i < K * N; i++) B[i] = 2.0f;
    sgemm_idx(M, N, K, A, K, B, N, C, N);
    printf("%f\n", C[IDX(3, 4, N)]);
    free(A); free(B); free(C);
    return 0;
}
