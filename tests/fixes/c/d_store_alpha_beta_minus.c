/* C = 1.5*C - 3*sum (store with alpha = -3, beta = 1.5). */
void kern(int M, int N, int K, const double *A, const double *B, double *C)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++)
                acc += B[k*N + j] * A[i*K + k];
            C[i*N + j] = 1.5 * C[i*N + j] - 3.0 * acc;
        }
}
