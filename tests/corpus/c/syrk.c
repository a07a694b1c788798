/* Symmetric rank-k update of the lower triangle: C := alpha*A*A^T + beta*C. */
#include <stdio.h>

#define N 400
#define M 300

static double C[N][N];
static double A[N][M];

void syrk_lower(double alpha, double beta)
{
    for (int i = 0; i < N; i++) {   // expect: GS105 routine=syrk idiom=gemm dtype=f64
        for (int j = 0; j <= i; j++)
            C[i][j] *= beta;
        for (int k = 0; k < M; k++)
            for (int j = 0; j <= i; j++)
                C[i][j] += alpha * A[i][k] * A[j][k];
    }
}

int main(void)
{
    for (int i = 0; i < N; i++)
        for (int k = 0; k < M; k++)
            A[i][k] = (double)((i * k) % N) / N;
    syrk_lower(1.5, 1.2);
    printf("%f\n", C[N - 1][0]);
    return 0;
}
