/* C = S * B where S is symmetric and only its lower triangle is stored:
 * entries above the diagonal are read from the mirrored position. */
#define N 300
#define P 200

static float S[N][N];
static float B[N][P];
static float C[N][P];

void symm_lower(void)
{
    for (int i = 0; i < N; i++) {   // expect: GS107 routine=symm idiom=gemm dtype=f32
        for (int j = 0; j < P; j++) {
            float acc = 0.0f;
            for (int k = 0; k <= i; k++)
                acc += S[i][k] * B[k][j];
            for (int k = i + 1; k < N; k++)
                acc += S[k][i] * B[k][j];
            C[i][j] = acc;
        }
    }
}
