// A launch with dynamic shared memory and a stream, and a sub-matrix
// passed by pointer arithmetic.
#include <cuda_runtime.h>

__global__ void mm_ld(const float *A, int lda, const float *B, int ldb, float *C, int ldc,
                      int M, int N, int K)
{
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < M && col < N) {
        float sum = 0.0f;
        for (int k = 0; k < K; ++k)
            sum += A[row * lda + k] * B[k * ldb + col];
        C[row * ldc + col] += sum;
    }
}

void run(int M, int N, int K, const float *A, const float *B, float *C)
{
    cudaStream_t stream;
    cudaStreamCreate(&stream);
    dim3 block(8, 8), grid((N + 7) / 8, (M + 7) / 8);
    // C's block starting at (1, 2), inputs with padded rows.
    mm_ld<<<grid, block, 0, stream>>>(A, K + 1, B + 1, N + 2, C + (N + 3) + 2, N + 3, M, N, K);
    cudaStreamSynchronize(stream);
    cudaStreamDestroy(stream);
}
