/* negative: AVX code that is not a matrix product: an elementwise sum of
 * two arrays, a dot product finished by a horizontal reduction (one
 * number: a BLAS-1 dot, not a GEMV), and a three-point stencil with
 * broadcast weights. */
#include <immintrin.h>

static float lanes_out[8] __attribute__((aligned(32)));

void vec_add(int n, const float *x, const float *y, float *z)
{
    for (int i = 0; i < n; i += 8) {
        __m256 a = _mm256_loadu_ps(&x[i]);
        __m256 b = _mm256_loadu_ps(&y[i]);
        _mm256_storeu_ps(&z[i], _mm256_add_ps(a, b));
    }
}

float vec_dot(int n, const float *x, const float *y)
{
    __m256 acc = _mm256_setzero_ps();
    for (int i = 0; i < n; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(&x[i]), _mm256_loadu_ps(&y[i]), acc);
    _mm256_store_ps(lanes_out, acc);
    float s = 0.0f;
    for (int l = 0; l < 8; l++)
        s += lanes_out[l];
    return s;
}

void smooth3(int n, const float *in, float *out, float wl, float wc, float wr)
{
    __m256 l = _mm256_set1_ps(wl), c = _mm256_set1_ps(wc), r = _mm256_set1_ps(wr);
    for (int i = 1; i + 8 < n; i += 8) {
        __m256 v = _mm256_mul_ps(l, _mm256_loadu_ps(&in[i - 1]));
        v = _mm256_fmadd_ps(c, _mm256_loadu_ps(&in[i]), v);
        v = _mm256_fmadd_ps(r, _mm256_loadu_ps(&in[i + 1]), v);
        _mm256_storeu_ps(&out[i], v);
    }
}
