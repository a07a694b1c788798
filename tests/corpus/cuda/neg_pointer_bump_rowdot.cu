// negative: pointers advanced per chunk as in a tiled SGEMM, but each thread
// takes the dot product of row r of X with row r of Y (a batched dot, one
// number per row), not a matrix product.
#include <cuda_runtime.h>

#define CH 64

__global__ void row_dots(const float *X, const float *Y, float *out, int rows, int K)
{
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows)
        return;
    X += r * K;
    Y += r * K;
    float s = 0.0f;
    for (int c = 0; c < K; c += CH) {
        for (int i = 0; i < CH; ++i)
            s += X[i] * Y[i];
        X += CH;
        Y += CH;
    }
    out[r] = s;
}
