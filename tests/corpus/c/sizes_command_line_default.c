/* Sizes from a default the command line may change: a local initialised
 * to a constant and set again only under an `if` (`if (argc > 1) n =
 * atoi(argv[1]);`) has that constant unless the program is run with an
 * argument; the source says `default`. */
#include <stdlib.h>

static void mm(float *C, const float *A, const float *B, int n)
{
    for (int i = 0; i < n; i++)   // expect: GS101 routine=gemm dims=768x768x768 sources=call-site,call-site,call-site function=mm
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int k = 0; k < n; k++)
                s += A[i * n + k] * B[k * n + j];
            C[i * n + j] = s;
        }
}

/* Near miss: `m` is set unconditionally from the command line and `d`
 * changes in a loop: neither is a default (and the buffers passed are
 * allocated with a run-time size). */
static void mm2(float *C, const float *A, const float *B, int m, int d)
{
    for (int i = 0; i < m; i++)   // expect: GS101 routine=gemm sources=-,-,- function=mm2
        for (int j = 0; j < m; j++) {
            float s = 0.0f;
            for (int k = 0; k < d; k++)
                s += A[i * d + k] * B[k * m + j];
            C[i * m + j] = s;
        }
}

int main(int argc, char **argv)
{
    static float A[1 << 20], B[1 << 20], C[1 << 20];
    int n = 768;
    if (argc > 1)
        n = atoi(argv[1]);
    mm(C, A, B, n);

    int rows = 96;
    if (argc > 2) {
        rows = atoi(argv[2]);
    }
    for (int i = 0; i < rows; i++)   // expect: GS101 routine=gemm dims=96x96x96 sources=default,default,default function=main
        for (int j = 0; j < rows; j++)
            for (int k = 0; k < rows; k++)
                C[i * rows + j] += A[i * rows + k] * B[k * rows + j];

    int m = 512;
    m = atoi(argv[1]);
    int d = 8;
    for (int r = 0; r < 3; r++)
        d *= 2;
    float *P = malloc((size_t)m * m * sizeof(float));
    float *Q = malloc((size_t)m * d * sizeof(float));
    float *R = malloc((size_t)d * m * sizeof(float));
    mm2(P, Q, R, m, d);
    return 0;
}
