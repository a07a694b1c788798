/* Negative: B is read as B[j][k] (stored the other way round from C);
 * symm takes no trans for B. */
// gs-nofix: GS107 SYMM takes no trans
void kern(int m, int n, const float *S, const float *B, float *C)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int k = 0; k <= i; k++)
                acc += S[i*m + k] * B[j*m + k];
            for (int k = i + 1; k < m; k++)
                acc += S[k*m + i] * B[j*m + k];
            C[i*n + j] = acc;
        }
}
