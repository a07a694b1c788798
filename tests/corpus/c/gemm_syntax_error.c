/* A work-in-progress file: the logging helper below does not compile yet
 * (missing parenthesis and semicolon), but the multiply is complete. */
#include <stdio.h>

#define SZ 128

static float X[SZ][SZ], Y[SZ][SZ], Z[SZ][SZ];

static void log_progress(int step, int total)
{
    if (step % 16 == 0 {
        printf("step %d of %d\n", step, total)
    }
}

void product(void)
{
    for (int r = 0; r < SZ; r++) {   // expect: GS101 routine=gemm dims=128x128x128 dtype=f32 order=ijk
        for (int c = 0; c < SZ; c++) {
            float acc = 0.0f;
            for (int t = 0; t < SZ; t++)
                acc += X[r][t] * Y[t][c];
            Z[r][c] = acc;
        }
    }
}
