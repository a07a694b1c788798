// A GEMM over std::deque storage: detected, but a deque's elements are not
// one contiguous block, so no BLAS call can take it.
#include <deque>

void gemm(const std::deque<float> &A, const std::deque<float> &B, std::deque<float> &C, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++)
                C[i * n + j] += A[i * n + k] * B[k * n + j];
}
