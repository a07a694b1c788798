/* The batch index in the middle of C and B ([i][b][j], [p][b][j]):
   ld = nb*n; subtracted. */
void kern(int nb, int m, int n, int k, float A[nb][m][k], float B[k][nb][n],
          float C[m][nb][n])
{
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++)
                    C[i][b][j] -= A[b][i][p] * B[p][b][j];
}
