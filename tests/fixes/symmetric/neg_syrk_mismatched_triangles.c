/* Negative: beta scales the lower triangle, the product updates the upper
 * one. */
// gs-nofix: GS105 different triangles
void kern(int n, int m, double alpha, double beta, double A[n][m], double C[n][n])
{
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++)
            C[i][j] *= beta;
        for (int k = 0; k < m; k++)
            for (int j = i; j < n; j++)
                C[i][j] += alpha * A[i][k] * A[j][k];
    }
}
