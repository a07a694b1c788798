/* A column-major GEMM whose inner products walk B's columns with
 * post-incremented pointers (`*bq++`), two columns of C per call of a
 * helper, and a pre-incremented walk in the second helper. The increments
 * are pointer bumps once per iteration: the reads are B(p, j) and
 * B(p, j+1). */
#define AA(r, c) a[(c) * lda + (r)]
#define BB(r, c) b[(c) * ldb + (r)]
#define CC(r, c) cc[(c) * ldc + (r)]

static void dot_pair(int k, const double *a, int lda, const double *b, int ldb, double *cc, int ldc)
{
    const double *bq0 = &BB(0, 0);
    const double *bq1 = &BB(0, 1);
    double s0 = 0.0, s1 = 0.0;
    for (int p = 0; p < k; p++) {
        double ap = AA(0, p);
        s0 += ap * *bq0++;
        s1 += ap * *bq1++;
    }
    CC(0, 0) += s0;
    CC(0, 1) += s1;
}

void gemm_walk(int m, int n, int k, const double *a, int lda, const double *b, int ldb, double *cc, int ldc)
{
    for (int j = 0; j < n; j += 2)   // expect: GS101 routine=gemm function=gemm_walk
        for (int i = 0; i < m; i++)
            dot_pair(k, &AA(i, 0), lda, &BB(0, j), ldb, &CC(i, j), ldc);
}

/* negative: a running sum walked with pointers (a scan, no product). */
void prefix_walk(int n, const double *x, double *y)
{
    const double *xp = x;
    double *yp = y;
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        s += *xp++;
        *yp++ = s;
    }
}

/* negative: an elementwise product walked with pointers (one output per
 * input, nothing reduced). */
void hadamard_walk(int n, const double *x, const double *w, double *y)
{
    for (int i = 0; i < n; i++)
        *y++ = *x++ * *w++;
}
