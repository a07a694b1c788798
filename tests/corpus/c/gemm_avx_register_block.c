/* An AVX2 GEMM written as a register-blocked micro-kernel: a 4x16 block of
 * C (row-major) lives in eight __m256 accumulators; per step of the
 * reduction one element of each of four rows of A is broadcast and two
 * vectors of a row of B are loaded, and the block is written back with
 * unaligned stores. The accumulators are listed by hand, not looped. */
#include <immintrin.h>

#define LD_ALIGN __attribute__((aligned(32)))

static float scratch[64] LD_ALIGN;
static float stage[4 * 16] __attribute__((aligned(32)));

static void block_4x16(const float *a, const float *b, float *c, int lda, int ldb, int ldc, int depth)
{
    __m256 r[4][2];
    __m256 lo, hi, s;
    for (int t = 0; t < 4; t++) {
        r[t][0] = _mm256_loadu_ps(&c[t * ldc]);
        r[t][1] = _mm256_loadu_ps(&c[t * ldc + 8]);
    }
    for (int q = 0; q < depth; q++) {   // expect: GS101 routine=gemm dims=4x16xdepth dtype=f32 function=block_4x16
        lo = _mm256_loadu_ps(&b[q * ldb]);
        hi = _mm256_loadu_ps(&b[q * ldb + 8]);
        s = _mm256_set1_ps(a[q]);
        r[0][0] = _mm256_fmadd_ps(s, lo, r[0][0]);
        r[0][1] = _mm256_fmadd_ps(s, hi, r[0][1]);
        s = _mm256_set1_ps(a[lda + q]);
        r[1][0] = _mm256_fmadd_ps(s, lo, r[1][0]);
        r[1][1] = _mm256_fmadd_ps(s, hi, r[1][1]);
        s = _mm256_set1_ps(a[2 * lda + q]);
        r[2][0] = _mm256_fmadd_ps(s, lo, r[2][0]);
        r[2][1] = _mm256_fmadd_ps(s, hi, r[2][1]);
        s = _mm256_set1_ps(a[3 * lda + q]);
        r[3][0] = _mm256_fmadd_ps(s, lo, r[3][0]);
        r[3][1] = _mm256_fmadd_ps(s, hi, r[3][1]);
    }
    for (int t = 0; t < 4; t++) {
        _mm256_storeu_ps(&c[t * ldc], r[t][0]);
        _mm256_storeu_ps(&c[t * ldc + 8], r[t][1]);
    }
}

void sgemm_blocked(int rows, int cols, int depth, const float *a, const float *b, float *c)
{
    for (int i = 0; i < rows; i += 4)   // expect: GS101 routine=gemm dims=rowsxcolsxdepth dtype=f32 order=ijk function=sgemm_blocked
        for (int j = 0; j < cols; j += 16)
            block_4x16(&a[i * depth], &b[j], &c[i * cols + j], depth, cols, cols, depth);
}

/* The same product with multiply and add instead of a fused multiply-add,
 * one accumulator per row pair, 128-bit SSE registers, B broadcast. */
void sgemm_sse_mul_add(int n, const float *x, const float *y, float *z)
{
    for (int i = 0; i < n; i += 4)   // expect: GS101 routine=gemm dims=nxnxn dtype=f32 function=sgemm_sse_mul_add
        for (int j = 0; j < n; j++) {
            __m128 acc = _mm_setzero_ps();
            for (int k = 0; k < n; k++) {
                __m128 col = _mm_loadu_ps(&x[k * n + i]);
                __m128 w = _mm_set1_ps(y[j * n + k]);
                acc = _mm_add_ps(acc, _mm_mul_ps(col, w));
            }
            _mm_storeu_ps(&z[j * n + i], acc);
        }
}
