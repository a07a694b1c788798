/* Negative: B[i][j] is scaled before the product, so the rows read later
 * are the originals but this one is not: not alpha*A*B. */
// gs-nofix: GS108 written before the product
void kern(int m, int n, double alpha, double A[m][m], double B[m][n])
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            B[i][j] *= alpha;
            for (int k = i + 1; k < m; k++)
                B[i][j] += A[i][k] * B[k][j];
        }
}
