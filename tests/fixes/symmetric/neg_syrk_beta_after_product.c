/* Negative: beta is applied after the product (C = beta*(C + alpha*A*A^T)),
 * not before it as in syrk. */
// gs-nofix: GS105 after the product
void kern(int n, int m, double alpha, double beta, double A[n][m], double C[n][n])
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < m; k++)
            for (int j = 0; j <= i; j++)
                C[i][j] += alpha * A[i][k] * A[j][k];
        for (int j = 0; j <= i; j++)
            C[i][j] *= beta;
    }
}
