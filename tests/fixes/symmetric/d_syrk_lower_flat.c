/* SYRK, lower triangle, row-major flattened with leading dimensions larger
 * than the rows: C := alpha*A*A^T + beta*C on j <= i only. */
// gs-type: double
// gs-heap: A (gs_n + 3) * (gs_k + 2)
// gs-heap: C (gs_n + 3) * (gs_n + 4)
// gs-call: kern(gs_n, gs_k, 0.75, -1.25, A, gs_k + 2, C, gs_n + 4);
// gs-out: C
// gs-expect: cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, n, k, alpha, &A[0], lda, beta, &C[0], ldc);
void kern(int n, int k, double alpha, double beta, const double *A, int lda, double *C, int ldc)
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++)
            C[i*ldc + j] *= beta;
        for (int p = 0; p < k; p++)
            for (int j = 0; j <= i; j++)
                C[i*ldc + j] += alpha * A[i*lda + p] * A[j*lda + p];
    }
}
