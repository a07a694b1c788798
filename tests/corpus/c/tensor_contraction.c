/* Mode-2 tensor-times-matrix product: Y[i][j][l] = sum_k X[i][k][l] * U[j][k]. */
#define DI 24
#define DJ 40
#define DK 32
#define DL 56

static double X[DI][DK][DL];
static double U[DJ][DK];
static double Y[DI][DJ][DL];

void ttm_mode2(void)
{
    for (int i = 0; i < DI; i++)   // expect: GS104 routine=gemm_batched dtype=f64
        for (int j = 0; j < DJ; j++)
            for (int l = 0; l < DL; l++) {
                double acc = 0.0;
                for (int k = 0; k < DK; k++)
                    acc += X[i][k][l] * U[j][k];
                Y[i][j][l] = acc;
            }
}
