// Register-tiled SGEMM whose per-thread block of C is a two-dimensional
// local array `acc[RM][RN]` (not flattened), fed from per-thread copies of
// one column of the A tile and one row of the B tile; the block is written
// back with alpha/beta after the tile loop.
#include <cuda_runtime.h>

#define BM2 64
#define BN2 64
#define BK2 8
#define RM 4
#define RN 4

__global__ void sgemm_reg2d(int M, int N, int K, float alpha, const float *A, const float *B, float beta, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_reg2d layout=C:row,A:row,B:row alpha=alpha beta=beta
{
    const int threads_x = BN2 / RN;
    const int r0 = (threadIdx.x / threads_x) * RM;
    const int c0 = (threadIdx.x % threads_x) * RN;
    const int la_r = threadIdx.x / BK2, la_c = threadIdx.x % BK2;
    const int lb_r = threadIdx.x / BN2, lb_c = threadIdx.x % BN2;
    __shared__ float sa[BM2 * BK2];
    __shared__ float sb[BK2 * BN2];
    float acc[RM][RN] = {{0.0f}};
    float fa[RM], fb[RN];

    const float *a = A + blockIdx.y * BM2 * K;
    const float *b = B + blockIdx.x * BN2;
    float *c = C + blockIdx.y * BM2 * N + blockIdx.x * BN2;
    for (int t = 0; t < K; t += BK2) {
        for (int s = 0; s < BM2; s += 32)
            sa[(la_r + s) * BK2 + la_c] = a[(la_r + s) * K + t + la_c];
        for (int s = 0; s < BK2; s += 4)
            sb[(lb_r + s) * BN2 + lb_c] = b[(t + lb_r + s) * N + lb_c];
        __syncthreads();
        for (int p = 0; p < BK2; ++p) {
            for (int u = 0; u < RM; ++u)
                fa[u] = sa[(r0 + u) * BK2 + p];
            for (int v = 0; v < RN; ++v)
                fb[v] = sb[p * BN2 + c0 + v];
            for (int u = 0; u < RM; ++u)
                for (int v = 0; v < RN; ++v)
                    acc[u][v] += fa[u] * fb[v];
        }
        __syncthreads();
    }
    for (int u = 0; u < RM; ++u)
        for (int v = 0; v < RN; ++v)
            c[(r0 + u) * N + c0 + v] = alpha * acc[u][v] + beta * c[(r0 + u) * N + c0 + v];
}

// negative: a two-dimensional register array that is a stencil window
// (a 3x3 neighbourhood read out of a shared tile); the output is a
// weighted sum of neighbours with constant weights, no second array.
__global__ void smooth_window(int W, const float *in, float *out)
{
    __shared__ float tile[18][18];
    const int x = blockIdx.x * 16 + threadIdx.x, y = blockIdx.y * 16 + threadIdx.y;
    tile[threadIdx.y + 1][threadIdx.x + 1] = in[(y + 1) * W + x + 1];
    __syncthreads();
    float win[3][3];
    for (int dy = 0; dy < 3; ++dy)
        for (int dx = 0; dx < 3; ++dx)
            win[dy][dx] = tile[threadIdx.y + dy][threadIdx.x + dx];
    float s = 0.0f;
    for (int dy = 0; dy < 3; ++dy)
        for (int dx = 0; dx < 3; ++dx)
            s += 0.25f * win[dy][dx];
    out[y * W + x] = s - 1.25f * win[1][1];
}

// negative: the same two-dimensional accumulator, but each thread sums
// elementwise products of its A tile rows with themselves (squares), never
// reading B.
__global__ void row_energy_2d(int K, const float *A, float *E)
{
    __shared__ float sa[64 * 8];
    float acc[4][4] = {{0.0f}};
    const int r0 = (threadIdx.x / 16) * 4;
    for (int t = 0; t < K; t += 8) {
        sa[threadIdx.x] = A[blockIdx.x * 64 * K + (threadIdx.x / 8) * K + t + threadIdx.x % 8];
        __syncthreads();
        for (int p = 0; p < 8; ++p)
            for (int u = 0; u < 4; ++u)
                for (int v = 0; v < 4; ++v)
                    acc[u][v] += sa[(r0 + u) * 8 + p] * sa[(r0 + u) * 8 + p];
        __syncthreads();
    }
    for (int u = 0; u < 4; ++u)
        for (int v = 0; v < 4; ++v)
            E[(blockIdx.x * 64 + r0 + u) * 4 + v] = acc[u][v];
}
