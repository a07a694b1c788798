// A tiled SGEMM written as two device helpers in a namespace, called with
// template arguments (`tile::load<...>(...)`, `tile::multiply<...>(...)`).
// The block's threads are grouped into warps (`warp = threadIdx.x / WARP`,
// `lane = threadIdx.x % WARP`); the warp index is split again into the
// warp's row and column in the block tile (`warp / (BN / WN)`,
// `warp % (BN / WN)`), and the lane into the thread's row and column in
// the warp tile (`lane / (WN / TN)`, `lane % (WN / TN)`). Each thread
// accumulates TM × TN outputs in registers. Read through the helpers and
// the splits, it is C = A·B.
#include <cuda_runtime.h>

#define WARP 32

namespace tile {
template <int BM, int BN, int BK, int SA, int SB>
__device__ void load(int N, int K, const float *A, const float *B, float *as, float *bs,
                     int ar, int ac, int br, int bc)
{
    for (int off = 0; off < BM; off += SA)
        as[ac * BM + ar + off] = A[(ar + off) * K + ac];
    for (int off = 0; off < BK; off += SB)
        bs[(br + off) * BN + bc] = B[(br + off) * N + bc];
}

template <int BM, int BN, int BK, int WM, int WN, int TM, int TN>
__device__ void multiply(float *acc, float *ra, float *rb, const float *as, const float *bs,
                         int wr, int wc, int tr, int tc)
{
    for (int k = 0; k < BK; ++k) {
        for (int m = 0; m < TM; ++m)
            ra[m] = as[k * BM + wr * WM + tr * TM + m];
        for (int n = 0; n < TN; ++n)
            rb[n] = bs[k * BN + wc * WN + tc * TN + n];
        for (int m = 0; m < TM; ++m)
            for (int n = 0; n < TN; ++n)
                acc[m * TN + n] += ra[m] * rb[n];
    }
}

// Adds the tiles instead of multiplying them (used by the negative below).
template <int BM, int BN, int BK, int WM, int WN, int TM, int TN>
__device__ void accumulate_sum(float *acc, float *ra, float *rb, const float *as, const float *bs,
                               int wr, int wc, int tr, int tc)
{
    for (int k = 0; k < BK; ++k) {
        for (int m = 0; m < TM; ++m)
            ra[m] = as[k * BM + wr * WM + tr * TM + m];
        for (int n = 0; n < TN; ++n)
            rb[n] = bs[k * BN + wc * WN + tc * TN + n];
        for (int m = 0; m < TM; ++m)
            for (int n = 0; n < TN; ++n)
                acc[m * TN + n] += ra[m] + rb[n];
    }
}
} // namespace tile

