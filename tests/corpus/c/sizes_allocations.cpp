// Sizes from the allocations of the buffers a call passes for the operands:
// a loop whose bounds are parameters the caller does not give as constants
// (read from the command line) still gets its size where the buffers it is
// handed were allocated with a constant element count.
#include <cstdlib>

#define DIM 384

// Square: C is n x n and was allocated with DIM * DIM floats, so n = DIM.
void square_mm(float *C, const float *A, const float *B, int n)
{
    for (int i = 0; i < n; i++)   // expect: GS101 routine=gemm dims=384x384x384 sources=allocation,allocation,allocation function=square_mm
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int k = 0; k < n; k++)
                s += A[i * n + k] * B[k * n + j];
            C[i * n + j] = s;
        }
}

// Rectangular, one dim known from the call: rows = 96 * 256 / 256.
void rect_mm(double *C, const double *A, const double *B, int rows, int cols, int inner)
{
    for (int r = 0; r < rows; r++)   // expect: GS101 routine=gemm dims=96x256x32 sources=allocation,call-site,call-site function=rect_mm
        for (int c = 0; c < cols; c++) {
            double s = 0.0;
            for (int q = 0; q < inner; q++)
                s += A[r * inner + q] * B[q * cols + c];
            C[r * cols + c] = s;
        }
}

// Only B is allocated here (`new`): B is K x N = n x n.
void new_mm(float *C, const float *A, const float *B, int n)
{
    for (int i = 0; i < n; i++)   // expect: GS101 routine=gemm dims=200x200x200 sources=allocation,allocation,allocation function=new_mm
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int k = 0; k < n; k++)
                s += A[i * n + k] * B[k * n + j];
            C[i * n + j] = s;
        }
}

// Near miss: the buffer passed for C is allocated twice with different
// counts, and A and B are not allocated here: no size.
void twice_mm(float *C, const float *A, const float *B, int n)
{
    for (int i = 0; i < n; i++)   // expect: GS101 routine=gemm sources=-,-,- function=twice_mm
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int k = 0; k < n; k++)
                s += A[i * n + k] * B[k * n + j];
            C[i * n + j] = s;
        }
}

int main(int argc, char **argv)
{
    int n = atoi(argv[1]);
    float *A = (float *)malloc(DIM * DIM * sizeof(float));
    float *B = new float[DIM * DIM];
    float *C = (float *)calloc(DIM * DIM, sizeof(float));
    square_mm(C, A, B, n);

    double *dC = (double *)malloc(sizeof(double) * 96 * 256);
    double *dA = new double[96 * 32];
    double *dB = new double[32 * 256];
    rect_mm(dC, dA, dB, n, 256, 32);

    float *W = new float[200 * 200];
    new_mm((float *)argv[2], (const float *)argv[3], W, n);

    float *T = (float *)malloc(64 * sizeof(float));
    free(T);
    T = (float *)malloc(128 * sizeof(float));
    twice_mm(T, (const float *)argv[2], (const float *)argv[3], n);
    return 0;
}
