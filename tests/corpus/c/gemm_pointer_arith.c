/* Matrix product written with explicit pointer arithmetic. */
#include <stdlib.h>

void mm_ptr(const float *A, const float *B, float *C, int M, int N, int K)
{
    int i, j, k;
    for (i = 0; i < M; i++) {   // expect: GS101 routine=gemm dims=50x60x70 dtype=f32 order=ijk layout=C:row,A:row,B:row
        for (j = 0; j < N; j++) {
            *(C + i * N + j) = 0.0f;
            for (k = 0; k < K; k++) {
                *(C + i * N + j) += *(A + i * K + k) * *(B + k * N + j);
            }
        }
    }
}

int main(void)
{
    const int M = 50, N = 60, K = 70;
    float *A = malloc(sizeof *A * M * K);
    float *B = malloc(sizeof *B * K * N);
    float *C = malloc(sizeof *C * M * N);
    for (int t = 0; t < M * K; t++) A[t] = 1;
    for (int t = 0; t < K * N; t++) B[t] = 1;
    mm_ptr(A, B, C, M, N, K);
    free(A); free(B); free(C);
    return 0;
}
