// Naive matmul with one-dimensional thread blocks of 32*32 threads: each
// thread's row and column come from the block index plus the thread index
// split by `/` and `%` of 32.
#include <cuda_runtime.h>

__global__ void mm_coalesced(const float *A, const float *B, float *C, int M, int N, int K)   // expect: GS102 routine=gemm dtype=f32 order=thread-per-output function=mm_coalesced dims=MxNxK
{
    const int row = blockIdx.y * 32 + threadIdx.x / 32;
    const int col = blockIdx.x * 32 + threadIdx.x % 32;
    if (row < M && col < N) {
        float s = 0.0f;
        for (int k = 0; k < K; ++k)
            s += A[row * K + k] * B[k * N + col];
        C[row * N + col] = s;
    }
}
