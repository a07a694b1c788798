// Tiled matrix product in the textbook sample's style: the tile loop walks
// two offsets at once (`p` into A, `q` into B), the block and thread indices
// are bound to names of their own and the row and column are written inline
// in every subscript. Double precision, tile width a template parameter.
#include <cuda_runtime.h>

template <int W>
__global__ void dmm_tiles(double *out, const double *lhs, const double *rhs, int lhsCols, int rhsCols)   // expect: GS103 routine=gemm dtype=f64 order=tiled function=dmm_tiles layout=C:row,A:row,B:row
{
    int gx = blockIdx.x;
    int gy = blockIdx.y;
    int lx = threadIdx.x;
    int ly = threadIdx.y;

    int pFirst = lhsCols * W * gy;
    int pLast = pFirst + lhsCols - 1;
    int qFirst = W * gx;

    double partial = 0.0;
    for (int p = pFirst, q = qFirst; p <= pLast; p += W, q += W * rhsCols) {
        __shared__ double tileL[W][W];
        __shared__ double tileR[W][W];
        tileL[ly][lx] = lhs[p + lhsCols * ly + lx];
        tileR[ly][lx] = rhs[q + rhsCols * ly + lx];
        __syncthreads();
#pragma unroll
        for (int e = 0; e < W; ++e)
            partial += tileL[ly][e] * tileR[e][lx];
        __syncthreads();
    }
    out[rhsCols * W * gy + W * gx + rhsCols * ly + lx] = partial;
}

// negative in the same file: the same walk, but each thread multiplies the
// two tiles element by element (a Frobenius inner product of tiles).
template <int W>
__global__ void tile_inner(double *out, const double *lhs, const double *rhs, int lhsCols, int rhsCols)
{
    int gx = blockIdx.x;
    int gy = blockIdx.y;
    int lx = threadIdx.x;
    int ly = threadIdx.y;
    int pFirst = lhsCols * W * gy;
    int pLast = pFirst + lhsCols - 1;
    double partial = 0.0;
    for (int p = pFirst, q = W * gx; p <= pLast; p += W, q += W * rhsCols) {
        __shared__ double tileL[W][W];
        __shared__ double tileR[W][W];
        tileL[ly][lx] = lhs[p + lhsCols * ly + lx];
        tileR[ly][lx] = rhs[q + rhsCols * ly + lx];
        __syncthreads();
        partial += tileL[ly][lx] * tileR[ly][lx];
        __syncthreads();
    }
    out[rhsCols * W * gy + W * gx + rhsCols * ly + lx] = partial;
}
