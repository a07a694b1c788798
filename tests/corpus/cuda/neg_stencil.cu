// negative: 5-point Laplacian stencil, one thread per grid point; the
// neighbours are fixed offsets, not a reduction over a shared index.
#include <cuda_runtime.h>

__global__ void laplacian(const float *u, float *out, int nx, int ny, float inv_h2)
{
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (i > 0 && i < ny - 1 && j > 0 && j < nx - 1) {
        float c = u[i * nx + j];
        out[i * nx + j] = inv_h2 * (u[(i - 1) * nx + j] + u[(i + 1) * nx + j] +
                                    u[i * nx + j - 1] + u[i * nx + j + 1] - 4.0f * c);
    }
}
