// A register block unrolled by hand: each thread of a one-dimensional
// block owns four consecutive rows of a 32x32 tile of C, held in a local
// array subscripted only by constants (`acc[0]` ... `acc[3]`), with the
// four row offsets named one by one and the thread index split by a mask
// and a shift. Row-major operands. Near miss: the same unrolled register
// array scaling a tile elementwise (no reduction).
#include <cuda_runtime.h>

#define T 32

__global__ void sgemm_unrolled_rows(int M, int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_unrolled_rows
{
    int lane = threadIdx.x;
    int r0 = (lane & 7) << 2, r1 = r0 + 1, r2 = r0 + 2, r3 = r0 + 3;
    int c = lane >> 3;
    __shared__ float ta[T * T];
    __shared__ float tb[T * T];
    A += blockIdx.y * T * K;
    B += blockIdx.x * T;
    C += blockIdx.y * T * N + blockIdx.x * T;
    float acc[4] = {0.f, 0.f, 0.f, 0.f};
    for (int kt = 0; kt < K; kt += T) {
        ta[r0 * T + c] = A[r0 * K + c];
        ta[r1 * T + c] = A[r1 * K + c];
        ta[r2 * T + c] = A[r2 * K + c];
        ta[r3 * T + c] = A[r3 * K + c];
        tb[r0 * T + c] = B[r0 * N + c];
        tb[r1 * T + c] = B[r1 * N + c];
        tb[r2 * T + c] = B[r2 * N + c];
        tb[r3 * T + c] = B[r3 * N + c];
        A += T;
        B += T * N;
        __syncthreads();
        for (int q = 0; q < T; q++) {
            float b = tb[q * T + c];
            acc[0] += ta[r0 * T + q] * b;
            acc[1] += ta[r1 * T + q] * b;
            acc[2] += ta[r2 * T + q] * b;
            acc[3] += ta[r3 * T + q] * b;
        }
        __syncthreads();
    }
    C[r0 * N + c] = acc[0];
    C[r1 * N + c] = acc[1];
    C[r2 * N + c] = acc[2];
    C[r3 * N + c] = acc[3];
}

// Near miss: four rows per thread scaled by a per-column factor, the
// same unrolled register array, no sum over a shared index.
__global__ void scale_unrolled_rows(int N, const float *X, const float *s, float *Y)
{
    int lane = threadIdx.x;
    int r0 = (lane & 7) << 2, r1 = r0 + 1, r2 = r0 + 2, r3 = r0 + 3;
    int c = lane >> 3;
    X += blockIdx.y * T * N + blockIdx.x * T;
    Y += blockIdx.y * T * N + blockIdx.x * T;
    float v[4];
    v[0] = X[r0 * N + c] * s[c];
    v[1] = X[r1 * N + c] * s[c];
    v[2] = X[r2 * N + c] * s[c];
    v[3] = X[r3 * N + c] * s[c];
    Y[r0 * N + c] = v[0];
    Y[r1 * N + c] = v[1];
    Y[r2 * N + c] = v[2];
    Y[r3 * N + c] = v[3];
}
