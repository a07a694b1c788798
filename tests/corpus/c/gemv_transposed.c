/* y = A^T x: accumulate each row of A scaled by x[i] into y (the gradient
 * of a linear layer with respect to its input). */
#include <string.h>

void gemv_t(int rows, int cols, const double *A, const double *x, double *y)
{
    memset(y, 0, sizeof(double) * cols);
    for (int i = 0; i < rows; i++)   // expect: GS201 routine=gemv dims=colsxrows dtype=f64 layout=A:col
        for (int j = 0; j < cols; j++)
            y[j] += A[i * cols + j] * x[i];
}
