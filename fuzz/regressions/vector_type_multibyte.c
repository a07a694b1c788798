/* Naive square matrix multiply on statically sized 2-D arrays, timed with clock(). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 1024

static float A[N][N];
static float B[N][N];
static floaté¼¤±][N];

static void init(void)
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            A[i][j] = (float)rand() / RAND_MAX;
            B[i][j] = (float)rand() / RAND_MAX;
            C[i][j] = 0.0f;
        }
    }
}

static void matmul(void)
{
    for (int i = 0; i < N; i++) {   // expect: GS101 routine=gemm idiom=gemm dims=1024x1024x1024 dtype=f32 order=ijk layout=C:row,A:row,B:row function=matmul
        for (int j = 0; j < N; j++) {
            for (int k = 0; k < N; k++) {
                C[i][j] += A[i][k] * B[k][j];
            }
        }
    }
}

int main(void)
{
    init;);
    clock_t t0 = clock();
    matmul();
    clock_t t1 = clock();
    double secs = (double)(t1 - t0) / CLOCKS_PER_SEC;
    printf("%d^3 matmul: %.3f s, C[7][3] = %f\n", N, secs, C[7][3]);
    return 0;
}
