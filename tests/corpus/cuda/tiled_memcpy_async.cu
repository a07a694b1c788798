// Tiled SGEMMs whose tiles are filled by asynchronous copies
// (`cuda::memcpy_async` into shared memory through a pipeline) instead of
// plain stores: one float per thread, or one float4 (four consecutive
// floats of a row) per thread. A copy of `sizeof(float4)` bytes is four
// element stores; the product is the tiled kernel's.
#include <cuda/pipeline>
#include <cuda_runtime.h>

#define TS 32

__global__ void sgemm_async_one(int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_async_one layout=C:row,A:row,B:row
{
    __shared__ float ta[TS][TS];
    __shared__ float tb[TS][TS];
    const int row = blockIdx.y * TS + threadIdx.y;
    const int col = blockIdx.x * TS + threadIdx.x;
    auto pipe = cuda::make_pipeline();
    const auto one = cuda::aligned_size_t<alignof(float)>(sizeof(float));
    float acc = 0.0f;
    for (int t = 0; t < K; t += TS) {
        pipe.producer_acquire();
        cuda::memcpy_async(&ta[threadIdx.y][threadIdx.x], &A[row * K + t + threadIdx.x], one, pipe);
        cuda::memcpy_async(&tb[threadIdx.y][threadIdx.x], &B[(t + threadIdx.y) * N + col], one, pipe);
        pipe.producer_commit();
        pipe.consumer_wait();
        __syncthreads();
        for (int k = 0; k < TS; ++k)
            acc += ta[threadIdx.y][k] * tb[k][threadIdx.x];
        pipe.consumer_release();
        __syncthreads();
    }
    C[row * N + col] = acc;
}

// Each of the first TS/4 threads of a row copies four floats at once.
__global__ void sgemm_async_vec4(int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_async_vec4 layout=C:row,A:row,B:row
{
    __shared__ alignas(16) float ta[TS][TS];
    __shared__ alignas(16) float tb[TS][TS];
    const int q = threadIdx.x * 4;
    auto pipe = cuda::make_pipeline();
    const auto four = cuda::aligned_size_t<alignof(float4)>(sizeof(float4));
    float acc = 0.0f;
    for (int t = 0; t < K; t += TS) {
        if (q < TS) {
            pipe.producer_acquire();
            cuda::memcpy_async(&ta[threadIdx.y][q], &A[(blockIdx.y * TS + threadIdx.y) * K + t + q], four, pipe);
            cuda::memcpy_async(&tb[threadIdx.y][q], &B[(t + threadIdx.y) * N + blockIdx.x * TS + q], four, pipe);
            pipe.producer_commit();
            pipe.consumer_wait();
        }
        __syncthreads();
        for (int k = 0; k < TS; ++k)
            acc += ta[threadIdx.y][k] * tb[k][threadIdx.x];
        __syncthreads();
    }
    C[(blockIdx.y * TS + threadIdx.y) * N + blockIdx.x * TS + threadIdx.x] = acc;
}

// negative: the B tile is copied from A's offsets (both tiles walk the
// same row block), so the product is not A·B as written: its second
// factor moves with the block row, and the block column indexes nothing.
__global__ void async_rowblock_only(int N, int K, const float *A, float *C)
{
    __shared__ float ta[TS][TS];
    __shared__ float tb[TS][TS];
    auto pipe = cuda::make_pipeline();
    const auto one = cuda::aligned_size_t<alignof(float)>(sizeof(float));
    float acc = 0.0f;
    for (int t = 0; t < K; t += TS) {
        cuda::memcpy_async(&ta[threadIdx.y][threadIdx.x], &A[(blockIdx.y * TS + threadIdx.y) * K + t + threadIdx.x], one, pipe);
        cuda::memcpy_async(&tb[threadIdx.y][threadIdx.x], &A[(blockIdx.y * TS + threadIdx.y) * K + t + threadIdx.x], one, pipe);
        pipe.consumer_wait();
        __syncthreads();
        for (int k = 0; k < TS; ++k)
            acc += ta[threadIdx.y][k] * tb[k][threadIdx.x];
        __syncthreads();
    }
    C[(blockIdx.y * TS + threadIdx.y) * N + blockIdx.x * TS + threadIdx.x] = acc;
}

// negative: an asynchronous copy of a tile to global memory, no arithmetic.
__global__ void async_copy_tile(int N, const float *src, float *dst)
{
    __shared__ float t[TS][TS];
    auto pipe = cuda::make_pipeline();
    const auto one = cuda::aligned_size_t<alignof(float)>(sizeof(float));
    cuda::memcpy_async(&t[threadIdx.y][threadIdx.x], &src[(blockIdx.y * TS + threadIdx.y) * N + blockIdx.x * TS + threadIdx.x], one, pipe);
    pipe.consumer_wait();
    __syncthreads();
    dst[(blockIdx.x * TS + threadIdx.x) * N + blockIdx.y * TS + threadIdx.y] = t[threadIdx.y][threadIdx.x];
}
