/* Overwrite through a scalar accumulator, jik order: beta = 0. */
void kern(int M, int N, int K, const float *A, const float *B, float *C)
{
    for (int j = 0; j < N; j++)
        for (int i = 0; i < M; i++) {
            float s = 0.0f;
            for (int k = 0; k < K; k++)
                s += A[i*K + k] * B[k*N + j];
            C[i*N + j] = s;
        }
}
