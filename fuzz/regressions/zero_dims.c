/* A zero dim: no output elements, so no time per output or speed-up to
   give (it divided by zero). */
#define M 0
#define N 64
#define K 64
float A[M][K], B[K][N], C[M][N];
void mm(void) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < K; k++)
                C[i][j] += A[i][k] * B[k][j];
}
