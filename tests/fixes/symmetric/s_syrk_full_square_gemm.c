/* The Gram matrix A^T A over the full square: syrk would set one triangle
 * only, so the rewrite is a GEMM of A^T and A (both triangles). */
// gs-type: float
// gs-heap: A gs_k * gs_n
// gs-heap: C gs_n * gs_n
// gs-call: kern(gs_n, gs_k, A, C);
// gs-out: C
// gs-expect: cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, N, M, 1.0f, &A[0], N, &A[0], N, 1.0f, &C[0], N);
void kern(int N, int M, const float *A, float *C)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < M; k++)
                C[i*N + j] += A[k*N + i] * A[k*N + j];
}
