/* negative: element-wise (Hadamard) products over a batch: three loops and a
 * multiply, but every index appears in the output, so nothing is reduced. */
#define B 8
#define R 128
#define C 128

float X[B][R][C], Y[B][R][C], Z[B][R][C];

void hadamard(void)
{
    for (int b = 0; b < B; b++)
        for (int i = 0; i < R; i++)
            for (int j = 0; j < C; j++)
                Z[b][i][j] = X[b][i][j] * Y[b][i][j];
}
