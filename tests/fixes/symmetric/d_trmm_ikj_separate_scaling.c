/* TRMM in loop order i-k-j with A[i][k] hoisted, and the scaling by alpha
 * in its own j loop after the row is finished. */
// gs-type: double
// gs-heap: A gs_m * gs_m
// gs-heap: B gs_m * gs_n
// gs-call: kern(gs_m, gs_n, 0.75, (void *)A, (void *)B);
// gs-out: B
// gs-expect: cblas_dtrmm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasUnit, m, n, alpha, &A[0][0], m, &B[0][0], n);
void kern(int m, int n, double alpha, double A[m][m], double B[m][n])
{
    for (int i = 0; i < m; i++) {
        for (int k = i + 1; k < m; k++) {
            double a = A[i][k];
            for (int j = 0; j < n; j++)
                B[i][j] += a * B[k][j];
        }
        for (int j = 0; j < n; j++)
            B[i][j] *= alpha;
    }
}
