/* SYRK with VLAs, A^T A (A is k x n), loops j, k, i <= j (upper). */
// gs-type: float
// gs-heap: A gs_k * gs_n
// gs-heap: C gs_n * gs_n
// gs-call: kern(gs_n, gs_k, (void *)A, (void *)C);
// gs-out: C
// gs-expect: cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, 2.0, &A[0][0], n, 1.0f, &C[0][0], n);
void kern(int n, int k, float A[k][n], float C[n][n])
{
    for (int j = 0; j < n; j++)
        for (int p = 0; p < k; p++)
            for (int i = 0; i <= j; i++)
                C[i][j] += 2.0f * A[p][i] * A[p][j];
}
