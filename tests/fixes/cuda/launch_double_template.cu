// The template instantiated for double through a template host function.
#include <cuda_runtime.h>

template <typename T>
__global__ void mm_td(const T *A, const T *B, T *C, int M, int N, int K)
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
void launch_td(const T *A, const T *B, T *C, int M, int N, int K)
{
    mm_td<T><<<dim3((N + 7) / 8, (M + 7) / 8), dim3(8, 8)>>>(A, B, C, M, N, K);
}

void run(int M, int N, int K, const double *A, const double *B, double *C)
{
    launch_td<double>(A, B, C, M, N, K);
}
