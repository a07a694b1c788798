/* The same overflow in index strides and in a product of constants. */
#define N 64
float A[N * N], B[N * N], C[N * N];
void mm(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            for (int k = 0; k < N; k++)
                C[i * 9223372036854775807 * 4 + j] += A[i * N + k - 9223372036854775807 - 9223372036854775807] * B[(k << 63) * 3 + j * 4611686018427387904 * 4];
}
