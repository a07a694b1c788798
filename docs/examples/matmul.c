/* A naive single-precision matrix multiply, as it is often first written. */
#include <stdio.h>
#include <stdlib.h>

#define N 1024

static float A[N][N], B[N][N], C[N][N];

void matmul(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < N; k++)
                sum += A[i][k] * B[k][j];
            C[i][j] = sum;
        }
}

/* y = A x: a matrix-vector product over flattened storage. */
void matvec(int m, int n, const double *A, const double *x, double *y) {
    for (int i = 0; i < m; i++) {
        double acc = 0.0;
        for (int j = 0; j < n; j++)
            acc += A[i * n + j] * x[j];
        y[i] = acc;
    }
}

int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = (float)rand() / RAND_MAX;
            B[i][j] = (float)rand() / RAND_MAX;
        }
    matmul();
    printf("%f\n", C[N / 2][N / 2]);
    return 0;
}
