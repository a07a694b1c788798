// Register-tiled SGEMM whose A tile goes through a per-thread staging
// array: each thread copies four consecutive floats of A into `stage`
// with one 128-bit load, then stores them one by one, transposed, into
// the shared tile (`sa` holds A's tile column-major), so that the inner
// loop reads both tiles along rows.
#include <cuda_runtime.h>

#define TBM 64
#define TBN 64
#define TBK 8
#define TTM 4
#define TTN 4
#define IDX(r, c, ld) ((r) * (ld) + (c))
#define AS_F4(p) (reinterpret_cast<float4 *>(&(p))[0])

__global__ void sgemm_staged(int M, int N, int K, float alpha, float *A, float *B, float beta, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_staged layout=C:row,A:row,B:row alpha=alpha beta=beta
{
    const int nthreads = (TBM / TTM) * (TBN / TTN);
    const int r0 = (threadIdx.x / (TBN / TTN)) * TTM;
    const int c0 = (threadIdx.x % (TBN / TTN)) * TTN;
    const int a_rows = nthreads / (TBK / 4);
    const int ar = threadIdx.x / (TBK / 4), ac = threadIdx.x % (TBK / 4) * 4;
    const int br = threadIdx.x / (TBN / 4), bc = threadIdx.x % (TBN / 4) * 4;
    __shared__ float sa[TBK * TBM];
    __shared__ float sb[TBK * TBN];
    float stage[4 * (TBM / a_rows)];
    float acc[TTM * TTN] = {0.0f};
    float fa[TTM], fb[TTN];

    A += blockIdx.y * TBM * K;
    B += blockIdx.x * TBN;
    C += blockIdx.y * TBM * N + blockIdx.x * TBN;
    for (int t = 0; t < K; t += TBK) {
        for (int s = 0; s < TBM; s += a_rows) {
            const int q = s / a_rows * 4;
            AS_F4(stage[q]) = AS_F4(A[IDX(ar + s, t + ac, K)]);
            sa[IDX(ac, ar + s, TBM)] = stage[q];
            sa[IDX(ac + 1, ar + s, TBM)] = stage[q + 1];
            sa[IDX(ac + 2, ar + s, TBM)] = stage[q + 2];
            sa[IDX(ac + 3, ar + s, TBM)] = stage[q + 3];
        }
        AS_F4(sb[IDX(br, bc, TBN)]) = AS_F4(B[IDX(t + br, bc, N)]);
        __syncthreads();
        for (int p = 0; p < TBK; ++p) {
            for (int u = 0; u < TTM; ++u)
                fa[u] = sa[IDX(p, r0 + u, TBM)];
            for (int v = 0; v < TTN; ++v)
                fb[v] = sb[IDX(p, c0 + v, TBN)];
            for (int u = 0; u < TTM; ++u)
                for (int v = 0; v < TTN; ++v)
                    acc[u * TTN + v] += fa[u] * fb[v];
        }
        __syncthreads();
    }
    for (int u = 0; u < TTM; ++u)
        for (int v = 0; v < TTN; ++v)
            C[IDX(r0 + u, c0 + v, N)] = alpha * acc[u * TTN + v] + beta * C[IDX(r0 + u, c0 + v, N)];
}

// negative: the same staging array and transposed shared store, but the
// tile is only copied out again (a blocked transpose): nothing multiplies.
__global__ void transpose_staged(int N, float *in, float *out)
{
    __shared__ float tile[32 * 33];
    float stage[4];
    const int r = threadIdx.x / 8, c = threadIdx.x % 8 * 4;
    AS_F4(stage[0]) = AS_F4(in[IDX(blockIdx.y * 32 + r, blockIdx.x * 32 + c, N)]);
    tile[IDX(c, r, 33)] = stage[0];
    tile[IDX(c + 1, r, 33)] = stage[1];
    tile[IDX(c + 2, r, 33)] = stage[2];
    tile[IDX(c + 3, r, 33)] = stage[3];
    __syncthreads();
    out[IDX(blockIdx.x * 32 + r, blockIdx.y * 32 + c, N)] = tile[IDX(r, c, 33)];
}

// negative: the staged A tile multiplied by itself (a tile of A against
// its own transpose read back from the same shared array): no B.
__global__ void staged_self_product(int K, float *A, float *G)
{
    __shared__ float sa[8 * 64];
    float stage[4];
    float acc = 0.0f;
    const int ar = threadIdx.x / 2, ac = threadIdx.x % 2 * 4;
    for (int t = 0; t < K; t += 8) {
        AS_F4(stage[0]) = AS_F4(A[IDX(blockIdx.x * 64 + ar, t + ac, K)]);
        sa[IDX(ac, ar, 64)] = stage[0];
        sa[IDX(ac + 1, ar, 64)] = stage[1];
        sa[IDX(ac + 2, ar, 64)] = stage[2];
        sa[IDX(ac + 3, ar, 64)] = stage[3];
        __syncthreads();
        for (int p = 0; p < 8; ++p)
            acc += sa[IDX(p, ar, 64)] * sa[IDX(p, ar, 64)];
        __syncthreads();
    }
    G[blockIdx.x * 64 + ar] = acc;
}
