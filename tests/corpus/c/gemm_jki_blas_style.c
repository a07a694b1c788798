/* Reference-BLAS style SGEMM, no transposes: C := alpha*A*B + beta*C with
 * column-major storage, loop order j, l, i (the axpy form). */

void ref_sgemm_nn(int m, int n, int k, float alpha, const float *a, int lda,
                  const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m == 0 || n == 0)
        return;
    for (int j = 0; j < n; j++) {   // expect: GS101 routine=gemm dims=mxnxk dtype=f32 order=jki layout=C:col,A:col,B:col alpha=alpha beta=beta
        for (int i = 0; i < m; i++)
            c[i + j * ldc] = beta * c[i + j * ldc];
        for (int l = 0; l < k; l++) {
            float temp = alpha * b[l + j * ldb];
            for (int i = 0; i < m; i++)
                c[i + j * ldc] += temp * a[i + l * lda];
        }
    }
}
