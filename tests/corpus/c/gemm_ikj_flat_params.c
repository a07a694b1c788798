/* Row-major GEMM on flattened arrays, sizes passed as parameters, ikj order
 * so that the innermost loop streams through rows of B and C. */
#include <stdlib.h>
#include <string.h>

void dgemm_ikj(int M, int N, int K, const double *A, const double *B, double *C)
{
    memset(C, 0, sizeof(double) * (size_t)M * N);
    for (int i = 0; i < M; ++i)   // expect: GS101 routine=gemm dims=Mx200x100 sources=-,call-site,call-site dtype=f64 order=ikj layout=C:row,A:row,B:row
        for (int k = 0; k < K; ++k)
            for (int j = 0; j < N; ++j)
                C[i * N + j] += A[i * K + k] * B[k * N + j];
}

int main(int argc, char **argv)
{
    int m = argc > 1 ? atoi(argv[1]) : 300;
    int n = 200, k = 100;
    double *A = malloc(sizeof(double) * m * k);
    double *B = malloc(sizeof(double) * k * n);
    double *C = malloc(sizeof(double) * m * n);
    for (int t = 0; t < m * k; t++) A[t] = t % 7;
    for (int t = 0; t < k * n; t++) B[t] = t % 5;
    dgemm_ikj(m, n, k, A, B, C);
    free(A);
    free(B);
    free(C);
    return 0;
}
