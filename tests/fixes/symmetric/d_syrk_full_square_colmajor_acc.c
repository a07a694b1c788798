/* A*A^T over the full square in column-major storage, through an
 * accumulator with alpha and beta: a GEMM (syrk would set one triangle). */
// gs-type: double
// gs-heap: A (gs_n + 2) * gs_k
// gs-heap: C gs_n * gs_n
// gs-call: kern(gs_n, gs_k, -0.5, 0.25, A, gs_n + 2, C);
// gs-out: C
// gs-expect: cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, n, k, alpha, &A[0], lda, &A[0], lda, beta, &C[0], n);
void kern(int n, int k, double alpha, double beta, const double *A, int lda, double *C)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double s = 0.0;
            for (int p = 0; p < k; p++)
                s += A[i + p*lda] * A[j + p*lda];
            C[i + j*n] = alpha * s + beta * C[i + j*n];
        }
}
