/* C col-major, A row-major, B row-major (ijk), C += A*B. */
void kern(int M, int N, int K, const double *A, const double *B, double *C)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < K; k++)
                C[i + j*M] += A[i*K + k] * B[k*N + j];
}
