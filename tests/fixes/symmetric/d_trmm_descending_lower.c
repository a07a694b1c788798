/* TRMM, lower unit triangle, rows walked downwards so that row i reads
 * rows k < i before they are overwritten. */
// gs-type: double
// gs-heap: A gs_m * gs_m
// gs-heap: B gs_m * gs_n
// gs-call: kern(gs_m, gs_n, -1.5, (void *)A, (void *)B);
// gs-out: B
// gs-expect: cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasUnit, m, n, alpha, &A[0][0], m, &B[0][0], n);
void kern(int m, int n, double alpha, double A[m][m], double B[m][n])
{
    for (int i = m - 1; i >= 0; i--)
        for (int j = 0; j < n; j++) {
            for (int k = 0; k < i; k++)
                B[i][j] += A[i][k] * B[k][j];
            B[i][j] = alpha * B[i][j];
        }
}
