/* Contracts over two indices (p, q) per batch: not one GEMM per batch as written. */
void kern(int nb, int m, int n, int k, int l, const double *A, const double *B, double *C)
{
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++)
                    for (int q = 0; q < l; q++)
                        C[b*m*n + i*n + j] += A[((b*m + i)*k + p)*l + q] * B[((b*k + p)*l + q)*n + j];
}
