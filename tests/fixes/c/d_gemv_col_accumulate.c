/* y += A x with A column-major (ld M), k outer. */
void kern(int M, int N, int K, const double *A, const double *B, double *C)
{
    for (int k = 0; k < K; k++)
        for (int i = 0; i < M; i++)
            C[i] += A[i + k*M] * B[k];
}