template <int BM, int BN, int BK, int WM, int WN, int TM, int TN, int THREADS>
__global__ void sgemm_warp_split(int M, int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_warp_split layout=C:row,A:row,B:row
{
    const int warp = threadIdx.x / WARP;
    const int wr = warp / (BN / WN);
    const int wc = warp % (BN / WN);
    const int lane = threadIdx.x % WARP;
    const int tr = lane / (WN / TN);
    const int tc = lane % (WN / TN);
    const int ar = threadIdx.x / BK;
    const int ac = threadIdx.x % BK;
    const int br = threadIdx.x / BN;
    const int bc = threadIdx.x % BN;
    constexpr int SA = THREADS / BK;
    constexpr int SB = THREADS / BN;
    __shared__ float as[BK * BM];
    __shared__ float bs[BK * BN];
    float acc[TM * TN] = {0.0f};
    float ra[TM];
    float rb[TN];
    A += blockIdx.y * BM * K;
    B += blockIdx.x * BN;
    C += (blockIdx.y * BM + wr * WM) * N + blockIdx.x * BN + wc * WN;
    for (int kb = 0; kb < K; kb += BK) {
        tile::load<BM, BN, BK, SA, SB>(N, K, A, B, as, bs, ar, ac, br, bc);
        __syncthreads();
        tile::multiply<BM, BN, BK, WM, WN, TM, TN>(acc, ra, rb, as, bs, wr, wc, tr, tc);
        __syncthreads();
        A += BK;
        B += BK * N;
    }
    for (int m = 0; m < TM; ++m)
        for (int n = 0; n < TN; ++n)
            C[(tr * TM + m) * N + tc * TN + n] = acc[m * TN + n];
}

// negative: the same kernel calling the namespaced helper that adds the
// tiles (`ra[m] + rb[n]`): no product, no GEMM.
template <int BM, int BN, int BK, int WM, int WN, int TM, int TN, int THREADS>
__global__ void warp_split_sum(int M, int N, int K, const float *A, const float *B, float *C)
{
    const int warp = threadIdx.x / WARP;
    const int wr = warp / (BN / WN);
    const int wc = warp % (BN / WN);
    const int lane = threadIdx.x % WARP;
    const int tr = lane / (WN / TN);
    const int tc = lane % (WN / TN);
    const int ar = threadIdx.x / BK;
    const int ac = threadIdx.x % BK;
    const int br = threadIdx.x / BN;
    const int bc = threadIdx.x % BN;
    constexpr int SA = THREADS / BK;
    constexpr int SB = THREADS / BN;
    __shared__ float as[BK * BM];
    __shared__ float bs[BK * BN];
    float acc[TM * TN] = {0.0f};
    float ra[TM];
    float rb[TN];
    A += blockIdx.y * BM * K;
    B += blockIdx.x * BN;
    C += (blockIdx.y * BM + wr * WM) * N + blockIdx.x * BN + wc * WN;
    for (int kb = 0; kb < K; kb += BK) {
        tile::load<BM, BN, BK, SA, SB>(N, K, A, B, as, bs, ar, ac, br, bc);
        __syncthreads();
        tile::accumulate_sum<BM, BN, BK, WM, WN, TM, TN>(acc, ra, rb, as, bs, wr, wc, tr, tc);
        __syncthreads();
        A += BK;
        B += BK * N;
    }
    for (int m = 0; m < TM; ++m)
        for (int n = 0; n < TN; ++n)
            C[(tr * TM + m) * N + tc * TN + n] = acc[m * TN + n];
}

// negative: the warp's row index passed for its column too (`wr, wr`):
// B is read at the warp row's columns while C is written at the warp
// column's (`wc`), so the outputs of one warp column do not depend on it;
// not A·B as written.
template <int BM, int BN, int BK, int WM, int WN, int TM, int TN, int THREADS>
__global__ void warp_split_wrong_digit(int M, int N, int K, const float *A, const float *B, float *C)
{
    const int warp = threadIdx.x / WARP;
    const int wr = warp / (BN / WN);
    const int wc = warp % (BN / WN);
    const int lane = threadIdx.x % WARP;
    const int tr = lane / (WN / TN);
    const int tc = lane % (WN / TN);
    const int ar = threadIdx.x / BK;
    const int ac = threadIdx.x % BK;
    const int br = threadIdx.x / BN;
    const int bc = threadIdx.x % BN;
    constexpr int SA = THREADS / BK;
    constexpr int SB = THREADS / BN;
    __shared__ float as[BK * BM];
    __shared__ float bs[BK * BN];
    float acc[TM * TN] = {0.0f};
    float ra[TM];
    float rb[TN];
    A += blockIdx.y * BM * K;
    B += blockIdx.x * BN;
    C += (blockIdx.y * BM + wr * WM) * N + blockIdx.x * BN + wc * WN;
    for (int kb = 0; kb < K; kb += BK) {
        tile::load<BM, BN, BK, SA, SB>(N, K, A, B, as, bs, ar, ac, br, bc);
        __syncthreads();
        tile::multiply<BM, BN, BK, WM, WN, TM, TN>(acc, ra, rb, as, bs, wr, wr, tr, tc);
        __syncthreads();
        A += BK;
        B += BK * N;
    }
    for (int m = 0; m < TM; ++m)
        for (int n = 0; n < TN; ++n)
            C[(tr * TM + m) * N + tc * TN + n] = acc[m * TN + n];
}
