/* negative: a single-channel 2-D filter (four loops: y, x, dy, dx) is a
 * stencil, not the 7-deep multi-channel convolution that maps to a GEMM. */
#define H 480
#define W 640
#define KS 5

static float img[H + KS - 1][W + KS - 1];
static float kern[KS][KS];
static float out[H][W];

void blur(void)
{
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float acc = 0.0f;
            for (int dy = 0; dy < KS; dy++)
                for (int dx = 0; dx < KS; dx++)
                    acc += img[y + dy][x + dx] * kern[dy][dx];
            out[y][x] = acc;
        }
}
