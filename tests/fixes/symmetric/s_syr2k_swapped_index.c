/* SYR2K accumulating into C[j][i] over i >= j (its upper triangle). */
// gs-type: float
// gs-heap: A gs_n * gs_k
// gs-heap: B gs_n * gs_k
// gs-heap: C gs_n * gs_n
// gs-call: kern(gs_n, gs_k, (void *)A, (void *)B, (void *)C);
// gs-out: C
// gs-expect: cblas_ssyr2k(CblasRowMajor, CblasUpper, CblasNoTrans, n, m, 1.0f, &B[0][0], m, &A[0][0], m, 1.0f, &C[0][0], n);
void kern(int n, int m, float A[n][m], float B[n][m], float C[n][n])
{
    for (int j = 0; j < n; j++)
        for (int i = j; i < n; i++)
            for (int k = 0; k < m; k++)
                C[j][i] += A[i][k] * B[j][k] + B[i][k] * A[j][k];
}
