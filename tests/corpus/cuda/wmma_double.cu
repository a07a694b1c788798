// A double-precision tensor-core GEMM (8x8x4 DMMA fragments), written with
// the namespace spelled out in full: each warp owns one 8x8 tile of C and
// walks K four at a time; A is column-major and B row-major.
#include <mma.h>

#define DM 8
#define DN 8
#define DK 4

__global__ void dgemm_wmma(int m, int n, int k, const double *A, const double *B, double *C)   // expect: GS109 routine=gemm dtype=f64 order=wmma function=dgemm_wmma layout=C:row,A:col,B:row
{
    const int tr = blockIdx.y * DM;
    const int tc = (blockIdx.x * blockDim.x + threadIdx.x) / 32 * DN;
    nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, DM, DN, DK, double, nvcuda::wmma::col_major> fa;
    nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, DM, DN, DK, double, nvcuda::wmma::row_major> fb;
    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, DM, DN, DK, double> fc;
    nvcuda::wmma::fill_fragment(fc, 0.0);
    for (int p = 0; p < k; p += DK) {
        nvcuda::wmma::load_matrix_sync(fa, A + p * m + tr, m);
        nvcuda::wmma::load_matrix_sync(fb, B + p * n + tc, n);
        nvcuda::wmma::mma_sync(fc, fa, fb, fc);
    }
    nvcuda::wmma::store_matrix_sync(C + tr * n + tc, fc, n, nvcuda::wmma::mem_row_major);
}
