/* Symmetric matrix times general matrix, C := alpha*A*B + beta*C with A
 * symmetric (lower triangle referenced), in the rank-update shape that
 * touches each stored element of A once per column of B. */
#define M 160
#define N 120

double A[M][M], B[M][N], C[M][N];

void symm(double alpha, double beta)
{
    for (int i = 0; i < M; i++)   // expect: GS107 routine=symm dtype=f64
        for (int j = 0; j < N; j++) {
            double t = 0;
            for (int k = 0; k < i; k++) {
                C[k][j] += alpha * B[i][j] * A[i][k];
                t += B[k][j] * A[i][k];
            }
            C[i][j] = beta * C[i][j] + alpha * B[i][j] * A[i][i] + alpha * t;
        }
}
