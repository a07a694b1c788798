/* SYR2K over the full square as two statements: syr2k would set one
 * triangle only, so the rewrite is two GEMMs (the second accumulates). */
// gs-type: float
// gs-heap: A gs_n * gs_k
// gs-heap: B gs_n * gs_k
// gs-heap: C gs_n * gs_n
// gs-call: kern(gs_n, gs_k, (void *)A, (void *)B, (void *)C);
// gs-out: C
// gs-expect: cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, m, 1.0f, &A[0][0], m, &B[0][0], m, 1.0f, &C[0][0], n);
void kern(int n, int m, float A[n][m], float B[n][m], float C[n][n])
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int k = 0; k < m; k++) {
                C[i][j] += A[i][k] * B[j][k];
                C[i][j] += B[i][k] * A[j][k];
            }
}
