/* Sizes as an enum, a static const and a macro; the loop headers are
 * spelled three different ways. */
#include <cstdio>

enum { M = 300 };
static const int N = 200;
#define K 100

static double A[M][K], B[K][N], C[M][N];

void gemm_forms(void)
{
    int i, j, k;
    for (i = 0; i <= M - 1; i += 1) {   // expect: GS101 routine=gemm dims=300x200x100 dtype=f64 order=ijk layout=C:row,A:row,B:row
        for (j = 0; N > j; j = j + 1) {
            double acc = 0;
            for (k = 0; k != K; ++k)
                acc += A[i][k] * B[k][j];
            C[i][j] = acc;
        }
    }
}

int main(void)
{
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++)
            A[i][k] = 1.0 / (i + k + 1);
    gemm_forms();
    std::printf("%g\n", C[M - 1][N - 1]);
    return 0;
}
