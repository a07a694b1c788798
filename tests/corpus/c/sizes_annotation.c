/* Sizes the user gives: a `gemmscope: size` comment above the function or
 * on the loop overrides what the code says. */

// gemmscope: size n=4096 d=2048
void matmul(float *out, const float *x, const float *w, int n, int d, int k)
{
    // gemmscope: size k=512
    for (int i = 0; i < n; i++)   // expect: GS101 routine=gemm dims=4096x2048x512 sources=annotation,annotation,annotation function=matmul
        for (int j = 0; j < d; j++) {
            float s = 0.0f;
            for (int l = 0; l < k; l++)
                s += x[i * k + l] * w[l * d + j];
            out[i * d + j] = s;
        }
}

/* Near miss: a comment that is not an annotation (no `gemmscope:` prefix),
 * and a constant the annotation does not name keeps its own source. */
#define COLS 32
// size n=99
void other(float *out, const float *x, const float *w, int n)
{
    for (int i = 0; i < n; i++)   // expect: GS101 routine=gemm dims=nx32x32 sources=-,constant,constant function=other
        for (int j = 0; j < COLS; j++) {
            float s = 0.0f;
            for (int l = 0; l < COLS; l++)
                s += x[i * COLS + l] * w[l * COLS + j];
            out[i * COLS + j] = s;
        }
}
