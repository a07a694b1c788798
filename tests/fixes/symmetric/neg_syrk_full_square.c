/* Negative: the Gram matrix A^T A over the full square: syrk would leave
 * one triangle unset. */
// gs-nofix: GS105 full square of C
void kern(int N, int M, const float *A, float *C)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < M; k++)
                C[i*N + j] += A[k*N + i] * A[k*N + j];
}
