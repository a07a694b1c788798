/* SYMM in column-major storage, side Left, lower triangle of S read
 * (S[i + k*lds] with k <= i, mirrored S[k + i*lds] for k > i), a padded
 * leading dimension, alpha inside the products, C overwritten. */
// gs-type: double
// gs-heap: S (gs_m + 2) * gs_m
// gs-heap: B gs_m * gs_n
// gs-heap: C gs_m * gs_n
// gs-call: kern(gs_m, gs_n, S, gs_m + 2, B, C);
// gs-out: C
// gs-expect: cblas_dsymm(CblasColMajor, CblasLeft, CblasLower, m, n, 3.0, &S[0], lds, &B[0], m, 0.0, &C[0], m);
void kern(int m, int n, const double *S, int lds, const double *B, double *C)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double acc = 0;
            for (int k = 0; k <= i; k++)
                acc += 3.0 * S[i + k*lds] * B[k + j*m];
            for (int k = i + 1; k < m; k++)
                acc += 3.0 * S[k + i*lds] * B[k + j*m];
            C[i + j*m] = acc;
        }
}
