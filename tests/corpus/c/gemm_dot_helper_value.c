/* The i-j loops call a helper that returns one dot product per output. */

static float row_dot(int n, const float *x, const float *y)
{
    float s = 0.0f;
    for (int t = 0; t < n; ++t)
        s += x[t] * y[t];
    return s;
}

/* Rows of A and of B's transpose, as arrays of row pointers. */
void mm_row_pointers(int n, int m, int p, float *const *a, float *const *bt, float **c)
{
    for (int i = 0; i < n; ++i)   // expect: GS101 routine=gemm dims=nxmxp dtype=f32 order=ijk function=mm_row_pointers
        for (int j = 0; j < m; ++j)
            c[i][j] = row_dot(p, a[i], bt[j]);
}

/* Flat storage, the rows passed by address; the helper's value is added. */
void mm_flat_accumulate(int n, int m, int p, const float *a, const float *bt, float *c)
{
    for (int i = 0; i < n; ++i)   // expect: GS101 routine=gemm dims=nxmxp dtype=f32 order=ijk function=mm_flat_accumulate
        for (int j = 0; j < m; ++j)
            c[i * m + j] += row_dot(p, &a[i * p], &bt[j * p]);
}
