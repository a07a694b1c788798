/* SYRK, upper triangle (j >= i), A stored k x n (C = A^T A), through an
 * accumulator stored as alpha*s + beta*C. */
// gs-type: float
// gs-heap: A gs_k * gs_n
// gs-heap: C gs_n * gs_n
// gs-call: kern(gs_n, gs_k, 1.5f, 0.5f, A, C);
// gs-out: C
// gs-expect: cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, alpha, &A[0], n, beta, &C[0], n);
void kern(int n, int k, float alpha, float beta, const float *A, float *C)
{
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            float s = 0.0f;
            for (int p = 0; p < k; p++)
                s += A[p*n + i] * A[p*n + j];
            C[i*n + j] = alpha * s + beta * C[i*n + j];
        }
}
