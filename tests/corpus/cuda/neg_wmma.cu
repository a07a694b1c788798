// negative: code that uses the warp matrix-multiply API without computing
// a GEMM a library call would replace, and host code that already calls
// cuBLAS on the tensor cores.
#include <mma.h>
#include <cublas_v2.h>

using namespace nvcuda;

// negative: fragments filled and stored, no mma_sync (a matrix cleared to
// a constant, one 16x16 tile per warp).
__global__ void fill_tiles(float *out, int ld, float value)
{
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> f;
    wmma::fill_fragment(f, value);
    const int t = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
    wmma::store_matrix_sync(out + t * 16, f, ld, wmma::mem_row_major);
}

// negative: one tile product, no loop over K (a single 16x16x16 step:
// the building block of something larger, not a GEMM to replace).
__global__ void one_tile(const half *a, const half *b, float *c)
{
    wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::fill_fragment(fc, 0.0f);
    wmma::load_matrix_sync(fa, a, 16);
    wmma::load_matrix_sync(fb, b, 16);
    wmma::mma_sync(fc, fa, fb, fc);
    wmma::store_matrix_sync(c, fc, 16, wmma::mem_row_major);
}

// negative: the same two tiles multiplied again and again (a throughput
// test of the instruction): the loop loads no new operands, so it is not
// a reduction over K.
__global__ void mma_throughput(const half *a, const half *b, float *c, int reps)
{
    wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::fill_fragment(fc, 0.0f);
    wmma::load_matrix_sync(fa, a, 16);
    wmma::load_matrix_sync(fb, b, 16);
    for (int r = 0; r < reps; r++)
        wmma::mma_sync(fc, fa, fb, fc);
    wmma::store_matrix_sync(c, fc, 16, wmma::mem_row_major);
}

// negative: a fresh tile pair per iteration, but each product goes to its
// own output tile (D = A·B + C with C read from memory, not accumulated):
// a batch of independent 16x16x16 products, not a reduction over K.
__global__ void tile_batch(const half *a, const half *b, const float *c, float *d, int count)
{
    wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fd;
    for (int t = 0; t < count; t++) {
        wmma::load_matrix_sync(fa, a + t * 256, 16);
        wmma::load_matrix_sync(fb, b + t * 256, 16);
        wmma::load_matrix_sync(fc, c + t * 256, 16, wmma::mem_row_major);
        wmma::mma_sync(fd, fa, fb, fc);
        wmma::store_matrix_sync(d + t * 256, fd, 16, wmma::mem_row_major);
    }
}

// negative: host code that already calls cuBLAS with tensor-op math.
void host_gemm(cublasHandle_t h, const half *dA, const half *dB, float *dC, int n)
{
    const float one = 1.0f, zero = 0.0f;
    cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, dA, CUDA_R_16F, n, dB, CUDA_R_16F, n,
                 &zero, dC, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}
