/* SYRK with alpha*A[i][k] hoisted into a local (substituted by the
 * analysis, dead once the nest is replaced), lower, loop order i-k-j. */
// gs-type: float
// gs-heap: A gs_n * gs_k
// gs-heap: C gs_n * gs_n
// gs-call: kern(gs_n, gs_k, 0.5f, (void *)A, (void *)C);
// gs-out: C
// gs-expect: cblas_ssyrk(CblasRowMajor, CblasLower, CblasNoTrans, n, m, alpha, &A[0][0], m, 1.0f, &C[0][0], n);
void kern(int n, int m, float alpha, float A[n][m], float C[n][n])
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m; k++) {
            float a = alpha * A[i][k];
            for (int j = 0; j <= i; j++)
                C[i][j] += a * A[j][k];
        }
}
