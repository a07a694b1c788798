/* Sizes of a loop whose bounds are parameters: from the call sites in this
 * file (a literal, a local initialised once, a macro, through a wrapper). */
#define INNER 64

static void product(float *C, const float *A, const float *B, int rows, int cols, int depth)
{
    for (int r = 0; r < rows; r++)   // expect: GS101 routine=gemm dims=256x128x64 sources=call-site,call-site,call-site function=product
        for (int c = 0; c < cols; c++) {
            float acc = 0.0f;
            for (int d = 0; d < depth; d++)
                acc += A[r * depth + d] * B[d * cols + c];
            C[r * cols + c] = acc;
        }
}

/* Reached through a wrapper: the wrapper's own parameter is followed to its
 * call sites. Three calls, two of them with 300: the dominant size. */
static void square(float *C, const float *A, const float *B, int n)
{
    for (int i = 0; i < n; i++)   // expect: GS101 routine=gemm dims=300x300x300 sources=call-site,call-site,call-site function=square
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int k = 0; k < n; k++)
                s += A[i * n + k] * B[k * n + j];
            C[i * n + j] = s;
        }
}

static void run_square(float *C, const float *A, const float *B, int size)
{
    square(C, A, B, size);
}

/* Near miss: `unused` is never called; a call to another function with a
 * parameter of the same name must not give it a size. */
static void unused(float *C, const float *A, const float *B, int n)
{
    for (int i = 0; i < n; i++)   // expect: GS101 routine=gemm dims=nxnxn sources=-,-,- function=unused
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int k = 0; k < n; k++)
                s += A[i * n + k] * B[k * n + j];
            C[i * n + j] = s;
        }
}

static void other(int n) { (void)n; }

int main(void)
{
    static float A[256 * 300], B[300 * 300], C[300 * 300];
    int rows = 256;
    product(C, A, B, rows, 2 * INNER, INNER);
    run_square(C, A, B, 300);
    run_square(C, A, B, 300);
    square(C, A, B, 16);
    other(4096);
    return 0;
}
