/* A GEMM in the "register block" style: the i and j loops step by 2 and
 * call a kernel that keeps a 2x2 block of C in local accumulators over the
 * whole k loop. Column-major, leading dimensions passed along. */
#define AE(r, q) a[(q) * lda + (r)]
#define BE(r, q) b[(q) * ldb + (r)]
#define CE(r, q) c[(q) * ldc + (r)]

static void block2x2(int k, const double *a, int lda, const double *b, int ldb, double *c, int ldc)
{
    double c00 = 0.0, c01 = 0.0, c10 = 0.0, c11 = 0.0;
    for (int p = 0; p < k; ++p) {
        double a0 = AE(0, p), a1 = AE(1, p);
        c00 += a0 * BE(p, 0);
        c01 += a0 * BE(p, 1);
        c10 += a1 * BE(p, 0);
        c11 += a1 * BE(p, 1);
    }
    CE(0, 0) += c00;
    CE(0, 1) += c01;
    CE(1, 0) += c10;
    CE(1, 1) += c11;
}

void dgemm_2x2(int m, int n, int k, const double *a, int lda, const double *b, int ldb, double *c, int ldc)
{
    for (int j = 0; j < n; j += 2)   // expect: GS101 routine=gemm dtype=f64 order=jik function=dgemm_2x2 layout=C:col,A:col,B:col
        for (int i = 0; i < m; i += 2)
            block2x2(k, &AE(i, 0), lda, &BE(0, j), ldb, &CE(i, j), ldc);
}

/* A benchmark loop that calls a whole GEMM repeatedly with the same
 * arguments: the GEMM is reported once, in its own function. */
void naive(int n, const double *a, const double *b, double *c)
{
    for (int i = 0; i < n; ++i)   // expect: GS101 routine=gemm dims=nxnxn dtype=f64 order=ijk function=naive
        for (int j = 0; j < n; ++j)
            for (int p = 0; p < n; ++p)
                c[i * n + j] += a[i * n + p] * b[p * n + j];
}

void bench(int n, const double *a, const double *b, double *c)
{
    for (int rep = 0; rep < 10; ++rep)
        naive(n, a, b, c);
}
