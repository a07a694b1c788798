/* Negative: B[i][j] += over k from i+1, but the product is scaled by 2:
 * 2*A*B added to an unscaled B[i][j] is not alpha*op(A)*B. */
// gs-nofix: GS108 the kept B[i][j] is not
void kern(int m, int n, double A[m][m], double B[m][n])
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
            for (int k = i + 1; k < m; k++)
                B[i][j] += 2.0 * A[i][k] * B[k][j];
}
