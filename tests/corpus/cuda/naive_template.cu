// A templated naive matmul kernel instantiated for float and double.
#include <cuda_runtime.h>

template <typename T>
__global__ void matmul_t(const T *A, const T *B, T *C, int M, int N, int K)   // expect: GS102 routine=gemm dims=MxNxK dtype=T order=thread-per-output
{
    int r = blockIdx.y * blockDim.y + threadIdx.y;
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (r < M && c < N) {
        T acc = T(0);
        for (int k = 0; k < K; ++k)
            acc += A[r * K + k] * B[k * N + c];
        C[r * N + c] = acc;
    }
}

template <typename T>
void launch_matmul(const T *A, const T *B, T *C, int M, int N, int K, cudaStream_t s)
{
    dim3 block(16, 16);
    dim3 grid((N + 15) / 16, (M + 15) / 16);
    matmul_t<T><<<grid, block, 0, s>>>(A, B, C, M, N, K);
}

template void launch_matmul<float>(const float *, const float *, float *, int, int, int, cudaStream_t);
template void launch_matmul<double>(const double *, const double *, double *, int, int, int, cudaStream_t);
