// Double-buffered register-tiled SGEMM written as a software pipeline:
// the first tile is loaded before the loop; each trip of a do-while
// advances the tile offset first, fetches the next tile into registers
// under `if (t < K)` while it multiplies the current buffer, stores the
// registers into the other buffer under the same guard (flipping the
// buffer index there), and multiplies the last step of the tile after
// the inner loop, whose fragments are double-buffered too.
#include <cuda_runtime.h>

#define DBM 64
#define DBN 64
#define DBK 8
#define DTM 4
#define DTN 4
#define AT(r, c, ld) ((r) * (ld) + (c))
#define V4(p) (reinterpret_cast<float4 *>(&(p))[0])

__global__ void sgemm_pipelined(int M, int N, int K, float *A, float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_pipelined layout=C:row,A:row,B:row
{
    const int r0 = (threadIdx.x / (DBN / DTN)) * DTM;
    const int c0 = (threadIdx.x % (DBN / DTN)) * DTN;
    const int ar = threadIdx.x / (DBK / 4), ac = threadIdx.x % (DBK / 4) * 4;
    const int br = threadIdx.x / (DBN / 4), bc = threadIdx.x % (DBN / 4) * 4;
    __shared__ float sa[2][DBK * DBM];
    __shared__ float sb[2][DBK * DBN];
    float acc[DTM][DTN] = {{0.0f}};
    float ra[4], rb[4];
    float fa[2][DTM], fb[2][DTN];

    A += blockIdx.y * DBM * K;
    B += blockIdx.x * DBN;
    C += blockIdx.y * DBM * N + blockIdx.x * DBN;

    V4(ra[0]) = V4(A[AT(ar, ac, K)]);
    sa[0][AT(ac, ar, DBM)] = ra[0];
    sa[0][AT(ac + 1, ar, DBM)] = ra[1];
    sa[0][AT(ac + 2, ar, DBM)] = ra[2];
    sa[0][AT(ac + 3, ar, DBM)] = ra[3];
    V4(sb[0][AT(br, bc, DBN)]) = V4(B[AT(br, bc, N)]);
    __syncthreads();
    for (int u = 0; u < DTM; u += 4)
        V4(fa[0][u]) = V4(sa[0][AT(0, r0 + u, DBM)]);
    for (int v = 0; v < DTN; v += 4)
        V4(fb[0][v]) = V4(sb[0][AT(0, c0 + v, DBN)]);

    int buf = 1;
    int t = 0;
    do {
        t += DBK;
        if (t < K) {
            V4(ra[0]) = V4(A[AT(ar, t + ac, K)]);
            V4(rb[0]) = V4(B[AT(t + br, bc, N)]);
        }
        const int cur = buf ^ 1;
        for (int p = 0; p < DBK - 1; ++p) {
            for (int u = 0; u < DTM; u += 4)
                V4(fa[(p + 1) % 2][u]) = V4(sa[cur][AT(p + 1, r0 + u, DBM)]);
            for (int v = 0; v < DTN; v += 4)
                V4(fb[(p + 1) % 2][v]) = V4(sb[cur][AT(p + 1, c0 + v, DBN)]);
            for (int u = 0; u < DTM; ++u)
                for (int v = 0; v < DTN; ++v)
                    acc[u][v] += fa[p % 2][u] * fb[p % 2][v];
        }
        if (t < K) {
            sa[buf][AT(ac, ar, DBM)] = ra[0];
            sa[buf][AT(ac + 1, ar, DBM)] = ra[1];
            sa[buf][AT(ac + 2, ar, DBM)] = ra[2];
            sa[buf][AT(ac + 3, ar, DBM)] = ra[3];
            V4(sb[buf][AT(br, bc, DBN)]) = V4(rb[0]);
            __syncthreads();
            for (int u = 0; u < DTM; u += 4)
                V4(fa[0][u]) = V4(sa[buf][AT(0, r0 + u, DBM)]);
            for (int v = 0; v < DTN; v += 4)
                V4(fb[0][v]) = V4(sb[buf][AT(0, c0 + v, DBN)]);
            buf ^= 1;
        }
        for (int u = 0; u < DTM; ++u)
            for (int v = 0; v < DTN; ++v)
                acc[u][v] += fa[(DBK - 1) % 2][u] * fb[(DBK - 1) % 2][v];
    } while (t < K);

    for (int u = 0; u < DTM; ++u)
        for (int v = 0; v < DTN; ++v)
            C[AT(r0 + u, c0 + v, N)] = acc[u][v];
}

// negative: the same pipeline, but the buffer index is read after the
// guarded flip (the last trip would see the other buffer), and each step
// takes the larger of the two tiles' values: no product.
__global__ void tile_max_pipelined(int N, int K, float *A, float *B, float *C)
{
    __shared__ float sa[2][256];
    __shared__ float sb[2][256];
    float best = -1e30f;
    float ra, rb;
    sa[0][threadIdx.x] = A[blockIdx.x * K + threadIdx.x];
    sb[0][threadIdx.x] = B[threadIdx.x * N + blockIdx.y];
    __syncthreads();
    int buf = 1;
    int t = 0;
    do {
        t += 256;
        if (t < K) {
            ra = A[blockIdx.x * K + t + threadIdx.x];
            rb = B[(t + threadIdx.x) * N + blockIdx.y];
        }
        for (int p = 0; p < 256; ++p)
            best = fmaxf(best, sa[buf ^ 1][p] + sb[buf ^ 1][p]);
        if (t < K) {
            sa[buf][threadIdx.x] = ra;
            sb[buf][threadIdx.x] = rb;
            __syncthreads();
            buf ^= 1;
        }
        best += sa[buf][0];
    } while (t < K);
    C[blockIdx.x * N + blockIdx.y] = best;
}

// negative: a do-while whose counter is bumped in the middle of the trip
// (neither first nor last): not a counted tile loop; the kernel sums
// elementwise products of two rows, one output per block (a dot product).
__global__ void dot_do_while(int K, const float *x, const float *y, float *out)
{
    __shared__ float sx[128], sy[128];
    float s = 0.0f;
    int t = 0;
    do {
        sx[threadIdx.x] = x[t + threadIdx.x];
        t += 128;
        sy[threadIdx.x] = y[t - 128 + threadIdx.x];
        __syncthreads();
        for (int p = 0; p < 128; ++p)
            s += sx[p] * sy[p];
        __syncthreads();
    } while (t < K);
    if (threadIdx.x == 0)
        out[blockIdx.x] = s;
}
