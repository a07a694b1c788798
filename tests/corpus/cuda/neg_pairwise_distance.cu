// negative: pairwise squared Euclidean distances. One thread per output and
// a loop over features, but it accumulates (a - b)^2, not a * b.
#include <cuda_runtime.h>

__global__ void sq_dist(const float *X, const float *Y, float *D, int nx, int ny, int dim)
{
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < nx && j < ny) {
        float acc = 0.0f;
        for (int f = 0; f < dim; ++f) {
            float d = X[i * dim + f] - Y[j * dim + f];
            acc += d * d;
        }
        D[i * ny + j] = acc;
    }
}
