/* C scaled by 0.5 first, then C -= 2*A*B: beta = 0.5, alpha = -2. */
void kern(int M, int N, int K, const float *A, const float *B, float *C)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            C[i*N + j] *= 0.5f;
            for (int k = 0; k < K; k++)
                C[i*N + j] -= 2.0f * A[i*K + k] * B[k*N + j];
        }
}
