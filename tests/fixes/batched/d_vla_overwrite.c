/* 3-D VLAs, overwritten through an accumulator, loop order b-j-i-k. */
void kern(int nb, int m, int n, int k, double A[nb][m][k], double B[nb][k][n],
          double C[nb][m][n])
{
    for (int b = 0; b < nb; b++)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                double s = 0.0;
                for (int p = 0; p < k; p++)
                    s += A[b][i][p] * B[b][p][j];
                C[b][i][j] = s;
            }
}
