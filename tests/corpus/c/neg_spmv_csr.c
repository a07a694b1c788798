/* negative: sparse matrix-vector product in CSR format. The inner loop runs
 * over a row's stored entries and gathers x[col[p]] indirectly, so it is
 * not a dense GEMV (it would map to a sparse library, not to BLAS). */
#include <stdlib.h>

typedef struct {
    int rows;
    const int *row_ptr;
    const int *col;
    const double *val;
} csr_t;

void spmv(const csr_t *A, const double *x, double *y)
{
    for (int i = 0; i < A->rows; i++) {
        double acc = 0.0;
        for (int p = A->row_ptr[i]; p < A->row_ptr[i + 1]; p++)
            acc += A->val[p] * x[A->col[p]];
        y[i] = acc;
    }
}
