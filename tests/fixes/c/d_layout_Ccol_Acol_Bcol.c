/* C col-major, A col-major, B col-major (ijk), C += A*B. */
void kern(int M, int N, int K, const double *A, const double *B, double *C)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < K; k++)
                C[i + j*M] += A[i + k*M] * B[k + j*K];
}
