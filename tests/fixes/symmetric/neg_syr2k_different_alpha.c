/* Negative: the two products are scaled differently (syr2k has one alpha). */
// gs-nofix: GS106 scaled differently
void kern(int n, int m, double a1, double a2, double A[n][m], double B[n][m], double C[n][n])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++)
            for (int k = 0; k < m; k++)
                C[i][j] += a1 * A[i][k] * B[j][k] + a2 * B[i][k] * A[j][k];
}
