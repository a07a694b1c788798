/* SYMM, side Left, only the upper triangle of S read (S[k][i] above the
 * diagonal for k < i, S[i][k] for k >= i), alpha*acc + beta*C. */
// gs-type: double
// gs-heap: S gs_m * gs_m
// gs-heap: B gs_m * gs_n
// gs-heap: C gs_m * gs_n
// gs-call: kern(gs_m, gs_n, 1.25, -0.5, S, B, C);
// gs-out: C
// gs-expect: cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, m, n, alpha, &S[0], m, &B[0], n, beta, &C[0], n);
void kern(int m, int n, double alpha, double beta, const double *S, const double *B, double *C)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int k = 0; k < i; k++)
                acc += S[k*m + i] * B[k*n + j];
            for (int k = i; k < m; k++)
                acc += S[i*m + k] * B[k*n + j];
            C[i*n + j] = alpha * acc + beta * C[i*n + j];
        }
}
