/* Loops marked by annotation macros from a header this corpus does not
 * have (a portability layer that expands them to _Pragma("omp simd") or
 * to nothing): each stands alone on the line above a `for`. A blocked
 * i-k-j product over std::vector with std::min tile edges, and a near
 * miss with the same marks that only scales rows. */
#include <algorithm>
#include <vector>
#include "portable_pragmas.h"

void blocked_product(int n, int tile, const std::vector<double> &a, const std::vector<double> &b,
                     std::vector<double> &c)
{
    for (int it = 0; it < n; it += tile) {   // expect: GS101 routine=gemm dtype=f64 function=blocked_product
        for (int kt = 0; kt < n; kt += tile) {
            for (int jt = 0; jt < n; jt += tile) {
                const int iend = std::min(n, it + tile);
                const int kend = std::min(n, kt + tile);
                const int jend = std::min(n, jt + tile);
                LOOP_VECTORIZE
                for (int i = it; i < iend; ++i) {
                    LOOP_VECTORIZE
                    for (int k = kt; k < kend; ++k) {
                        LOOP_IVDEP(assume_safe)
                        LOOP_VECTORIZE
                        for (int j = jt; j < jend; ++j)
                            c[i * n + j] += a[i * n + k] * b[k * n + j];
                    }
                }
            }
        }
    }
}

void scale_rows(int n, const std::vector<double> &s, std::vector<double> &c)
{
    LOOP_VECTORIZE
    for (int i = 0; i < n; ++i) {
        LOOP_VECTORIZE
        for (int j = 0; j < n; ++j)
            c[i * n + j] *= s[i];
    }
}
