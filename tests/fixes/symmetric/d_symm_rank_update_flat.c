/* PolyBench's SYMM shape, flattened, with A stored the other way round
 * (A[k*m + i] for logical A(i,k)): the triangle read is the upper one of
 * the row-major array. */
// gs-type: double
// gs-heap: A gs_m * gs_m
// gs-heap: B gs_m * gs_n
// gs-heap: C gs_m * gs_n
// gs-call: kern(gs_m, gs_n, 0.5, 1.5, A, B, C);
// gs-out: C
// gs-expect: cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, m, n, alpha, &A[0], m, &B[0], n, beta, &C[0], n);
void kern(int m, int n, double alpha, double beta, const double *A, const double *B, double *C)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double t = 0;
            for (int k = 0; k < i; k++) {
                C[k*n + j] += alpha * B[i*n + j] * A[k*m + i];
                t += B[k*n + j] * A[k*m + i];
            }
            C[i*n + j] = beta * C[i*n + j] + alpha * B[i*n + j] * A[i*m + i] + alpha * t;
        }
}
