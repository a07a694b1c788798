/* A batch of small independent matrix products (one per attention head). */
#include <stdlib.h>

#define BATCH 16
#define M 32
#define N 48
#define K 64

static float A[BATCH][M][K];
static float B[BATCH][K][N];
static float C[BATCH][M][N];

void batched_matmul(void)
{
    for (int b = 0; b < BATCH; b++)   // expect: GS104 routine=gemm_batched idiom=gemm dims=16x(32x48x64) dtype=f32
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                float s = 0.0f;
                for (int k = 0; k < K; k++)
                    s += A[b][i][k] * B[b][k][j];
                C[b][i][j] = s;
            }
}

int main(void)
{
    for (int b = 0; b < BATCH; b++)
        for (int i = 0; i < M; i++)
            for (int k = 0; k < K; k++)
                A[b][i][k] = (float)(b + i - k);
    batched_matmul();
    return (int)C[0][0][0];
}
