// negative: a five-point stencil with the block and thread indices bound to
// names of their own and the position written inline, through a shared
// tile; weighted by constants, no product of two arrays.
#include <cuda_runtime.h>

#define SW 16

__global__ void smooth(const float *in, float *out, int width)
{
    int bx = blockIdx.x, by = blockIdx.y;
    int tx = threadIdx.x, ty = threadIdx.y;
    __shared__ float t[SW + 2][SW + 2];
    t[ty + 1][tx + 1] = in[(by * SW + ty) * width + bx * SW + tx];
    __syncthreads();
    float acc = 0.0f;
    for (int d = -1; d <= 1; d += 2) {
        acc += 0.25f * t[ty + 1 + d][tx + 1];
        acc += 0.25f * t[ty + 1][tx + 1 + d];
    }
    out[(by * SW + ty) * width + bx * SW + tx] = acc;
}
