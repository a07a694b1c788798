/* SYRK in column-major storage, j outer and i from j down the column
 * (i >= j: lower), C zeroed then C -= A*A^T (alpha -1, beta 0). */
// gs-type: double
// gs-heap: A (gs_n + 1) * gs_k
// gs-heap: C (gs_n + 1) * gs_n
// gs-call: kern(gs_n, gs_k, A, gs_n + 1, C, gs_n + 1);
// gs-out: C
// gs-expect: cblas_dsyrk(CblasColMajor, CblasLower, CblasNoTrans, n, k, -1.0, &A[0], lda, 0.0, &C[0], ldc);
void kern(int n, int k, const double *A, int lda, double *C, int ldc)
{
    for (int j = 0; j < n; j++)
        for (int i = j; i < n; i++) {
            C[i + j*ldc] = 0.0;
            for (int p = 0; p < k; p++)
                C[i + j*ldc] -= A[i + p*lda] * A[j + p*lda];
        }
}
