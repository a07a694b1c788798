/* In-place triangular product B := alpha * A * B with A upper triangular
 * and unit diagonal. Row i only reads rows below it, so it is safe to
 * overwrite in increasing i. */
#define M 250
#define N 300

double A[M][M], B[M][N];

void trmm_upper_unit(double alpha)
{
    for (int i = 0; i < M; i++)   // expect: GS108 routine=trmm idiom=gemm dtype=f64
        for (int j = 0; j < N; j++) {
            for (int k = i + 1; k < M; k++)
                B[i][j] += A[i][k] * B[k][j];
            B[i][j] = alpha * B[i][j];
        }
}
