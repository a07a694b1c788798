/* Blocked GEMMs that first copy their operands into contiguous packed
 * panels, then let a micro-kernel read only the panels. Read through the
 * copies, each micro-kernel's update is C += A*B: the packing is part of
 * the GEMM, and one library call does all of it.
 *
 * sgemm_packed_2x2: row-major; a pair of rows of A is packed once per row
 * block (under `j == 0`, reused for every later column block), a pair of
 * columns of B per column block; the 2x2 micro-kernel walks both panels
 * with pointer bumps. dgemm_packed_cols: column-major; a 2-row panel of A
 * copied by a two-level loop, read by a micro-kernel at `q*MR + r`. */
#define EA(r, q) a[(r) * lda + (q)]
#define EB(r, q) b[(r) * ldb + (q)]
#define EC(r, q) c[(r) * ldc + (q)]
#define MR 2

static void pack_row_pair(int kc, const float *a, int lda, float *dst)
{
    for (int q = 0; q < kc; q++) {
        *dst++ = EA(0, q);
        *dst++ = EA(1, q);
    }
}

static void pack_col_pair(int kc, const float *b, int ldb, float *dst)
{
    const float *b0 = &EB(0, 0), *b1 = &EB(0, 1);
    for (int q = 0; q < kc; q++) {
        dst[2 * q] = *b0;
        dst[2 * q + 1] = *b1;
        b0 += ldb;
        b1 += ldb;
    }
}

static void kernel_2x2(int kc, const float *pa, const float *pb, float *c, int ldc)
{
    float c00 = 0.0f, c01 = 0.0f, c10 = 0.0f, c11 = 0.0f;
    for (int q = 0; q < kc; q++) {
        float a0 = pa[0], a1 = pa[1];
        float b0 = pb[0], b1 = pb[1];
        c00 += a0 * b0;
        c01 += a0 * b1;
        c10 += a1 * b0;
        c11 += a1 * b1;
        pa += 2;
        pb += 2;
    }
    EC(0, 0) += c00;
    EC(0, 1) += c01;
    EC(1, 0) += c10;
    EC(1, 1) += c11;
}

void sgemm_packed_2x2(int m, int n, int kc, const float *a, int lda, const float *b, int ldb, float *c, int ldc)
{
    float apanel[m * kc];
    float bpanel[2 * kc];
    for (int j = 0; j < n; j += 2) {   // expect: GS101 routine=gemm dtype=f32 function=sgemm_packed_2x2
        pack_col_pair(kc, &EB(0, j), ldb, bpanel);
        for (int i = 0; i < m; i += 2) {
            if (j == 0)
                pack_row_pair(kc, &EA(i, 0), lda, &apanel[i * kc]);
            kernel_2x2(kc, &apanel[i * kc], bpanel, &EC(i, j), ldc);
        }
    }
}

static void pack_panel(int kc, const double *a, int lda, double *dst)
{
    for (int q = 0; q < kc; q++)
        for (int r = 0; r < MR; r++)
            dst[q * MR + r] = a[q * lda + r];
}

static void kernel_col2(int kc, const double *pa, const double *b, double *c)
{
    double c0 = 0.0, c1 = 0.0;
    for (int q = 0; q < kc; q++) {
        c0 += pa[q * MR] * b[q];
        c1 += pa[q * MR + 1] * b[q];
    }
    c[0] += c0;
    c[1] += c1;
}

void dgemm_packed_cols(int m, int n, int kc, const double *a, int lda, const double *b, int ldb, double *c, int ldc)
{
    double panel[MR * 512];
    for (int i = 0; i < m; i += MR) {   // expect: GS101 routine=gemm dtype=f64 function=dgemm_packed_cols
        pack_panel(kc, &a[i], lda, panel);
        for (int j = 0; j < n; j++)
            kernel_col2(kc, panel, &b[j * ldb], &c[j * ldc + i]);
    }
}

/* negative: the panel read one column ahead (`q + 1`): the last step
 * reads past what was copied; not A*B as written. */
static void kernel_col2_ahead(int kc, const double *pa, const double *b, double *c)
{
    double c0 = 0.0, c1 = 0.0;
    for (int q = 0; q < kc; q++) {
        c0 += pa[(q + 1) * MR] * b[q];
        c1 += pa[(q + 1) * MR + 1] * b[q];
    }
    c[0] += c0;
    c[1] += c1;
}

void dgemm_panel_ahead(int m, int n, int kc, const double *a, int lda, const double *b, int ldb, double *c, int ldc)
{
    double panel[MR * 513];
    for (int i = 0; i < m; i += MR) {
        pack_panel(kc, &a[i], lda, panel);
        for (int j = 0; j < n; j++)
            kernel_col2_ahead(kc, panel, &b[j * ldb], &c[j * ldc + i]);
    }
}

/* negative: the panel read as if packed row by row (`pa[q]`,
 * `pa[kc + q]`): the element read is not the one copied there. */
static void kernel_col2_rowwise(int kc, const double *pa, const double *b, double *c)
{
    double c0 = 0.0, c1 = 0.0;
    for (int q = 0; q < kc; q++) {
        c0 += pa[q] * b[q];
        c1 += pa[kc + q] * b[q];
    }
    c[0] += c0;
    c[1] += c1;
}

void dgemm_panel_rowwise(int m, int n, int kc, const double *a, int lda, const double *b, int ldb, double *c, int ldc)
{
    double panel[MR * 512];
    for (int i = 0; i < m; i += MR) {
        pack_panel(kc, &a[i], lda, panel);
        for (int j = 0; j < n; j++)
            kernel_col2_rowwise(kc, panel, &b[j * ldb], &c[j * ldc + i]);
    }
}

/* negative: the packed panel only transposed back out (no product). */
void panel_transpose(int m, int kc, const double *a, int lda, double *t, int ldt)
{
    double panel[MR * 512];
    for (int i = 0; i < m; i += MR) {
        pack_panel(kc, &a[i], lda, panel);
        for (int q = 0; q < kc; q++)
            for (int r = 0; r < MR; r++)
                t[(i + r) * ldt + q] = panel[q * MR + r];
    }
}

/* negative: the packed panel multiplied elementwise by B (no reduction). */
void panel_hadamard(int m, int kc, const double *a, int lda, const double *b, int ldb, double *c, int ldc)
{
    double panel[MR * 512];
    for (int i = 0; i < m; i += MR) {
        pack_panel(kc, &a[i], lda, panel);
        for (int q = 0; q < kc; q++) {
            c[q * ldc + i] += panel[q * MR] * b[q * ldb + i];
            c[q * ldc + i + 1] += panel[q * MR + 1] * b[q * ldb + i + 1];
        }
    }
}
