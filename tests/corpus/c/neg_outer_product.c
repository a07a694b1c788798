/* negative: an outer product x y^T has no reduction loop (rank-1, two
 * loops), so it is neither GEMM nor GEMV. */
void outer(int m, int n, const float *x, const float *y, float *A)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            A[i * n + j] = x[i] * y[j];
}

void rank1_update(int m, int n, float alpha, const float *x, const float *y, float *A)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            A[i * n + j] += alpha * x[i] * y[j];
}
