// Register-tiled SGEMM with 128-bit vector memory traffic: each thread
// reads four consecutive floats of A and of B at once through a `float4`
// view of the pointer, scatters A's lanes transposed into the shared tile
// (one store per lane) and copies B's vector into the shared tile whole;
// the epilogue reads four elements of C, updates the lanes and writes the
// vector back. The lanes are the same index polynomials as the scalar
// kernel's, four columns apart.
#include <cuda_runtime.h>

#define VBM 64
#define VBN 64
#define VBK 8
#define VTM 4
#define VTN 4

__global__ void sgemm_float4(int M, int N, int K, float alpha, const float *A, const float *B, float beta, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_float4 layout=C:row,A:row,B:row alpha=alpha beta=beta
{
    const int by = blockIdx.y, bx = blockIdx.x;
    const int trow = threadIdx.x / (VBN / VTN);
    const int tcol = threadIdx.x % (VBN / VTN);
    const int arow = threadIdx.x / (VBK / 4), acol = threadIdx.x % (VBK / 4);
    const int brow = threadIdx.x / (VBN / 4), bcol = threadIdx.x % (VBN / 4);
    __shared__ float sA[VBK * VBM];
    __shared__ float sB[VBK * VBN];
    float acc[VTM * VTN] = {0.0f};
    float ra[VTM], rb[VTN];

    A += by * VBM * K;
    B += bx * VBN;
    C += by * VBM * N + bx * VBN;
    for (int t = 0; t < K; t += VBK) {
        float4 va = reinterpret_cast<const float4 *>(&A[arow * K + acol * 4])[0];
        sA[(acol * 4 + 0) * VBM + arow] = va.x;
        sA[(acol * 4 + 1) * VBM + arow] = va.y;
        sA[(acol * 4 + 2) * VBM + arow] = va.z;
        sA[(acol * 4 + 3) * VBM + arow] = va.w;
        reinterpret_cast<float4 *>(&sB[brow * VBN + bcol * 4])[0] =
            reinterpret_cast<const float4 *>(&B[brow * N + bcol * 4])[0];
        __syncthreads();
        A += VBK;
        B += VBK * N;
        for (int d = 0; d < VBK; ++d) {
            for (int i = 0; i < VTM; ++i)
                ra[i] = sA[d * VBM + trow * VTM + i];
            for (int j = 0; j < VTN; ++j)
                rb[j] = sB[d * VBN + tcol * VTN + j];
            for (int i = 0; i < VTM; ++i)
                for (int j = 0; j < VTN; ++j)
                    acc[i * VTN + j] += ra[i] * rb[j];
        }
        __syncthreads();
    }
    for (int i = 0; i < VTM; ++i) {
        for (int j = 0; j < VTN; j += 4) {
            float4 vc = reinterpret_cast<float4 *>(&C[(trow * VTM + i) * N + tcol * VTN + j])[0];
            vc.x = alpha * acc[i * VTN + j] + beta * vc.x;
            vc.y = alpha * acc[i * VTN + j + 1] + beta * vc.y;
            vc.z = alpha * acc[i * VTN + j + 2] + beta * vc.z;
            vc.w = alpha * acc[i * VTN + j + 3] + beta * vc.w;
            reinterpret_cast<float4 *>(&C[(trow * VTM + i) * N + tcol * VTN + j])[0] = vc;
        }
    }
}

// The same loads through one reused vector register: A's lanes and then
// B's lanes pass through `v` (both tiles stored lane by lane), and the
// result is written with a plain scalar store.
__global__ void sgemm_float4_reused(int N, int K, const float *A, const float *B, float *C)   // expect: GS103 routine=gemm dtype=f32 order=tiled function=sgemm_float4_reused layout=C:row,A:row,B:row
{
    const int by = blockIdx.y, bx = blockIdx.x;
    const int trow = threadIdx.x / 16, tcol = threadIdx.x % 16;
    const int lr = threadIdx.x / 4, lc = threadIdx.x % 4;
    __shared__ float sA[16 * 16];
    __shared__ float sB[16 * 16];
    float acc = 0.0f;
    for (int t = 0; t < K; t += 16) {
        float4 v = reinterpret_cast<const float4 *>(&A[(by * 16 + lr) * K + t + lc * 4])[0];
        sA[lr * 16 + lc * 4 + 0] = v.x;
        sA[lr * 16 + lc * 4 + 1] = v.y;
        sA[lr * 16 + lc * 4 + 2] = v.z;
        sA[lr * 16 + lc * 4 + 3] = v.w;
        v = reinterpret_cast<const float4 *>(&B[(t + lr) * N + bx * 16 + lc * 4])[0];
        sB[lr * 16 + lc * 4 + 0] = v.x;
        sB[lr * 16 + lc * 4 + 1] = v.y;
        sB[lr * 16 + lc * 4 + 2] = v.z;
        sB[lr * 16 + lc * 4 + 3] = v.w;
        __syncthreads();
        for (int d = 0; d < 16; ++d)
            acc += sA[trow * 16 + d] * sB[d * 16 + tcol];
        __syncthreads();
    }
    C[(by * 16 + trow) * N + bx * 16 + tcol] = acc;
}

// negative: a float4 copy-transpose through a shared tile (no arithmetic).
__global__ void transpose_float4(int N, const float *in, float *out)
{
    const int r = threadIdx.x / 8, c = threadIdx.x % 8;
    __shared__ float tile[32 * 33];
    float4 v = reinterpret_cast<const float4 *>(&in[(blockIdx.y * 32 + r) * N + blockIdx.x * 32 + c * 4])[0];
    tile[(c * 4 + 0) * 33 + r] = v.x;
    tile[(c * 4 + 1) * 33 + r] = v.y;
    tile[(c * 4 + 2) * 33 + r] = v.z;
    tile[(c * 4 + 3) * 33 + r] = v.w;
    __syncthreads();
    out[(blockIdx.x * 32 + r) * N + blockIdx.y * 32 + c] = tile[r * 33 + c];
}

// negative: a vectorised elementwise product (one output per input, no
// reduction).
__global__ void scale_float4(int n, const float *x, const float *y, float *z)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i * 4 < n) {
        float4 a = reinterpret_cast<const float4 *>(x)[i];
        float4 b = reinterpret_cast<const float4 *>(y)[i];
        float4 c;
        c.x = a.x * b.x;
        c.y = a.y * b.y;
        c.z = a.z * b.z;
        c.w = a.w * b.w;
        reinterpret_cast<float4 *>(z)[i] = c;
    }
}

// negative: the vectorised tiles of the first kernel combined by min-plus
// (a shortest-path relaxation), not a product.
__global__ void minplus_float4(int N, int K, const float *A, const float *B, float *C)
{
    const int trow = threadIdx.x / 16, tcol = threadIdx.x % 16;
    const int lr = threadIdx.x / 4, lc = threadIdx.x % 4;
    __shared__ float sA[16 * 16];
    __shared__ float sB[16 * 16];
    float best = 1e30f;
    for (int t = 0; t < K; t += 16) {
        reinterpret_cast<float4 *>(&sA[lr * 16 + lc * 4])[0] =
            reinterpret_cast<const float4 *>(&A[(blockIdx.y * 16 + lr) * K + t + lc * 4])[0];
        reinterpret_cast<float4 *>(&sB[lr * 16 + lc * 4])[0] =
            reinterpret_cast<const float4 *>(&B[(t + lr) * N + blockIdx.x * 16 + lc * 4])[0];
        __syncthreads();
        for (int d = 0; d < 16; ++d)
            best = fminf(best, sA[trow * 16 + d] + sB[d * 16 + tcol]);
        __syncthreads();
    }
    C[(blockIdx.y * 16 + trow) * N + blockIdx.x * 16 + tcol] = best;
}
