// Tiled matmul with 32x32 tiles and bounds checks for ragged edges.
#include <cuda_runtime.h>

#define TILE_WIDTH 32

__global__ void tiled_gemm(const float *A, const float *B, float *C, int M, int N, int K)   // expect: GS103 routine=gemm dtype=f32 order=tiled
{
    __shared__ float sA[TILE_WIDTH][TILE_WIDTH];
    __shared__ float sB[TILE_WIDTH][TILE_WIDTH];
    int bx = blockIdx.x, by = blockIdx.y;
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = by * TILE_WIDTH + ty;
    int col = bx * TILE_WIDTH + tx;
    float value = 0.0f;
    int phases = (K + TILE_WIDTH - 1) / TILE_WIDTH;
    for (int ph = 0; ph < phases; ++ph) {
        int acol = ph * TILE_WIDTH + tx;
        int brow = ph * TILE_WIDTH + ty;
        sA[ty][tx] = (row < M && acol < K) ? A[row * K + acol] : 0.0f;
        sB[ty][tx] = (brow < K && col < N) ? B[brow * N + col] : 0.0f;
        __syncthreads();
        for (int k = 0; k < TILE_WIDTH; ++k)
            value += sA[ty][k] * sB[k][tx];
        __syncthreads();
    }
    if (row < M && col < N)
        C[row * N + col] = value;
}

void tiled_gemm_launch(const float *A, const float *B, float *C, int M, int N, int K)
{
    dim3 block(TILE_WIDTH, TILE_WIDTH);
    dim3 grid((N + TILE_WIDTH - 1) / TILE_WIDTH, (M + TILE_WIDTH - 1) / TILE_WIDTH);
    tiled_gemm<<<grid, block>>>(A, B, C, M, N, K);
}
