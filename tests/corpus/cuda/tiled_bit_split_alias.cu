// Column-major SGEMMs on one-dimensional thread blocks whose thread index
// is first copied into a local and then split with bit operations
// (`t & 31` for the row, `t >> 5` for the column), the operand pointers
// moved to the block's corner through accessor macros, and the tiles flat
// shared arrays indexed with shifts. The second kernel keeps a 4x4 block
// of C per thread in float4 registers updated by statement macros called
// without `;`. Near miss: a transpose through the same split.
#include <cuda_runtime.h>

#define AM(i, j) A[(i) + (j) * lda]
#define BM(i, j) B[(i) + (j) * ldb]
#define CM(i, j) C[(i) + (j) * ldc]
#define TA(i, j) ta[((j) << 5) + (i)]
#define TB(i, j) tb[((j) << 5) + (i)]

__global__ void sgemm_shift_split(int M, int N, int K, float alpha, const float *A, const float *B, float beta, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_shift_split alpha=alpha beta=beta
{
    int lda = M, ldb = K, ldc = M;
    int t = threadIdx.x;
    int gx = blockIdx.x, gy = blockIdx.y;
    int r = t & 31, c = t >> 5;
    A = &AM(gx << 5, 0);
    B = &BM(0, gy << 5);
    C = &CM(gx << 5, gy << 5);
    __shared__ float ta[32 * 32];
    __shared__ float tb[32 * 32];
    float acc = 0.0f;
    for (int kt = 0; kt < K; kt += 32) {
        TA(r, c) = AM(r, c);
        TB(r, c) = BM(r, c);
        A += lda << 5;
        B += 32;
        __syncthreads();
        for (int q = 0; q < 32; q++)
            acc += TA(r, q) * TB(q, c);
        __syncthreads();
    }
    CM(r, c) = alpha * acc + beta * CM(r, c);
}

#define AXPY4(acc, v, s) \
    acc.x += v.x * s;    \
    acc.y += v.y * s;    \
    acc.z += v.z * s;    \
    acc.w += v.w * s;
#define LOAD4(v, p) v = *((const float4 *)(p));

#define SA(i, j) sa[((j) << 6) + (i)]
#define SB(i, j) sb[((j) << 6) + (i)]

__global__ void sgemm_float4_macros(int M, int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_float4_macros
{
    int lda = M, ldb = K, ldc = M;
    int t = threadIdx.x;
    int row = (t & 15) << 2, col = t >> 4;
    int cc = col << 2;
    A = &AM(blockIdx.x << 6, 0);
    B = &BM(0, blockIdx.y << 6);
    C = &CM(blockIdx.x << 6, blockIdx.y << 6);
    __shared__ float sa[64 * 16];
    __shared__ float sb[16 * 64];
    float4 av, bv, res[4];
    for (int s = 0; s < 4; s++)
        res[s] = make_float4(0.f, 0.f, 0.f, 0.f);
    for (int kt = 0; kt < K; kt += 16) {
        for (int u = 0; u < 4; u++) {
            SA(row + u, col) = AM(row + u, col);
            SB(row + u, col) = BM(col, row + u);
        }
        A += lda << 4;
        B += 16;
        __syncthreads();
        for (int q = 0; q < 16; q++) {
            LOAD4(av, &SA(row, q))
            LOAD4(bv, &SB(cc, q))
            AXPY4(res[0], av, bv.x)
            AXPY4(res[1], av, bv.y)
            AXPY4(res[2], av, bv.z)
            AXPY4(res[3], av, bv.w)
        }
        __syncthreads();
    }
    for (int s = 0; s < 4; s++) {
        CM(row, cc + s) = res[s].x;
        CM(row + 1, cc + s) = res[s].y;
        CM(row + 2, cc + s) = res[s].z;
        CM(row + 3, cc + s) = res[s].w;
    }
}

// Near miss: the same aliased bit split moving a 32x32 tile to its
// transposed place, no reduction.
__global__ void transpose_shift_split(int M, int N, const float *A, float *B)
{
    int lda = M, ldb = N;
    int t = threadIdx.x;
    int r = t & 31, c = t >> 5;
    __shared__ float ta[32 * 32];
    A = &AM(blockIdx.x << 5, blockIdx.y << 5);
    B = &BM(blockIdx.y << 5, blockIdx.x << 5);
    TA(r, c) = AM(r, c);
    __syncthreads();
    BM(r, c) = TA(c, r);
}
