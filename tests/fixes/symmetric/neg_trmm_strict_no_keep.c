/* Negative: the accumulator skips the diagonal and B[i][j] is not kept:
 * a strictly triangular product, which TRMM does not compute. */
// gs-nofix: GS108 a strictly triangular product
void kern(int m, int n, float alpha, const float *A, int lda, float *B, int ldb)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int k = i + 1; k < m; k++)
                s += A[i*lda + k] * B[k*ldb + j];
            B[i*ldb + j] = alpha * s;
        }
}
