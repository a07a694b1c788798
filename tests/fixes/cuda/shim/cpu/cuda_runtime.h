/* CPU emulation of the parts of the CUDA runtime the launch fixtures use,
 * for the differential tests of the kernel-launch → cublasGemmEx rewrite
 * (tests/tests/fixes_cuda.rs) on a machine without a GPU or nvcc.
 * Kernels are compiled as C++: one POSIX thread per CUDA thread, a barrier
 * per block for __syncthreads(), blocks one after another (so a function-
 * static array stands in for __shared__). "Device" memory is host memory.
 * The test turns `k<<<g, b, ...>>>(args);` into `gs_launch(g, b, [&] { k(args); });`. */
#pragma once
#include <pthread.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct CUstream_st { int id; };
typedef CUstream_st *cudaStream_t;
struct CUevent_st { int id; };
typedef CUevent_st *cudaEvent_t;
typedef enum { cudaSuccess = 0, cudaErrorInvalidValue = 1 } cudaError_t;
typedef enum {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4
} cudaMemcpyKind;
typedef enum { CUDA_R_32F = 0, CUDA_R_64F = 1, CUDA_R_16F = 2, CUDA_R_16BF = 14 } cudaDataType;

static thread_local dim3 threadIdx(0, 0, 0), blockIdx(0, 0, 0);
static dim3 blockDim, gridDim;
static pthread_barrier_t gs_barrier;
#define __syncthreads() pthread_barrier_wait(&gs_barrier)

struct gs_thread_arg {
    dim3 t, b;
    const std::function<void()> *body;
};
static void *gs_thread(void *p) {
    gs_thread_arg *a = (gs_thread_arg *)p;
    threadIdx = a->t;
    blockIdx = a->b;
    (*a->body)();
    return 0;
}
static void gs_launch(dim3 grid, dim3 block, const std::function<void()> &body) {
    gridDim = grid;
    blockDim = block;
    unsigned nt = block.x * block.y * block.z;
    std::vector<pthread_t> ts(nt);
    std::vector<gs_thread_arg> args(nt);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 16);
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                pthread_barrier_init(&gs_barrier, 0, nt);
                unsigned t = 0;
                for (unsigned z = 0; z < block.z; ++z)
                    for (unsigned y = 0; y < block.y; ++y)
                        for (unsigned x = 0; x < block.x; ++x, ++t) {
                            args[t] = gs_thread_arg{dim3(x, y, z), dim3(bx, by, bz), &body};
                            if (pthread_create(&ts[t], &attr, gs_thread, &args[t])) {
                                perror("pthread_create");
                                exit(2);
                            }
                        }
                for (unsigned i = 0; i < nt; ++i) pthread_join(ts[i], 0);
                pthread_barrier_destroy(&gs_barrier);
            }
    pthread_attr_destroy(&attr);
}

static inline cudaError_t cudaMalloc(void **p, size_t n) {
    *p = malloc(n ? n : 1);
    return *p ? cudaSuccess : cudaErrorInvalidValue;
}
template <class T> cudaError_t cudaMalloc(T **p, size_t n) { return cudaMalloc((void **)p, n); }
template <class T> cudaError_t cudaMallocManaged(T **p, size_t n) { return cudaMalloc((void **)p, n); }
static inline cudaError_t cudaFree(void *p) { free(p); return cudaSuccess; }
static inline cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind) {
    memcpy(d, s, n);
    return cudaSuccess;
}
static inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
static inline cudaError_t cudaStreamCreate(cudaStream_t *s) { *s = new CUstream_st{1}; return cudaSuccess; }
static inline cudaError_t cudaStreamDestroy(cudaStream_t s) { delete s; return cudaSuccess; }
static inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
static inline cudaError_t cudaEventCreate(cudaEvent_t *e) { *e = new CUevent_st{0}; return cudaSuccess; }
static inline cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t = 0) { return cudaSuccess; }
static inline cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
static inline cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t, cudaEvent_t) { *ms = 0; return cudaSuccess; }
static inline const char *cudaGetErrorString(cudaError_t) { return "no error"; }
