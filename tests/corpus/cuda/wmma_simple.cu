// A tensor-core GEMM through the warp matrix-multiply API: each warp owns
// one 16x16 tile of C, walks K sixteen at a time, loads a 16x16 slice of
// A (row-major) and of B (column-major) straight from global memory into
// fragments, and accumulates with mma_sync. The code already runs on the
// tensor cores; the finding is a note (cuBLAS does the same in one call).
#include <mma.h>
#include <cuda_fp16.h>

#define TM 16
#define TN 16
#define TK 16
#define ROWS 2048
#define COLS 1024
#define DEPTH 512

using namespace nvcuda;

__global__ void hgemm_wmma(const half *x, const half *y, float *out, int rows, int cols, int depth)   // expect: GS109 routine=gemm dtype=f16 order=wmma function=hgemm_wmma layout=C:row,A:row,B:col
{
    int tileRow = (blockIdx.y * blockDim.y + threadIdx.y);
    int tileCol = (blockIdx.x * blockDim.x + threadIdx.x) / 32;

    wmma::fragment<wmma::matrix_a, TM, TN, TK, half, wmma::row_major> fx;
    wmma::fragment<wmma::matrix_b, TM, TN, TK, half, wmma::col_major> fy;
    wmma::fragment<wmma::accumulator, TM, TN, TK, float> facc;
    wmma::fill_fragment(facc, 0.0f);

    for (int kk = 0; kk < depth; kk += TK) {
        const half *px = x + tileRow * TM * depth + kk;
        const half *py = y + tileCol * TN * depth + kk;
        wmma::load_matrix_sync(fx, px, depth);
        wmma::load_matrix_sync(fy, py, depth);
        wmma::mma_sync(facc, fx, fy, facc);
    }
    wmma::store_matrix_sync(out + tileRow * TM * cols + tileCol * TN, facc, cols, wmma::mem_row_major);
}

int main()
{
    half *x, *y;
    float *out;
    cudaMalloc(&x, sizeof(half) * ROWS * DEPTH);
    cudaMalloc(&y, sizeof(half) * COLS * DEPTH);
    cudaMalloc(&out, sizeof(float) * ROWS * COLS);
    dim3 block(128, 1);
    dim3 grid(COLS / TN / 4, ROWS / TM);
    hgemm_wmma<<<grid, block>>>(x, y, out, ROWS, COLS, DEPTH);
    cudaDeviceSynchronize();
    return 0;
}
