/* Dense matrix-vector product y = A x, as in a power-iteration step. */
#include <math.h>
#include <stdio.h>

#define ROWS 4096
#define COLS 2048

static float A[ROWS][COLS];
static float x[COLS], y[ROWS];

void matvec(void)
{
    for (int i = 0; i < ROWS; i++) {   // expect: GS201 routine=gemv idiom=gemv dims=4096x2048 dtype=f32 layout=A:row
        float acc = 0.0f;
        for (int j = 0; j < COLS; j++)
            acc += A[i][j] * x[j];
        y[i] = acc;
    }
}

int main(void)
{
    for (int j = 0; j < COLS; j++) x[j] = 1.0f / COLS;
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++)
            A[i][j] = sinf((float)(i + j));
    matvec();
    printf("%f\n", y[10]);
    return 0;
}
