// An int8 tensor-core GEMM (signed char inputs, int accumulators) in
// which each warp owns a 2x2 grid of 16x16 output tiles (`acc[i][j]`),
// with K split into chunks of four fragment steps: the chunk loop steps by
// CH and the inner loop walks the chunk one fragment at a time. K is
// KT (fragment steps) times 16; the launch gives KT.
#include <mma.h>

#define CH 4
#define WT 2
#define KT_ALL 128

using namespace nvcuda;

__global__ void igemm_wmma(const signed char *A, const signed char *B, int *C, int ldc, int kt_total)   // expect: GS109 routine=gemm dtype=i8 order=wmma function=igemm_wmma layout=C:row,A:row,B:col dims=2048
{
    const int warpRow = blockIdx.y * WT * 16;
    const int warpCol = blockIdx.x * WT * 16;
    const int lda = kt_total * 16;
    wmma::fragment<wmma::accumulator, 16, 16, 16, int> acc[WT][WT];
    for (int i = 0; i < WT; i++)
        for (int j = 0; j < WT; j++)
            wmma::fill_fragment(acc[i][j], 0);

    for (int kc = 0; kc < kt_total; kc += CH) {
        for (int ks = 0; ks < CH; ks++) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, signed char, wmma::row_major> a[WT];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, signed char, wmma::col_major> b[WT];
            for (int i = 0; i < WT; i++) {
                wmma::load_matrix_sync(a[i], A + (warpRow + i * 16) * lda + (kc + ks) * 16, lda);
                wmma::load_matrix_sync(b[i], B + (warpCol + i * 16) * lda + (kc + ks) * 16, lda);
            }
            for (int i = 0; i < WT; i++)
                for (int j = 0; j < WT; j++)
                    wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
    }
    for (int i = 0; i < WT; i++)
        for (int j = 0; j < WT; j++)
            wmma::store_matrix_sync(C + (warpRow + i * 16) * ldc + warpCol + j * 16, acc[i][j], ldc, wmma::mem_row_major);
}

void launch(const signed char *A, const signed char *B, int *C)
{
    igemm_wmma<<<dim3(8, 8), 32>>>(A, B, C, 256, KT_ALL);
}
