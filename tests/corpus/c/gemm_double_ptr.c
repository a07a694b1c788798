/* Matrices allocated as arrays of row pointers (double **). */
#include <stdio.h>
#include <stdlib.h>

double **alloc_matrix(int rows, int cols)
{
    double **m = malloc(sizeof(double *) * rows);
    for (int r = 0; r < rows; r++)
        m[r] = calloc(cols, sizeof(double));
    return m;
}

void free_matrix(double **m, int rows)
{
    for (int r = 0; r < rows; r++)
        free(m[r]);
    free(m);
}

void multiply(double **a, double **b, double **c, int n, int m, int p)
{
    for (int i = 0; i < n; i++) {   // expect: GS101 routine=gemm dims=100x120x80 dtype=f64 order=ijk layout=C:row,A:row,B:row
        for (int j = 0; j < p; j++) {
            double sum = 0.0;
            for (int k = 0; k < m; k++)
                sum += a[i][k] * b[k][j];
            c[i][j] = sum;
        }
    }
}

int main(void)
{
    int n = 100, m = 80, p = 120;
    double **a = alloc_matrix(n, m), **b = alloc_matrix(m, p), **c = alloc_matrix(n, p);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m; k++)
            a[i][k] = i == k;
    multiply(a, b, c, n, m, p);
    printf("%f\n", c[0][0]);
    free_matrix(a, n);
    free_matrix(b, m);
    free_matrix(c, n);
    return 0;
}
