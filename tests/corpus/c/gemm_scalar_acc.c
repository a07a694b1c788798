/* 2-D array parameters with a scalar accumulator. */
#include <stdio.h>

#define N 256

void matmul(float A[N][N], float B[N][N], float C[N][N])
{
    int i, j, k;
    float sum;
    for (i = 0; i < N; i++) {   // expect: GS101 routine=gemm dims=256x256x256 dtype=f32 order=ijk layout=C:row,A:row,B:row
        for (j = 0; j < N; j++) {
            sum = 0;
            for (k = 0; k < N; k++) {
                sum += A[i][k] * B[k][j];
            }
            C[i][j] = sum;
        }
    }
}

static float a[N][N], b[N][N], c[N][N];

int main(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = 1.0f;
            b[i][j] = (float)j;
        }
    matmul(a, b, c);
    printf("%f\n", c[N - 1][N - 1]);
    return 0;
}
