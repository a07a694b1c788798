// Tiled SGEMMs whose shared tiles form a ring of stages: the kernel keeps
// STAGES copies of each tile (`__shared__ float ta[STAGES][T][T]`), fills
// the stage of a tile that lies ahead while it multiplies the tiles of an
// earlier stage, and waits on the copy (a `cuda::pipeline`, the
// `__pipeline_*` primitives, a `cuda::barrier`, or plain `__syncthreads`)
// before it reads a stage. A read of stage `t % STAGES` is the tile that
// the store into stage `f % STAGES` wrote when its fetch index `f` was `t`;
// the product is the tiled kernel's.
#include <cuda/barrier>
#include <cuda/pipeline>
#include <cuda_pipeline.h>
#include <cuda_runtime.h>

#define T 16
#define STAGES 4

// Two stages through a `cuda::pipeline`: the first tile is fetched before
// the loop, then each iteration fetches tile t + 1 into the other stage
// and multiplies stage t % 2.
__global__ void sgemm_pipe2(int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_pipe2 layout=C:row,A:row,B:row
{
    __shared__ float ta[2][T][T];
    __shared__ float tb[2][T][T];
    const int r = blockIdx.y * T + threadIdx.y;
    const int c = blockIdx.x * T + threadIdx.x;
    const int tiles = K / T;
    auto pipe = cuda::make_pipeline();
    const auto one = cuda::aligned_size_t<alignof(float)>(sizeof(float));
    pipe.producer_acquire();
    cuda::memcpy_async(&ta[0][threadIdx.y][threadIdx.x], &A[r * K + threadIdx.x], one, pipe);
    cuda::memcpy_async(&tb[0][threadIdx.y][threadIdx.x], &B[threadIdx.y * N + c], one, pipe);
    pipe.producer_commit();
    float acc = 0.0f;
    for (int t = 0; t < tiles; ++t) {
        if (t + 1 < tiles) {
            pipe.producer_acquire();
            cuda::memcpy_async(&ta[(t + 1) % 2][threadIdx.y][threadIdx.x], &A[r * K + (t + 1) * T + threadIdx.x], one, pipe);
            cuda::memcpy_async(&tb[(t + 1) % 2][threadIdx.y][threadIdx.x], &B[((t + 1) * T + threadIdx.y) * N + c], one, pipe);
            pipe.producer_commit();
        }
        pipe.consumer_wait();
        __syncthreads();
        for (int k = 0; k < T; ++k)
            acc += ta[t % 2][threadIdx.y][k] * tb[t % 2][k][threadIdx.x];
        pipe.consumer_release();
        __syncthreads();
    }
    C[r * N + c] = acc;
}

// Four stages: a prologue loop fills stages 0 .. STAGES-2 with the first
// tiles, and the main loop fetches STAGES-1 tiles ahead of the one it
// multiplies (`fetch = t + STAGES - 1` into stage `fetch % STAGES`).
__global__ void sgemm_pipe4(int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_pipe4 layout=C:row,A:row,B:row
{
    __shared__ float ta[STAGES][T][T];
    __shared__ float tb[STAGES][T][T];
    const int r = blockIdx.y * T + threadIdx.y;
    const int c = blockIdx.x * T + threadIdx.x;
    const int tiles = K / T;
    cuda::pipeline<cuda::thread_scope_thread> pipe = cuda::make_pipeline();
    for (int s = 0; s < STAGES - 1; ++s) {
        pipe.producer_acquire();
        if (s < tiles) {
            cuda::memcpy_async(&ta[s][threadIdx.y][threadIdx.x], &A[r * K + s * T + threadIdx.x], sizeof(float), pipe);
            cuda::memcpy_async(&tb[s][threadIdx.y][threadIdx.x], &B[(s * T + threadIdx.y) * N + c], sizeof(float), pipe);
        }
        pipe.producer_commit();
    }
    float acc = 0.0f;
    for (int t = 0; t < tiles; ++t) {
        const int fetch = t + STAGES - 1;
        pipe.producer_acquire();
        if (fetch < tiles) {
            const int fs = fetch % STAGES;
            cuda::memcpy_async(&ta[fs][threadIdx.y][threadIdx.x], &A[r * K + fetch * T + threadIdx.x], sizeof(float), pipe);
            cuda::memcpy_async(&tb[fs][threadIdx.y][threadIdx.x], &B[(fetch * T + threadIdx.y) * N + c], sizeof(float), pipe);
        }
        pipe.producer_commit();
        pipe.consumer_wait();
        __syncthreads();
        const int cs = t % STAGES;
        for (int k = 0; k < T; ++k)
            acc += ta[cs][threadIdx.y][k] * tb[cs][k][threadIdx.x];
        pipe.consumer_release();
        __syncthreads();
    }
    C[r * N + c] = acc;
}

// The `__pipeline_*` primitives, with the stages walked by two wrapped
// counters (`ld = (ld + 1) % STAGES` for the one being filled, `use` for
// the one being multiplied) and the tile loop stepping by T over K.
__global__ void sgemm_primitives(int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_primitives layout=C:row,A:row,B:row
{
    __shared__ float ta[STAGES][T][T];
    __shared__ float tb[STAGES][T][T];
    const int r = blockIdx.y * T + threadIdx.y;
    const int c = blockIdx.x * T + threadIdx.x;
    for (int s = 0; s < STAGES - 1; ++s) {
        __pipeline_memcpy_async(&ta[s][threadIdx.y][threadIdx.x], &A[r * K + s * T + threadIdx.x], sizeof(float));
        __pipeline_memcpy_async(&tb[s][threadIdx.y][threadIdx.x], &B[(s * T + threadIdx.y) * N + c], sizeof(float));
        __pipeline_commit();
    }
    int ld = STAGES - 1;
    int use = 0;
    float acc = 0.0f;
    for (int kk = 0; kk < K; kk += T) {
        if (kk + (STAGES - 1) * T < K) {
            __pipeline_memcpy_async(&ta[ld][threadIdx.y][threadIdx.x], &A[r * K + kk + (STAGES - 1) * T + threadIdx.x], sizeof(float));
            __pipeline_memcpy_async(&tb[ld][threadIdx.y][threadIdx.x], &B[(kk + (STAGES - 1) * T + threadIdx.y) * N + c], sizeof(float));
        }
        __pipeline_commit();
        __pipeline_wait_prior(STAGES - 1);
        __syncthreads();
        for (int k = 0; k < T; ++k)
            acc += ta[use][threadIdx.y][k] * tb[use][k][threadIdx.x];
        __syncthreads();
        ld = (ld + 1) % STAGES;
        use = (use + 1) % STAGES;
    }
    C[r * N + c] = acc;
}

// Double buffering with plain stores: two tiles alternate (`buf ^= 1`),
// the next tile is stored into the other buffer before the current one is
// multiplied.
__global__ void sgemm_double_buffer(int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_double_buffer layout=C:row,A:row,B:row
{
    __shared__ float ta[2][T][T];
    __shared__ float tb[2][T][T];
    const int r = blockIdx.y * T + threadIdx.y;
    const int c = blockIdx.x * T + threadIdx.x;
    const int tiles = K / T;
    int buf = 0;
    ta[buf][threadIdx.y][threadIdx.x] = A[r * K + threadIdx.x];
    tb[buf][threadIdx.y][threadIdx.x] = B[threadIdx.y * N + c];
    __syncthreads();
    float acc = 0.0f;
    for (int t = 0; t < tiles; ++t) {
        if (t + 1 < tiles) {
            ta[buf ^ 1][threadIdx.y][threadIdx.x] = A[r * K + (t + 1) * T + threadIdx.x];
            tb[buf ^ 1][threadIdx.y][threadIdx.x] = B[((t + 1) * T + threadIdx.y) * N + c];
        }
        for (int k = 0; k < T; ++k)
            acc += ta[buf][threadIdx.y][k] * tb[buf][k][threadIdx.x];
        __syncthreads();
        buf ^= 1;
    }
    C[r * N + c] = acc;
}

// Two stages behind a `cuda::barrier`, the stage counter advanced and
// wrapped by hand (`++st; if (st == 2) st = 0;`), the next stage one past it.
__global__ void sgemm_barrier_stages(int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_barrier_stages layout=C:row,A:row,B:row
{
    __shared__ float ta[2][T][T];
    __shared__ float tb[2][T][T];
    __shared__ cuda::barrier<cuda::thread_scope_block> bar;
    if (threadIdx.x == 0 && threadIdx.y == 0)
        init(&bar, blockDim.x * blockDim.y);
    __syncthreads();
    const int r = blockIdx.y * T + threadIdx.y;
    const int c = blockIdx.x * T + threadIdx.x;
    const int tiles = K / T;
    cuda::memcpy_async(&ta[0][threadIdx.y][threadIdx.x], &A[r * K + threadIdx.x], sizeof(float), bar);
    cuda::memcpy_async(&tb[0][threadIdx.y][threadIdx.x], &B[threadIdx.y * N + c], sizeof(float), bar);
    int st = 0;
    float acc = 0.0f;
    for (int t = 0; t < tiles; ++t) {
        bar.arrive_and_wait();
        if (t + 1 < tiles) {
            cuda::memcpy_async(&ta[1 - st][threadIdx.y][threadIdx.x], &A[r * K + (t + 1) * T + threadIdx.x], sizeof(float), bar);
            cuda::memcpy_async(&tb[1 - st][threadIdx.y][threadIdx.x], &B[((t + 1) * T + threadIdx.y) * N + c], sizeof(float), bar);
        }
        for (int k = 0; k < T; ++k)
            acc += ta[st][threadIdx.y][k] * tb[st][k][threadIdx.x];
        ++st;
        if (st == 2)
            st = 0;
    }
    C[r * N + c] = acc;
}

// A separate fetch counter: an inner loop keeps fetching (`f` tiles so
// far, `aoff`/`boff` the offsets of tile `f`, advanced together) until it
// is STAGES - 1 tiles ahead of the tile the outer loop multiplies.
__global__ void sgemm_fetch_counter(int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_fetch_counter layout=C:row,A:row,B:row
{
    __shared__ float ta[STAGES][T][T];
    __shared__ float tb[STAGES][T][T];
    const int r = blockIdx.y * T + threadIdx.y;
    const int c = blockIdx.x * T + threadIdx.x;
    const int tiles = K / T;
    auto pipe = cuda::make_pipeline();
    int f = 0;
    int aoff = r * K;
    int boff = c;
    float acc = 0.0f;
    for (int t = 0; t < tiles; ++t) {
        for (; f < t + STAGES - 1 && f < tiles; ++f, aoff += T, boff += T * N) {
            const int s = f % STAGES;
            pipe.producer_acquire();
            cuda::memcpy_async(&ta[s][threadIdx.y][threadIdx.x], &A[aoff + threadIdx.x], sizeof(float), pipe);
            cuda::memcpy_async(&tb[s][threadIdx.y][threadIdx.x], &B[boff + threadIdx.y * N], sizeof(float), pipe);
            pipe.producer_commit();
        }
        pipe.consumer_wait();
        __syncthreads();
        const int s = t % STAGES;
        for (int k = 0; k < T; ++k)
            acc += ta[s][threadIdx.y][k] * tb[s][k][threadIdx.x];
        pipe.consumer_release();
        __syncthreads();
    }
    C[r * N + c] = acc;
}

// negative: a ring of stages that feeds a stencil, not a product: each
// stage holds one row block of the input and the output is the sum of a
// row and its neighbours (no multiply-accumulate of two operands).
__global__ void ring_stencil(int N, int rows, const float *in, float *out)
{
    __shared__ float ring[STAGES][T + 2];
    auto pipe = cuda::make_pipeline();
    for (int s = 0; s < STAGES - 1; ++s) {
        cuda::memcpy_async(&ring[s][threadIdx.x], &in[s * N + blockIdx.x * T + threadIdx.x], sizeof(float), pipe);
        pipe.producer_commit();
    }
    for (int y = 1; y < rows - 1; ++y) {
        const int fetch = y + STAGES - 1;
        if (fetch < rows)
            cuda::memcpy_async(&ring[fetch % STAGES][threadIdx.x], &in[fetch * N + blockIdx.x * T + threadIdx.x], sizeof(float), pipe);
        pipe.producer_commit();
        pipe.consumer_wait();
        __syncthreads();
        out[y * N + blockIdx.x * T + threadIdx.x] = 0.25f * ring[(y - 1) % STAGES][threadIdx.x] + 0.5f * ring[y % STAGES][threadIdx.x] + 0.25f * ring[(y + 1) % STAGES][threadIdx.x];
        pipe.consumer_release();
        __syncthreads();
    }
}

// negative: a two-stage copy through a ring, no arithmetic at all.
__global__ void ring_copy(int N, int tiles, const float *src, float *dst)
{
    __shared__ float ring[2][T];
    int buf = 0;
    ring[0][threadIdx.x] = src[threadIdx.x];
    for (int t = 0; t < tiles; ++t) {
        if (t + 1 < tiles)
            ring[buf ^ 1][threadIdx.x] = src[(t + 1) * T + threadIdx.x];
        __syncthreads();
        dst[t * T + threadIdx.x] = ring[buf][threadIdx.x];
        buf ^= 1;
    }
}

// negative: the loop multiplies the stage it has not filled yet. Tile
// t + 1 is fetched into stage (t + 1) % 2 *after* the product, which reads
// that stage too: at that point it still holds tile t - 1 (and nothing at
// all in the first iteration), so the sum is not A·B. A read is matched
// with a store of the same loop only when the store's fetch runs 0 to
// STAGES-1 tiles ahead (at least one when the store comes after the read).
__global__ void sgemm_reads_unfilled_stage(int N, int K, const float *A, const float *B, float *C)
{
    __shared__ float ta[2][T][T];
    __shared__ float tb[2][T][T];
    const int r = blockIdx.y * T + threadIdx.y;
    const int c = blockIdx.x * T + threadIdx.x;
    const int tiles = K / T;
    float acc = 0.0f;
    for (int t = 0; t < tiles; ++t) {
        for (int k = 0; k < T; ++k)
            acc += ta[(t + 1) % 2][threadIdx.y][k] * tb[(t + 1) % 2][k][threadIdx.x];
        __syncthreads();
        ta[(t + 1) % 2][threadIdx.y][threadIdx.x] = A[r * K + (t + 1) * T + threadIdx.x];
        tb[(t + 1) % 2][threadIdx.y][threadIdx.x] = B[((t + 1) * T + threadIdx.y) * N + c];
        __syncthreads();
    }
    C[r * N + c] = acc;
}
