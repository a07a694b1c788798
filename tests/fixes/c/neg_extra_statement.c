/* Negative: the nest also counts iterations. */
int gs_count;
void kern(int M, int N, int K, const float *A, const float *B, float *C)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            for (int k = 0; k < K; k++)
                C[i*N + j] += A[i*K + k] * B[k*N + j];
            gs_count++;
        }
}
