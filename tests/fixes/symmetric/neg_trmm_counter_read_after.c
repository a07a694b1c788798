/* Negative: a loop counter is used after the nest; the library call would
 * not set it. */
// gs-nofix: GS108 `k` is read after the nest
int kern(int m, int n, double A[m][m], double B[m][n])
{
    int i, j, k = 0;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++)
            for (k = i + 1; k < m; k++)
                B[i][j] += A[i][k] * B[k][j];
    return k;
}
