/* Negative: the scaling loop covers only part of each row (j < N - 1),
   so it is not beta applied to all of C. */
void kern(int M, int N, int K, const double *A, const double *B, double *C)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N - 1; j++)
            C[i*N + j] *= 0.5;
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
                C[i*N + j] += A[i*K + k] * B[k*N + j];
    }
}
