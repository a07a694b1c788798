/* Negative: PolyBench's SYMM form with the accumulated row scaled by 2 and
 * the rest by alpha: not alpha*A*B. */
// gs-nofix: GS107 scaled differently
void kern(int m, int n, double alpha, double beta, double A[m][m], double B[m][n], double C[m][n])
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double t = 0;
            for (int k = 0; k < i; k++) {
                C[k][j] += alpha * B[i][j] * A[i][k];
                t += B[k][j] * A[i][k];
            }
            C[i][j] = beta * C[i][j] + alpha * B[i][j] * A[i][i] + 2.0 * t;
        }
}
