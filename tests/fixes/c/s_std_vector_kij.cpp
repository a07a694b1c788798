// GEMM over std::vector<float> storage (kij order, a hoisted A element),
// driven through raw arrays by kern(). The rewrite passes `.data()`.
#include <algorithm>
#include <vector>

static void gemm(const std::vector<float> &A, const std::vector<float> &B, std::vector<float> &C,
                 int M, int N, int K)
{
    for (int k = 0; k < K; ++k) {
        for (int i = 0; i < M; ++i) {
            const float a = A[i * K + k];
            for (int j = 0; j < N; ++j) {
                C[i * N + j] += a * B[k * N + j];
            }
        }
    }
}

void kern(int m, int n, int k, float *A, float *B, float *C)
{
    std::vector<float> a(A, A + m * k), b(B, B + k * n), c(C, C + m * n);
    gemm(a, b, c, m, n, k);
    std::copy(c.begin(), c.end(), C);
}
