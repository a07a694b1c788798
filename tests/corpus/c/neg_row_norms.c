/* negative: squared row norms. y[i] += A[i][k]*A[i][k] has the shape of a
 * GEMV loop, but both factors are the same matrix element: there is no
 * vector operand. */
#include <math.h>

void row_norms(int m, int n, const double *A, double *norms)
{
    for (int i = 0; i < m; i++) {
        double s = 0.0;
        for (int k = 0; k < n; k++)
            s += A[i * n + k] * A[i * n + k];
        norms[i] = sqrt(s);
    }
}
