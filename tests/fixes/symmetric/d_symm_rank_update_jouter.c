/* PolyBench's SYMM form with the column loop outside the row loop (each
 * row of C is still set before later rows add to it). */
// gs-type: double
// gs-heap: A gs_m * gs_m
// gs-heap: B gs_m * gs_n
// gs-heap: C gs_m * gs_n
// gs-call: kern(gs_m, gs_n, -0.5, 0.75, (void *)A, (void *)B, (void *)C);
// gs-out: C
// gs-expect: cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, m, n, alpha, &A[0][0], m, &B[0][0], n, beta, &C[0][0], n);
void kern(int m, int n, double alpha, double beta, double A[m][m], double B[m][n], double C[m][n])
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double t = 0;
            for (int k = 0; k < i; k++) {
                C[k][j] += alpha * B[i][j] * A[i][k];
                t += B[k][j] * A[i][k];
            }
            C[i][j] = beta * C[i][j] + alpha * B[i][j] * A[i][i] + alpha * t;
        }
}
