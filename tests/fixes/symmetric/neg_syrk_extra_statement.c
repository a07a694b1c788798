/* Negative: the nest also counts its updates. */
// gs-nofix: GS105 also assigns `gs_count`
int gs_count;
void kern(int n, int m, double A[n][m], double C[n][n])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            for (int k = 0; k < m; k++)
                C[i][j] += A[i][k] * A[j][k];
            gs_count = gs_count + 1;
        }
}
