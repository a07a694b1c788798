// Naive CUDA matmul, one thread per output element, with a CPU reference
// used to check the result.
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

__global__ void matmul_naive(const float *A, const float *B, float *C, int M, int N, int K)   // expect: GS102 routine=gemm idiom=gemm dims=1024x768x512 sources=call-site,call-site,call-site dtype=f32 order=thread-per-output layout=C:row,A:row,B:row function=matmul_naive
{
    int row = blockIdx.y * blockDim.y + threadIdx.y;
    int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (row < M && col < N) {
        float sum = 0.0f;
        for (int k = 0; k < K; ++k)
            sum += A[row * K + k] * B[k * N + col];
        C[row * N + col] = sum;
    }
}

static void matmul_cpu(const float *A, const float *B, float *C, int M, int N, int K)
{
    for (int i = 0; i < M; ++i)   // expect: GS101 routine=gemm dims=1024x768x512 dtype=f32 order=ijk function=matmul_cpu
        for (int j = 0; j < N; ++j) {
            float s = 0.0f;
            for (int k = 0; k < K; ++k)
                s += A[i * K + k] * B[k * N + j];
            C[i * N + j] = s;
        }
}

int main()
{
    const int M = 1024, N = 768, K = 512;
    size_t sa = sizeof(float) * M * K, sb = sizeof(float) * K * N, sc = sizeof(float) * M * N;
    float *hA = (float *)malloc(sa), *hB = (float *)malloc(sb), *hC = (float *)malloc(sc);
    float *ref = (float *)malloc(sc);
    for (int i = 0; i < M * K; ++i) hA[i] = rand() / (float)RAND_MAX;
    for (int i = 0; i < K * N; ++i) hB[i] = rand() / (float)RAND_MAX;

    float *dA, *dB, *dC;
    cudaMalloc(&dA, sa);
    cudaMalloc(&dB, sb);
    cudaMalloc(&dC, sc);
    cudaMemcpy(dA, hA, sa, cudaMemcpyHostToDevice);
    cudaMemcpy(dB, hB, sb, cudaMemcpyHostToDevice);

    dim3 block(16, 16);
    dim3 grid((N + block.x - 1) / block.x, (M + block.y - 1) / block.y);
    cudaEvent_t start, stop;
    cudaEventCreate(&start);
    cudaEventCreate(&stop);
    cudaEventRecord(start);
    matmul_naive<<<grid, block>>>(dA, dB, dC, M, N, K);
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0.0f;
    cudaEventElapsedTime(&ms, start, stop);
    cudaMemcpy(hC, dC, sc, cudaMemcpyDeviceToHost);

    matmul_cpu(hA, hB, ref, M, N, K);
    double maxerr = 0.0;
    for (int i = 0; i < M * N; ++i) {
        double e = hC[i] - ref[i];
        if (e < 0) e = -e;
        if (e > maxerr) maxerr = e;
    }
    printf("%.3f ms, max error %g\n", ms, maxerr);
    cudaFree(dA); cudaFree(dB); cudaFree(dC);
    free(hA); free(hB); free(hC); free(ref);
    return 0;
}
