/* Negative: the triangle leaves out the diagonal (j < i); syrk updates it. */
// gs-nofix: GS105 leaves out the diagonal
void kern(int n, int m, double A[n][m], double C[n][n])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            for (int k = 0; k < m; k++)
                C[i][j] += A[i][k] * A[j][k];
}
