/* negative: an out-of-place transpose moves data but does no arithmetic. */
#include <stdlib.h>

void transpose(int rows, int cols, const float *in, float *out)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            out[j * rows + i] = in[i * cols + j];
}

void transpose_blocked(int n, const float *in, float *out)
{
    const int bs = 32;
    for (int ii = 0; ii < n; ii += bs)
        for (int jj = 0; jj < n; jj += bs)
            for (int i = ii; i < ii + bs && i < n; i++)
                for (int j = jj; j < jj + bs && j < n; j++)
                    out[j * n + i] = in[i * n + j];
}
