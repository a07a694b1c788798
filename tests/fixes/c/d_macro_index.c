/* Column-major through an index macro with leading dimensions. */
#define IX(r, c, ld) ((c) * (ld) + (r))
void kern(int M, int N, int K, const double *A, const double *B, double *C)
{
    for (int j = 0; j < N; j++)
        for (int k = 0; k < K; k++)
            for (int i = 0; i < M; i++)
                C[IX(i, j, M)] += A[IX(i, k, M)] * B[IX(k, j, K)];
}
