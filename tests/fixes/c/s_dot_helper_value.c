/* One value-returning dot helper per output, B given as its transpose
   (N rows of K): C += A * Bᵀ. */
static float row_dot(int n, const float *x, const float *y)
{
    float s = 0.0f;
    for (int t = 0; t < n; ++t)
        s += x[t] * y[t];
    return s;
}

void kern(int M, int N, int K, const float *A, const float *B, float *C)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            C[i*N + j] += row_dot(K, &A[i*K], &B[j*K]);
}
