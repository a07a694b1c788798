/* negative: C = alpha*A + beta*B, an element-wise combination with the
 * alpha/beta names of a GEMM but no reduction loop. */
#define N 1024

float A[N][N], B[N][N], C[N][N];

void axpby(float alpha, float beta)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            C[i][j] = alpha * A[i][j] + beta * B[i][j];
}

float trace(void)
{
    float t = 0.0f;
    for (int i = 0; i < N; i++)
        t += C[i][i];
    return t;
}
