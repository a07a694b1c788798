/* TRMM in column-major storage (j outer), upper unit: the accumulator
 * starts from B(i,j) itself and the whole sum is scaled by alpha. */
// gs-type: double
// gs-heap: A gs_m * gs_m
// gs-heap: B gs_m * gs_n
// gs-call: kern(gs_m, gs_n, 2.5, A, B);
// gs-out: B
// gs-expect: cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasUnit, m, n, alpha, &A[0], m, &B[0], m);
void kern(int m, int n, double alpha, const double *A, double *B)
{
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            double s = B[i + j*m];
            for (int k = i + 1; k < m; k++)
                s += A[i + k*m] * B[k + j*m];
            B[i + j*m] = alpha * s;
        }
}
