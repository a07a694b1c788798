/* GEMM over C99 variable-length array parameters: C[n][m], A[n][k] and
 * B[k][m] are contiguous 2-D arrays (not arrays of row pointers), so the
 * loops map onto one sgemm call with leading dimensions m, k and m. */
#include <stddef.h>

void gemm_vla(int n, int m, int k, float C[n][m], const float A[n][k], const float B[][m])
{
    for (int i = 0; i < n; i++) {   // expect: GS101 routine=gemm idiom=gemm dims=nxmxk dtype=f32 order=ijk layout=C:row,A:row,B:row
        for (int j = 0; j < m; j++) {
            float s = 0.0f;
            for (int p = 0; p < k; p++)
                s += A[i][p] * B[p][j];
            C[i][j] = s;
        }
    }
}
