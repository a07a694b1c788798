// A templated kernel launched for float by name and for T in a template.
#include <cuda_runtime.h>

template <typename T>
__global__ void mm_t(const T *A, const T *B, T *C, int M, int N, int K)
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
void launch_t(const T *A, const T *B, T *C, int M, int N, int K)
{
    dim3 block(8, 8), grid((N + 7) / 8, (M + 7) / 8);
    mm_t<T><<<grid, block>>>(A, B, C, M, N, K);
}

void run(int M, int N, int K, const float *A, const float *B, float *C)
{
    dim3 block(16, 4), grid((N + 15) / 16, (M + 3) / 4);
    // The first half of C's rows by name, the rest through the template.
    int top = M / 2;
    mm_t<float><<<grid, block>>>(A, B, C, top, N, K);
    launch_t(A + top * K, B, C + top * N, M - top, N, K);
}
