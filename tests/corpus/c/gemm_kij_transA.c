/* C = A^T * B where A is stored K x M (each column of the logical A is a row
 * in memory). Outer-product formulation: k outermost, then i, then j. */
#include <stdio.h>

#define NI 200
#define NJ 240
#define NK 180

double At[NK][NI];
double B[NK][NJ];
double C[NI][NJ];

void gemm_at_b(void)
{
    for (int k = 0; k < NK; k++)   // expect: GS101 routine=gemm dims=200x240x180 dtype=f64 order=kij layout=C:row,A:col,B:row
        for (int i = 0; i < NI; i++)
            for (int j = 0; j < NJ; j++)
                C[i][j] += At[k][i] * B[k][j];
}

int main(void)
{
    for (int k = 0; k < NK; k++) {
        for (int i = 0; i < NI; i++) At[k][i] = (double)(k + i) / NI;
        for (int j = 0; j < NJ; j++) B[k][j] = (double)(k * j % 13);
    }
    gemm_at_b();
    printf("%f\n", C[NI - 1][NJ - 1]);
    return 0;
}
