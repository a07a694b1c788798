/* Loop order jki, all row-major, C += A*B. */
void kern(int M, int N, int K, const float *A, const float *B, float *C)
{
    for (int j = 0; j < N; j++)
        for (int k = 0; k < K; k++)
            for (int i = 0; i < M; i++)
                C[i*N + j] += A[i*K + k] * B[k*N + j];
}
