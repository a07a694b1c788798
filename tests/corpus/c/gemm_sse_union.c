/* A 2x2-blocked column-major DGEMM written with SSE2 intrinsics through a
 * union of a vector register and its two lanes (`.vec` / `.lane[2]`):
 * a column pair of A is loaded, an element of B broadcast, and the lanes
 * are read back one by one at the end. The micro-kernel advances its A
 * pointer itself (`ap += 2`) over a packed panel. Read lane by lane, lane
 * 0 is C(i, j) += A(i, p) * B(p, j). */
#include <emmintrin.h>
#include <pmmintrin.h>

typedef union {
    __m128d vec;
    double lane[2];
} pair_t;

#define MB(r, q) b[(q) * ldb + (r)]
#define MC(r, q) c[(q) * ldc + (r)]

static void kernel2x2(int k, const double *ap, const double *b, int ldb, double *c, int ldc)
{
    pair_t c0, c1, av, b0, b1;
    const double *bp0 = &MB(0, 0), *bp1 = &MB(0, 1);
    c0.vec = _mm_setzero_pd();
    c1.vec = _mm_setzero_pd();
    for (int p = 0; p < k; p++) {
        av.vec = _mm_load_pd(ap);
        ap += 2;
        b0.vec = _mm_loaddup_pd(bp0++);
        b1.vec = _mm_loaddup_pd(bp1++);
        c0.vec += av.vec * b0.vec;
        c1.vec += av.vec * b1.vec;
    }
    MC(0, 0) += c0.lane[0];
    MC(1, 0) += c0.lane[1];
    MC(0, 1) += c1.lane[0];
    MC(1, 1) += c1.lane[1];
}

void dgemm_sse(int m, int n, int k, const double *packed, const double *b, int ldb, double *c, int ldc)
{
    for (int j = 0; j < n; j += 2)   // expect: GS101 routine=gemm dtype=f64 function=dgemm_sse
        for (int i = 0; i < m; i += 2)
            kernel2x2(k, &packed[i * k], &MB(0, j), ldb, &MC(i, j), ldc);
}

/* negative: the same union used for an elementwise sum of two arrays. */
void vadd_sse(int n, const double *x, const double *y, double *z)
{
    pair_t u, v;
    for (int i = 0; i < n; i += 2) {
        u.vec = _mm_loadu_pd(&x[i]);
        v.vec = _mm_loadu_pd(&y[i]);
        u.vec = _mm_add_pd(u.vec, v.vec);
        z[i] = u.lane[0];
        z[i + 1] = u.lane[1];
    }
}
