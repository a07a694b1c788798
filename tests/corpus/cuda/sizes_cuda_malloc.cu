// Sizes from `cudaMalloc`: the kernel's bounds come from the command line,
// but the device buffers it is launched with were allocated with a
// constant byte count (elements = bytes / sizeof(float)).
#include <cstdlib>
#include <cuda_runtime.h>

#define ROWS 640

__global__ void sq_kernel(const float *A, const float *B, float *C, int n)   // expect: GS102 routine=gemm dims=640x640x640 sources=allocation,allocation,allocation function=sq_kernel
{
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < n && col < n) {
        float s = 0.0f;
        for (int k = 0; k < n; ++k)
            s += A[row * n + k] * B[k * n + col];
        C[row * n + col] = s;
    }
}

// Near miss: launched only with buffers whose size is read at run time.
__global__ void sq_kernel2(const float *A, const float *B, float *C, int n)   // expect: GS102 routine=gemm sources=-,-,- function=sq_kernel2
{
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < n && col < n) {
        float s = 0.0f;
        for (int k = 0; k < n; ++k)
            s += A[row * n + k] * B[k * n + col];
        C[row * n + col] = s;
    }
}

int main(int argc, char **argv)
{
    int n = atoi(argv[1]);
    size_t bytes = ROWS * ROWS * sizeof(float);
    float *dA, *dB, *dC;
    cudaMalloc(&dA, bytes);
    cudaMalloc((void **)&dB, bytes);
    cudaMalloc(&dC, bytes);
    dim3 block(16, 16);
    dim3 grid((n + 15) / 16, (n + 15) / 16);
    sq_kernel<<<grid, block>>>(dA, dB, dC, n);

    size_t runtime = (size_t)n * n * sizeof(float);
    float *eA, *eB, *eC;
    cudaMalloc(&eA, runtime);
    cudaMalloc(&eB, runtime);
    cudaMalloc(&eC, runtime);
    sq_kernel2<<<grid, block>>>(eA, eB, eC, n);
    return 0;
}
