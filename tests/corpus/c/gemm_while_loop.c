/* Matrix multiply written with counted while loops. */
#include <stdlib.h>

void matmul_while(const double *a, const double *b, double *c, int n)
{
    int i = 0;
    while (i < n) {   // expect: GS101 routine=gemm dims=nxnxn dtype=f64 order=ijk layout=C:row,A:row,B:row
        int j = 0;
        while (j < n) {
            double acc = 0.0;
            int k = 0;
            while (k < n) {
                acc += a[i * n + k] * b[k * n + j];
                k++;
            }
            c[i * n + j] = acc;
            j++;
        }
        i++;
    }
}
