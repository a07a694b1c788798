/* A weight W shared by every batch, with the row loop outside the batch
   loop: b is then a row index too, and each i is one GEMM over the rows
   b (stride m*n in C, m*k in A). */
void kern(int nb, int m, int n, int k, const float *A, const float *W, float *C)
{
    for (int i = 0; i < m; i++)
        for (int b = 0; b < nb; b++)
            for (int j = 0; j < n; j++) {
                float acc = 0.0f;
                for (int p = 0; p < k; p++)
                    acc += A[(b*m + i)*k + p] * W[p*n + j];
                C[(b*m + i)*n + j] += acc;
            }
}
