/* negative: in-place LU factorisation (Doolittle, no pivoting). The update
 * A[i][j] -= A[i][k]*A[k][j] looks like a kij GEMM, but it reads and writes
 * one matrix and the bounds depend on k: it is a factorisation (getrf). */
#define N 500

double A[N][N];

void lu(void)
{
    for (int k = 0; k < N; k++) {
        for (int i = k + 1; i < N; i++)
            A[i][k] /= A[k][k];
        for (int i = k + 1; i < N; i++)
            for (int j = k + 1; j < N; j++)
                A[i][j] -= A[i][k] * A[k][j];
    }
}
