// fuzz (structured, 2026-11): constants whose sum overflows i64 in an
// expression the index analysis turns into a polynomial: "attempt to add
// with overflow" in Poly::add. Now such an expression is not a polynomial.
__global__ void x(float *x, float *lda) {
    int i = blockIdx.y * blockDim.y + threadIdx.y;
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    float x = 2097865012304223517 + 7319921237039617402 + 101 * (0) + 0;
}
