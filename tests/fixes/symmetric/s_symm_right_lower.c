/* SYMM, side Right: C = B*S + C with S (n x n) read in its lower triangle
 * only: S[j][k] for k <= j, S[k][j] for k > j. */
// gs-type: float
// gs-heap: S gs_n * gs_n
// gs-heap: B gs_m * gs_n
// gs-heap: C gs_m * gs_n
// gs-call: kern(gs_m, gs_n, S, B, C);
// gs-out: C
// gs-expect: cblas_ssymm(CblasRowMajor, CblasRight, CblasLower, m, n, 1.0f, &S[0], n, &B[0], n, 1.0f, &C[0], n);
void kern(int m, int n, const float *S, const float *B, float *C)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int k = 0; k <= j; k++)
                acc += B[i*n + k] * S[j*n + k];
            for (int k = j + 1; k < n; k++)
                acc += B[i*n + k] * S[k*n + j];
            C[i*n + j] += acc;
        }
}
