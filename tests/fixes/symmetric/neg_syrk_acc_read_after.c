/* Negative: the accumulator's last value is used after the nest; the
 * library call would not set it. */
// gs-nofix: GS105 `s` is read after the nest
double kern(int n, int m, double A[n][m], double C[n][n])
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            s = 0.0;
            for (int k = 0; k < m; k++)
                s += A[i][k] * A[j][k];
            C[i][j] = s;
        }
    return s;
}
