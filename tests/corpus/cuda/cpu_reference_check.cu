// A CUDA sample's usual shape: a kernel, a host product computed the slow
// obvious way, and a main that compares the two results. The host product
// is a real GEMM but exists to check the kernel: reported as a note, with
// the comparison that shows it.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

__global__ void mm_kernel(const float *a, const float *b, float *c, int n)   // expect: GS102 routine=gemm function=mm_kernel purpose=none
{
    int r = blockIdx.y * blockDim.y + threadIdx.y;
    int q = blockIdx.x * blockDim.x + threadIdx.x;
    if (r < n && q < n) {
        float s = 0.0f;
        for (int t = 0; t < n; ++t)
            s += a[r * n + t] * b[t * n + q];
        c[r * n + q] = s;
    }
}

static void host_product(const float *a, const float *b, float *expect_c, int n)
{
    for (int r = 0; r < n; ++r)   // expect: GS101 routine=gemm order=ijk function=host_product purpose=reference
        for (int q = 0; q < n; ++q) {
            double s = 0.0;
            for (int t = 0; t < n; ++t)
                s += a[r * n + t] * b[t * n + q];
            expect_c[r * n + q] = (float)s;
        }
}

// Named for what it is (the expected result); no comparison needed.
void referenceMatMul(const double *a, const double *b, double *c, int n)
{
    for (int r = 0; r < n; ++r)   // expect: GS101 routine=gemm order=ikj function=referenceMatMul purpose=reference
        for (int t = 0; t < n; ++t)
            for (int q = 0; q < n; ++q)
                c[r * n + q] += a[r * n + t] * b[t * n + q];
}

// Not a reference: its result is used, not compared.
static void host_apply(const float *w, const float *x, float *y, int n)
{
    for (int r = 0; r < n; ++r)   // expect: GS101 routine=gemm order=ijk function=host_apply purpose=none
        for (int q = 0; q < n; ++q) {
            float s = 0.0f;
            for (int t = 0; t < n; ++t)
                s += w[r * n + t] * x[t * n + q];
            y[r * n + q] = s;
        }
}

int main()
{
    const int n = 256;
    size_t bytes = n * n * sizeof(float);
    float *a = (float *)malloc(bytes), *b = (float *)malloc(bytes);
    float *got = (float *)malloc(bytes), *want = (float *)malloc(bytes), *y = (float *)malloc(bytes);
    float *da, *db, *dc;
    cudaMalloc(&da, bytes);
    cudaMalloc(&db, bytes);
    cudaMalloc(&dc, bytes);
    cudaMemcpy(da, a, bytes, cudaMemcpyHostToDevice);
    cudaMemcpy(db, b, bytes, cudaMemcpyHostToDevice);
    mm_kernel<<<dim3(n / 16, n / 16), dim3(16, 16)>>>(da, db, dc, n);
    cudaMemcpy(got, dc, bytes, cudaMemcpyDeviceToHost);
    host_product(a, b, want, n);
    int bad = 0;
    for (int i = 0; i < n * n; ++i)
        if (fabsf(got[i] - want[i]) > 1e-3f)
            ++bad;
    host_apply(got, a, y, n);
    std::printf("%d mismatches, %f\n", bad, y[0]);
    return 0;
}
