/* Symmetric rank-2k update: C := alpha*A*B^T + alpha*B*A^T + beta*C (lower). */
#define N 240
#define M 200

float C[N][N], A[N][M], B[N][M];

void syr2k(float alpha, float beta)
{
    for (int i = 0; i < N; i++) {   // expect: GS106 routine=syr2k idiom=gemm dtype=f32
        for (int j = 0; j <= i; j++)
            C[i][j] *= beta;
        for (int k = 0; k < M; k++) {
            for (int j = 0; j <= i; j++) {
                C[i][j] += alpha * A[i][k] * B[j][k] + alpha * B[i][k] * A[j][k];
            }
        }
    }
}
