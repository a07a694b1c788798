// Column-major DGEMM kernel with leading dimensions larger than the rows.
#include <cuda_runtime.h>

__global__ void dgemm_cm(int m, int n, int k, const double *A, int lda,
                         const double *B, int ldb, double *C, int ldc)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int j = blockIdx.y * blockDim.y + threadIdx.y;
    if (i < m && j < n) {
        double s = 0.0;
        for (int p = 0; p < k; ++p)
            s += A[i + p * lda] * B[p + j * ldb];
        C[i + j * ldc] = s;
    }
}

void run(int M, int N, int K, const double *A, const double *B, double *C)
{
    dim3 block(8, 4);
    dim3 grid((M + 7) / 8, (N + 3) / 4);
    dgemm_cm<<<grid, block>>>(M, N, K, A, M + 1, B, K + 2, C, M + 3);
}
