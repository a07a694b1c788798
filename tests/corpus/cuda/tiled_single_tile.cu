// A blocked factorisation's trailing update: one block of the matrix
// minus the product of a block of its left panel and a block of its top
// panel, K = one tile (no loop over tiles). Both panels are copied into
// shared tiles first, then each thread subtracts its dot product.
#include <cuda_runtime.h>

#define TS 16

__global__ void schur_update(float *a, int n, int base)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=schur_update alpha=-1
{
    __shared__ float left[TS][TS];
    __shared__ float top[TS][TS];
    const int row = base + (blockIdx.y + 1) * TS;
    const int col = base + (blockIdx.x + 1) * TS;
    left[threadIdx.y][threadIdx.x] = a[(row + threadIdx.y) * n + base + threadIdx.x];
    top[threadIdx.y][threadIdx.x] = a[(base + threadIdx.y) * n + col + threadIdx.x];
    __syncthreads();
    float acc = 0.0f;
    for (int p = 0; p < TS; p++)
        acc += left[threadIdx.y][p] * top[p][threadIdx.x];
    a[(row + threadIdx.y) * n + col + threadIdx.x] -= acc;
}

// The same single-tile product into a separate output.
__global__ void one_tile_product(const float *A, const float *B, float *C, int n)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=one_tile_product
{
    __shared__ float sa[TS][TS];
    __shared__ float sb[TS][TS];
    const int r = blockIdx.y * TS + threadIdx.y, c = blockIdx.x * TS + threadIdx.x;
    sa[threadIdx.y][threadIdx.x] = A[r * TS + threadIdx.x];
    sb[threadIdx.y][threadIdx.x] = B[threadIdx.y * n + c];
    __syncthreads();
    float acc = 0.0f;
    for (int p = 0; p < TS; p++)
        acc += sa[threadIdx.y][p] * sb[p][threadIdx.x];
    C[r * n + c] = acc;
}

// negative: the same single tile, but the two panels are added, not
// multiplied (a sum of row and column totals).
__global__ void schur_add(float *a, int n, int base)
{
    __shared__ float left[TS][TS];
    __shared__ float top[TS][TS];
    const int row = base + (blockIdx.y + 1) * TS;
    const int col = base + (blockIdx.x + 1) * TS;
    left[threadIdx.y][threadIdx.x] = a[(row + threadIdx.y) * n + base + threadIdx.x];
    top[threadIdx.y][threadIdx.x] = a[(base + threadIdx.y) * n + col + threadIdx.x];
    __syncthreads();
    float acc = 0.0f;
    for (int p = 0; p < TS; p++)
        acc += left[threadIdx.y][p] + top[p][threadIdx.x];
    a[(row + threadIdx.y) * n + col + threadIdx.x] -= acc;
}

// negative: an in-place update of the diagonal block itself in shared
// memory (the panel factorisation): the tile it reads is the one it
// writes, a recurrence rather than a product.
__global__ void diag_factor(float *a, int n, int base)
{
    __shared__ float d[TS][TS];
    for (int r = 0; r < TS; r++)
        d[r][threadIdx.x] = a[(base + r) * n + base + threadIdx.x];
    __syncthreads();
    for (int p = 0; p < TS - 1; p++) {
        if (threadIdx.x > p) {
            for (int q = 0; q < p; q++)
                d[threadIdx.x][p] -= d[threadIdx.x][q] * d[q][p];
            d[threadIdx.x][p] /= d[p][p];
        }
        __syncthreads();
    }
    for (int r = 0; r < TS; r++)
        a[(base + r) * n + base + threadIdx.x] = d[r][threadIdx.x];
}

// negative: the trailing update read straight from global memory, in
// place, without tiles: the rows it reads may be ones it writes.
__global__ void global_rank_update(float *a, int n, int base)
{
    const int row = base + TS + blockIdx.y * blockDim.y + threadIdx.y;
    const int col = base + TS + blockIdx.x * blockDim.x + threadIdx.x;
    float acc = 0.0f;
    for (int p = 0; p < TS; p++)
        acc += a[row * n + base + p] * a[(base + p) * n + col];
    a[row * n + col] -= acc;
}
