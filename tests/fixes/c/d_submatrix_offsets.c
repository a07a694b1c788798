/* Sub-matrices: C block at (1, 2) with ld N+3, A from row 2 with ld K+1, B from column 1 with ld N+2. */
void kern(int M, int N, int K, const double *A, const double *B, double *C)
{
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++)
            for (int j = 0; j < N; j++)
                C[(i + 1)*(N + 3) + j + 2] += A[(i + 2)*(K + 1) + k] * B[k*(N + 2) + j + 1];
}
