/* PolyBench's TRMM: B := alpha * A^T * B with A lower triangular, unit
 * diagonal, in place (row i reads rows k > i, not yet overwritten). */
// gs-type: double
// gs-heap: A gs_m * gs_m
// gs-heap: B gs_m * gs_n
// gs-call: kern(gs_m, gs_n, 1.5, (void *)A, (void *)B);
// gs-out: B
// gs-expect: cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasUnit, m, n, alpha, &A[0][0], m, &B[0][0], n);
void kern(int m, int n, double alpha, double A[m][m], double B[m][n])
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            for (int k = i + 1; k < m; k++)
                B[i][j] += A[k][i] * B[k][j];
            B[i][j] = alpha * B[i][j];
        }
}
