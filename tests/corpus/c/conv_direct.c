/* Direct 2-D convolution, NCHW input, KCRS filters, stride 1, no padding. */
#include <stdlib.h>

#define BATCH 4
#define CIN 64
#define COUT 128
#define H 34
#define W 34
#define R 3
#define S 3
#define P (H - R + 1)
#define Q (W - S + 1)

static float in[BATCH][CIN][H][W];
static float filt[COUT][CIN][R][S];
static float out[BATCH][COUT][P][Q];

void conv2d(void)
{
    for (int n = 0; n < BATCH; n++)   // expect: GS301 routine=conv idiom=conv dtype=f32
        for (int k = 0; k < COUT; k++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++) {
                    float acc = 0.0f;
                    for (int c = 0; c < CIN; c++)
                        for (int r = 0; r < R; r++)
                            for (int s = 0; s < S; s++)
                                acc += in[n][c][p + r][q + s] * filt[k][c][r][s];
                    out[n][k][p][q] = acc;
                }
}

int main(void)
{
    conv2d();
    return out[0][0][0][0] != 0.0f;
}
