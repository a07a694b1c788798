/* C row-major, A col-major, B row-major (ijk), C += A*B. */
void kern(int M, int N, int K, const double *A, const double *B, double *C)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < K; k++)
                C[i*N + j] += A[i + k*M] * B[k*N + j];
}
