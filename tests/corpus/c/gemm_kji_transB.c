/* out = X * W^T, with W stored as N rows of K weights (a fully connected
 * layer's weight matrix). Loop order k, j, i. */
#include <stdlib.h>

void linear_forward(int M, int N, int K, const float *X, const float *W, float *out)
{
    for (int t = 0; t < M * N; t++)
        out[t] = 0.0f;
    for (int k = 0; k < K; k++)   // expect: GS101 routine=gemm dims=MxNxK dtype=f32 order=kji layout=C:row,A:row,B:col
        for (int j = 0; j < N; j++)
            for (int i = 0; i < M; i++)
                out[i * N + j] += X[i * K + k] * W[j * K + k];
}
