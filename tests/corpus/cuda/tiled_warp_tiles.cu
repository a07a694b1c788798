// A tiled SGEMM whose threads each compute several register tiles spread
// over the block tile (warp tiles): the 64 threads form an 8×8 grid
// (`tr`, `tc`, one thread index split by `/` and `%`), and each thread
// accumulates WMIT × WNIT blocks of TM × TN outputs, `WM` rows and `WN`
// columns apart, into one flat register array indexed in mixed radix
// (`(wm*TM + m)*(WNIT*TN) + wn*TN + n`). The write-out loop reads that
// array back with the same radix; the tiles are flat, A's transposed.
#include <cuda_runtime.h>

#define BM 64
#define BN 64
#define BK 8
#define TM 4
#define TN 4
#define WM 32
#define WN 32
#define THREADS 64

__global__ void sgemm_warp_tiles(int M, int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_warp_tiles layout=C:row,A:row,B:row
{
    constexpr int WMIT = BM / WM;
    constexpr int WNIT = BN / WN;
    __shared__ float as[BK * BM];
    __shared__ float bs[BK * BN];
    const int tr = threadIdx.x / (WN / TN);
    const int tc = threadIdx.x % (WN / TN);
    const int ar = threadIdx.x / BK;
    const int ac = threadIdx.x % BK;
    const int br = threadIdx.x / BN;
    const int bc = threadIdx.x % BN;
    float acc[WMIT * TM * WNIT * TN] = {0.0f};
    float ra[TM];
    float rb[TN];
    A += blockIdx.y * BM * K;
    B += blockIdx.x * BN;
    C += blockIdx.y * BM * N + blockIdx.x * BN;
    for (int kb = 0; kb < K; kb += BK) {
        for (int off = 0; off < BM; off += THREADS / BK)
            as[ac * BM + ar + off] = A[(ar + off) * K + ac];
        for (int off = 0; off < BK; off += THREADS / BN)
            bs[(br + off) * BN + bc] = B[(br + off) * N + bc];
        __syncthreads();
        for (int k = 0; k < BK; ++k) {
            for (int wm = 0; wm < WMIT; ++wm) {
                for (int wn = 0; wn < WNIT; ++wn) {
                    for (int m = 0; m < TM; ++m)
                        ra[m] = as[k * BM + wm * WM + tr * TM + m];
                    for (int n = 0; n < TN; ++n)
                        rb[n] = bs[k * BN + wn * WN + tc * TN + n];
                    for (int m = 0; m < TM; ++m)
                        for (int n = 0; n < TN; ++n)
                            acc[(wm * TM + m) * (WNIT * TN) + wn * TN + n] += ra[m] * rb[n];
                }
            }
        }
        __syncthreads();
        A += BK;
        B += BK * N;
    }
    for (int wm = 0; wm < WMIT; ++wm)
        for (int wn = 0; wn < WNIT; ++wn)
            for (int m = 0; m < TM; ++m)
                for (int n = 0; n < TN; ++n)
                    C[(wm * WM + tr * TM + m) * N + wn * WN + tc * TN + n] = acc[(wm * TM + m) * (WNIT * TN) + wn * TN + n];
}

// negative: the write-out reads the register array without the warp
// tile's column digit (`(wm*TM + m)*(WNIT*TN) + n`): every column block
// `wn` of C gets the sums of block 0, which is not A·B.
__global__ void warp_tiles_dropped_digit(int M, int N, int K, const float *A, const float *B, float *C)
{
    constexpr int WMIT = BM / WM;
    constexpr int WNIT = BN / WN;
    __shared__ float as[BK * BM];
    __shared__ float bs[BK * BN];
    const int tr = threadIdx.x / (WN / TN);
    const int tc = threadIdx.x % (WN / TN);
    const int ar = threadIdx.x / BK;
    const int ac = threadIdx.x % BK;
    const int br = threadIdx.x / BN;
    const int bc = threadIdx.x % BN;
    float acc[WMIT * TM * WNIT * TN] = {0.0f};
    float ra[TM];
    float rb[TN];
    A += blockIdx.y * BM * K;
    B += blockIdx.x * BN;
    C += blockIdx.y * BM * N + blockIdx.x * BN;
    for (int kb = 0; kb < K; kb += BK) {
        for (int off = 0; off < BM; off += THREADS / BK)
            as[ac * BM + ar + off] = A[(ar + off) * K + ac];
        for (int off = 0; off < BK; off += THREADS / BN)
            bs[(br + off) * BN + bc] = B[(br + off) * N + bc];
        __syncthreads();
        for (int k = 0; k < BK; ++k) {
            for (int wm = 0; wm < WMIT; ++wm) {
                for (int wn = 0; wn < WNIT; ++wn) {
                    for (int m = 0; m < TM; ++m)
                        ra[m] = as[k * BM + wm * WM + tr * TM + m];
                    for (int n = 0; n < TN; ++n)
                        rb[n] = bs[k * BN + wn * WN + tc * TN + n];
                    for (int m = 0; m < TM; ++m)
                        for (int n = 0; n < TN; ++n)
                            acc[(wm * TM + m) * (WNIT * TN) + wn * TN + n] += ra[m] * rb[n];
                }
            }
        }
        __syncthreads();
        A += BK;
        B += BK * N;
    }
    for (int wm = 0; wm < WMIT; ++wm)
        for (int wn = 0; wn < WNIT; ++wn)
            for (int m = 0; m < TM; ++m)
                for (int n = 0; n < TN; ++n)
                    C[(wm * WM + tr * TM + m) * N + wn * WN + tc * TN + n] = acc[(wm * TM + m) * (WNIT * TN) + n];
}
