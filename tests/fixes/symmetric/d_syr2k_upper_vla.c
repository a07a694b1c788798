/* SYR2K, upper triangle (j >= i), VLAs, beta first, one statement with
 * both products scaled by alpha. */
// gs-type: double
// gs-heap: A gs_n * gs_k
// gs-heap: B gs_n * gs_k
// gs-heap: C gs_n * gs_n
// gs-call: kern(gs_n, gs_k, 0.5, 2.0, (void *)A, (void *)B, (void *)C);
// gs-out: C
// gs-expect: cblas_dsyr2k(CblasRowMajor, CblasUpper, CblasNoTrans, n, m, alpha, &A[0][0], m, &B[0][0], m, beta, &C[0][0], n);
void kern(int n, int m, double alpha, double beta, double A[n][m], double B[n][m], double C[n][n])
{
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            C[i][j] *= beta;
            for (int k = 0; k < m; k++)
                C[i][j] += alpha * A[i][k] * B[j][k] + alpha * B[i][k] * A[j][k];
        }
}
