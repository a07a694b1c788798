/* The batch index does not index C: every batch sums into one matrix. */
void kern(int nb, int m, int n, int k, const float *A, const float *B, float *C)
{
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++)
                    C[i*n + j] += A[b*m*k + i*k + p] * B[b*k*n + p*n + j];
}
