// GEMM over std::vector<float> storage, kij order.
#include <chrono>
#include <iostream>
#include <vector>

void gemm(const std::vector<float> &A, const std::vector<float> &B, std::vector<float> &C,
          int M, int N, int K)
{
    for (int k = 0; k < K; ++k) {   // expect: GS101 routine=gemm dims=512x512x512 dtype=f32 order=kij layout=C:row,A:row,B:row
        for (int i = 0; i < M; ++i) {
            const float a = A[i * K + k];
            for (int j = 0; j < N; ++j) {
                C[i * N + j] += a * B[k * N + j];
            }
        }
    }
}

int main()
{
    const int M = 512, N = 512, K = 512;
    std::vector<float> A(M * K, 1.0f), B(K * N, 1.0f), C(M * N, 0.0f);
    auto t0 = std::chrono::steady_clock::now();
    gemm(A, B, C, M, N, K);
    auto t1 = std::chrono::steady_clock::now();
    std::cout << std::chrono::duration<double>(t1 - t0).count() << " s\n";
    return 0;
}
