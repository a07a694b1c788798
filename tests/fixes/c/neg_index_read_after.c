/* Negative: the loop counters live outside the nest and are read after it. */
int gs_last;
void kern(int M, int N, int K, const float *A, const float *B, float *C)
{
    int i, j, k;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++)
            for (k = 0; k < K; k++)
                C[i*N + j] += A[i*K + k] * B[k*N + j];
    gs_last = i + j + k;
}
