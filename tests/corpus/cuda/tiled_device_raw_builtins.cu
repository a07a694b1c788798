// A tiled product written in a `__device__` helper that the kernels call,
// reading the builtin indices as written (`threadIdx.y`, `blockIdx.x`) in
// every subscript, with the two-offset tile loop.
#include <cuda_runtime.h>

#define BW 16

__device__ void tile_product(float *C, const float *A, const float *B, int wa, int wb)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=tile_product
{
    __shared__ float As[BW][BW];
    __shared__ float Bs[BW][BW];
    int first = wa * BW * blockIdx.y;
    float v = 0.0f;
    for (int a = first, b = BW * blockIdx.x; a < first + wa; a += BW, b += BW * wb) {
        As[threadIdx.y][threadIdx.x] = A[a + wa * threadIdx.y + threadIdx.x];
        Bs[threadIdx.y][threadIdx.x] = B[b + wb * threadIdx.y + threadIdx.x];
        __syncthreads();
        for (int k = 0; k < BW; ++k)
            v += As[threadIdx.y][k] * Bs[k][threadIdx.x];
        __syncthreads();
    }
    C[wb * BW * blockIdx.y + BW * blockIdx.x + wb * threadIdx.y + threadIdx.x] = v;
}

extern "C" __global__ void tile_product_f32(float *C, const float *A, const float *B, int wa, int wb)
{
    tile_product(C, A, B, wa, wb);
}
