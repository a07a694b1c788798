// One-dimensional launch: each thread derives its (row, col) from a flat id.
#include <cuda_runtime.h>

__global__ void matmul_flat(const double *A, const double *B, double *C, int M, int N, int K)   // expect: GS102 routine=gemm dims=MxNxK dtype=f64 order=thread-per-output layout=C:row,A:row,B:row
{
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    int row = idx / N;
    int col = idx % N;
    if (row < M) {
        double acc = 0.0;
        for (int k = 0; k < K; k++)
            acc += A[row * K + k] * B[k * N + col];
        C[row * N + col] = acc;
    }
}

void run(const double *dA, const double *dB, double *dC, int M, int N, int K)
{
    int total = M * N;
    int threads = 256;
    matmul_flat<<<(total + threads - 1) / threads, threads>>>(dA, dB, dC, M, N, K);
}
