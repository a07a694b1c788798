/* SYR2K with A and B stored k x n (trans), the output written as C[j][i]
 * over i >= j, through an accumulator stored as C = s (beta 0). */
// gs-type: float
// gs-heap: A gs_k * gs_n
// gs-heap: B gs_k * gs_n
// gs-heap: C gs_n * gs_n
// gs-call: kern(gs_n, gs_k, (void *)A, (void *)B, (void *)C);
// gs-out: C
// gs-expect: cblas_ssyr2k(CblasRowMajor, CblasUpper, CblasTrans, n, m, 1.0f, &B[0][0], n, &A[0][0], n, 0.0f, &C[0][0], n);
void kern(int n, int m, float A[m][n], float B[m][n], float C[n][n])
{
    for (int j = 0; j < n; j++)
        for (int i = j; i < n; i++) {
            float s = 0.0f;
            for (int k = 0; k < m; k++)
                s += A[k][i] * B[k][j] + B[k][i] * A[k][j];
            C[j][i] = s;
        }
}
