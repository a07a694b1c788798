/* Sizes come from an included header. */
#include <stdio.h>
#include "sizes.h"

static float A[M_SIZE][K_SIZE];
static float B[K_SIZE][N_SIZE];
static float C[M_SIZE][N_SIZE];

void multiply(void)
{
    int i, j, k;
    for (i = 0; i < M_SIZE; i++)   // expect: GS101 routine=gemm dims=512x256x128 dtype=f32 order=ijk layout=C:row,A:row,B:row
        for (j = 0; j < N_SIZE; j++) {
            C[i][j] = 0;
            for (k = 0; k < K_SIZE; k++)
                C[i][j] += A[i][k] * B[k][j];
        }
}

int main(void)
{
    for (int i = 0; i < M_SIZE; i++)
        for (int k = 0; k < K_SIZE; k++)
            A[i][k] = i - k;
    for (int k = 0; k < K_SIZE; k++)
        for (int j = 0; j < N_SIZE; j++)
            B[k][j] = k + j;
    multiply();
    printf("%f\n", C[1][1]);
    return 0;
}
