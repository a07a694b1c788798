/* TRMM, side Right: B := B * L with L lower triangular (unit), in place:
 * B[i][j] reads B[i][k] for k > j, not yet overwritten with j ascending. */
// gs-type: double
// gs-heap: L gs_n * gs_n
// gs-heap: B gs_m * gs_n
// gs-call: kern(gs_m, gs_n, (void *)L, (void *)B);
// gs-out: B
// gs-expect: cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasUnit, m, n, 1.0, &L[0][0], n, &B[0][0], n);
void kern(int m, int n, double L[n][n], double B[m][n])
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            for (int k = j + 1; k < n; k++)
                B[i][j] += B[i][k] * L[k][j];
}
