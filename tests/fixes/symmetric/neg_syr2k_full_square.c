/* Negative: SYR2K over the full square (two statements): syr2k would
 * leave one triangle unset. */
// gs-nofix: GS106 full square of C
void kern(int n, int m, float A[n][m], float B[n][m], float C[n][n])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int k = 0; k < m; k++) {
                C[i][j] += A[i][k] * B[j][k];
                C[i][j] += B[i][k] * A[j][k];
            }
}
