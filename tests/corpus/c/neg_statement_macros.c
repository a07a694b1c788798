/* negative: statement macros called without `;` in unrolled loops, as in
 * gemm_statement_macro.c, computing an AXPY and a three-point stencil:
 * neither is a matrix multiply. */

/* Near miss: the same unrolled-macro form, but each step is an AXPY
 * (y += alpha * x), a level-1 update with no reduction. */
#define AXPY_STEP out[q] += alpha * in[q]; q++;

void saxpy_macro(int len, float alpha, const float *in, float *out)
{
    int q;
    for (q = 0; q < len;) {
        AXPY_STEP
        AXPY_STEP
    }
}

/* Near miss: a three-point stencil per row written through a statement
 * macro: a sum over neighbours with fixed weights, not a contraction
 * with a second matrix. */
#define SMOOTH_AT(dst, src, i, j, w) \
    dst[(i) * w + (j)] = 0.25f * src[(i) * w + (j) - 1] + 0.5f * src[(i) * w + (j)] + 0.25f * src[(i) * w + (j) + 1];

void smooth_rows(int h, int w, const float *src, float *dst)
{
    for (int i = 0; i < h; i++)
        for (int j = 1; j < w - 1; j++) {
            SMOOTH_AT(dst, src, i, j, w)
        }
}
