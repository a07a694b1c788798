// Sizes from CUDA launch sites: a kernel's M and N are the extent of the
// grid it is launched with (`gridDim.y * blockDim.y`), read from
// `dim3 grid(...)` / `dim3 threads(...)` at its `<<<...>>>` launches, from
// inline `dim3(...)` configurations and ceiling divisions; its parameters
// get the launch's arguments, as at any call site.
#include <cuda_runtime.h>

#define TS 16
#define DIVUP(a, b) (((a) + (b) - 1) / (b))

// No bounds guard: each thread block covers a TS x TS tile of C, so M and N
// are what the grid covers.
__global__ void tile_mm(const float *A, const float *B, float *C, int K, int N)   // expect: GS103 routine=gemm dims=512x256x128 sources=call-site,call-site,call-site function=tile_mm
{
    __shared__ float sa[TS][TS];
    __shared__ float sb[TS][TS];
    int tx = threadIdx.x, ty = threadIdx.y;
    int r = blockIdx.y * TS + ty;
    int c = blockIdx.x * TS + tx;
    float acc = 0.0f;
    for (int t = 0; t < K / TS; ++t) {
        sa[ty][tx] = A[r * K + t * TS + tx];
        sb[ty][tx] = B[(t * TS + ty) * N + c];
        __syncthreads();
        for (int q = 0; q < TS; ++q)
            acc += sa[ty][q] * sb[q][tx];
        __syncthreads();
    }
    C[r * N + c] = acc;
}

// The launch is in a wrapper whose sizes come from its own caller.
void launch_tiles(const float *A, const float *B, float *C, int M, int N, int K)
{
    dim3 threads(TS, TS);
    dim3 grid(N / threads.x, M / threads.y);
    tile_mm<<<grid, threads>>>(A, B, C, K, N);
}

// A thread per output, no guard, launched with an inline configuration.
__global__ void cell_mm(const float *A, const float *B, float *C, int K, int N)   // expect: GS102 routine=gemm dims=1024x2048x64 sources=call-site,call-site,call-site function=cell_mm
{
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    float s = 0.0f;
    for (int k = 0; k < K; ++k)
        s += A[row * K + k] * B[k * N + col];
    C[row * N + col] = s;
}

// Near miss: the same kernel, never launched; the launch of another kernel
// with a grid and block in scope gives it nothing.
__global__ void idle_mm(const float *A, const float *B, float *C, int K, int N)   // expect: GS103 routine=gemm sources=-,-,- function=idle_mm
{
    __shared__ float sa[TS][TS];
    __shared__ float sb[TS][TS];
    int tx = threadIdx.x, ty = threadIdx.y;
    int r = blockIdx.y * TS + ty;
    int c = blockIdx.x * TS + tx;
    float acc = 0.0f;
    for (int t = 0; t < K / TS; ++t) {
        sa[ty][tx] = A[r * K + t * TS + tx];
        sb[ty][tx] = B[(t * TS + ty) * N + c];
        __syncthreads();
        for (int q = 0; q < TS; ++q)
            acc += sa[ty][q] * sb[q][tx];
        __syncthreads();
    }
    C[r * N + c] = acc;
}

__global__ void fill(float *C, int n)
{
    C[blockIdx.x * blockDim.x + threadIdx.x] = (float)n;
}

int main()
{
    float *A, *B, *C;
    cudaMalloc(&A, sizeof(float) * 4096 * 4096);
    cudaMalloc(&B, sizeof(float) * 4096 * 4096);
    cudaMalloc(&C, sizeof(float) * 4096 * 4096);
    launch_tiles(A, B, C, 512, 256, 128);
    int m = 1024, n = 2048, k = 64;
    cell_mm<<<dim3(DIVUP(n, 16), DIVUP(m, 16)), dim3(16, 16)>>>(A, B, C, k, n);
    dim3 grid(64, 64), threads(TS, TS);
    fill<<<grid, threads>>>(C, 7);
    cudaDeviceSynchronize();
    return 0;
}
