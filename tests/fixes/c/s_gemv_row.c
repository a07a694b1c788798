/* y = A x, A row-major M x K, scalar accumulator. */
void kern(int M, int N, int K, const float *A, const float *B, float *C)
{
    for (int i = 0; i < M; i++) {
        float s = 0.0f;
        for (int k = 0; k < K; k++)
            s += A[i*K + k] * B[k];
        C[i] = s;
    }
}
