/* Column-major batches with padded leading dimensions and batch strides,
   C = alpha*A*B + beta*C per batch. */
void kern(int nb, int m, int n, int k, const double *A, const double *B, double *C,
          double alpha, double beta)
{
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double acc = 0.0;
                for (int p = 0; p < k; p++)
                    acc += A[b*(m*k + 5) + p*m + i] * B[b*(k + 1)*n + j*(k + 1) + p];
                C[b*(m + 2)*n + j*(m + 2) + i] = alpha * acc + beta * C[b*(m + 2)*n + j*(m + 2) + i];
            }
}
