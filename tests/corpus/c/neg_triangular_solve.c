/* negative: forward substitution L·X = B solved in place — each row reads
 * rows already solved (k < i while i ascends): a recurrence (TRSM), not a
 * triangular matrix product. */
#define N 256
#define R 64

static double L[N][N], B[N][R];

void trsm_lower_inplace(void)
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < R; j++) {
            for (int k = 0; k < i; k++)
                B[i][j] -= L[i][k] * B[k][j];
            B[i][j] /= L[i][i];
        }
    }
}

void forward_subst(int n, int m, const double *l, const double *b, double *y)
{
    for (int c = 0; c < m; c++)
        for (int i = 0; i < n; i++) {
            double rhs = b[i * m + c];
            for (int j = 0; j < i; j++)
                rhs -= l[i * n + j] * y[j * m + c];
            y[i * m + c] = rhs / l[i * n + i];
        }
}
