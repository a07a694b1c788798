/* Scaled product with an accumulator: C = alpha*A*B + beta*C. */
#include <stdlib.h>

void sgemm_scaled(int M, int N, int K, float alpha, const float *A, const float *B,
                  float beta, float *C)
{
    for (int i = 0; i < M; i++) {   // expect: GS101 routine=gemm dims=MxNxK dtype=f32 order=ijk layout=C:row,A:row,B:row alpha=alpha beta=beta
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < K; k++)
                sum += A[i * K + k] * B[k * N + j];
            C[i * N + j] = alpha * sum + beta * C[i * N + j];
        }
    }
}
