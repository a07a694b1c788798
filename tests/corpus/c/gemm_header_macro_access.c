/* Uses the AT() accessor and the sizes from matrix_util.h. */
#include <stdlib.h>
#include "matrix_util.h"

void matmul_at(const float *X, const float *Y, float *Z)
{
    for (int r = 0; r < ROWS; r++) {   // expect: GS101 routine=gemm dims=384x384x768 dtype=f32 order=ikj layout=C:row,A:row,B:row
        for (int c = 0; c < COLS; c++)
            AT(Z, r, c, COLS) = 0.0f;
        for (int p = 0; p < INNER; p++)
            for (int c = 0; c < COLS; c++)
                AT(Z, r, c, COLS) += AT(X, r, p, INNER) * AT(Y, p, c, COLS);
    }
}

int main(void)
{
    float *X = malloc(sizeof(float) * ROWS * INNER);
    float *Y = malloc(sizeof(float) * INNER * COLS);
    float *Z = malloc(sizeof(float) * ROWS * COLS);
    for (int t = 0; t < ROWS * INNER; t++) X[t] = 0.25f;
    for (int t = 0; t < INNER * COLS; t++) Y[t] = 4.0f;
    matmul_at(X, Y, Z);
    free(X); free(Y); free(Z);
    return 0;
}
