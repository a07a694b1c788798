/* Benchmark driver: the multiply is repeated REPS times for timing; the
 * update is written as x = x + ... */
#include <stdio.h>
#include <time.h>

#define N 512
#define REPS 10

static float a[N][N], b[N][N], c[N][N];

int main(void)
{
    struct timespec t0, t1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = 0.5f;
            b[i][j] = 2.0f;
        }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int rep = 0; rep < REPS; rep++) {
        for (int j = 0; j < N; j++) {   // expect: GS101 routine=gemm dims=512x512x512 dtype=f32 order=jik layout=C:row,A:row,B:row function=main
            for (int i = 0; i < N; i++) {
                c[i][j] = 0.0f;
                for (int k = 0; k < N; k++)
                    c[i][j] = c[i][j] + a[i][k] * b[k][j];
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
    printf("%.2f GFLOP/s\n", 2.0 * N * N * N * REPS / dt * 1e-9);
    return 0;
}
