// negative: block-wide sum reduction in shared memory; it has __shared__,
// __syncthreads() and a loop, but no matrix product.
#include <cuda_runtime.h>

#define BLOCK 256

__global__ void block_sum(const float *in, float *partial, int n)
{
    __shared__ float buf[BLOCK];
    int tid = threadIdx.x;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    buf[tid] = i < n ? in[i] : 0.0f;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s)
            buf[tid] += buf[tid + s];
        __syncthreads();
    }
    if (tid == 0)
        partial[blockIdx.x] = buf[0];
}
