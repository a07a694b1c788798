/* Each row of C scaled by beta in its own j loop, then the k-j sweep adds
   alpha*A*B into that row: beta = 0.75, alpha = 1.5 (a BLAS-style gemm). */
void kern(int M, int N, int K, const double *A, const double *B, double *C)
{
    double alpha = 1.5, beta = 0.75;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++)
            C[i*N + j] *= beta;
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
                C[i*N + j] += alpha * A[i*K + k] * B[k*N + j];
    }
}
