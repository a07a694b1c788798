// Column-major double-precision kernel (cuBLAS storage convention).
#include <cuda_runtime.h>

__global__ void dgemm_colmajor(int m, int n, int k, const double *A, int lda,   // expect: GS102 routine=gemm dims=mxnxk dtype=f64 order=thread-per-output layout=C:col,A:col,B:col
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
