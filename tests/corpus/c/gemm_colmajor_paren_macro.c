/* Column-major GEMM through a fully parenthesised index macro, as BLAS-style
 * code writes it: `(r) + (c) * (ld)` must read as r + c*ld, not as casts. */
#define IDX2C(r, c, ld) ((r) + (c) * (ld))

void sgemm_ref(int m, int n, int k, const float *a, const float *b, float *c)
{
    for (int j = 0; j < n; j++)   // expect: GS101 routine=gemm dims=mxnxk dtype=f32 order=jki layout=C:col,A:col,B:col
        for (int l = 0; l < k; l++)
            for (int i = 0; i < m; i++)
                c[IDX2C(i, j, m)] += a[IDX2C(i, l, m)] * b[IDX2C(l, j, k)];
}
