/* PolyBench-style gemm kernel: element type chosen by a macro,
 * C := alpha*A*B + beta*C. */
#include <stdio.h>

#define NI 1000
#define NJ 1100
#define NK 1200
#define DATA_TYPE double

static DATA_TYPE C[NI][NJ];
static DATA_TYPE A[NI][NK];
static DATA_TYPE B[NK][NJ];

static void kernel_gemm(int ni, int nj, int nk, DATA_TYPE alpha, DATA_TYPE beta)
{
    int i, j, k;
    (void)ni; (void)nj; (void)nk;
    for (i = 0; i < NI; i++) {   // expect: GS101 routine=gemm dims=1000x1100x1200 dtype=f64 order=ikj layout=C:row,A:row,B:row alpha=alpha beta=beta
        for (j = 0; j < NJ; j++)
            C[i][j] *= beta;
        for (k = 0; k < NK; k++) {
            for (j = 0; j < NJ; j++)
                C[i][j] += alpha * A[i][k] * B[k][j];
        }
    }
}

int main(void)
{
    DATA_TYPE alpha = 1.5, beta = 1.2;
    for (int i = 0; i < NI; i++)
        for (int j = 0; j < NJ; j++)
            C[i][j] = (DATA_TYPE)((i * j + 1) % NI) / NI;
    kernel_gemm(NI, NJ, NK, alpha, beta);
    printf("%f\n", C[0][0]);
    return 0;
}
