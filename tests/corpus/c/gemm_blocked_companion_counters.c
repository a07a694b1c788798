/* A blocked GEMM in the style of benchmark suites: each tile loop runs a
 * global index (rg, cg, dg) up to a MIN() edge and, in lockstep, a local
 * one from 0 (r, c, d) that indexes the packed tiles; the tiles are
 * copied in, multiplied into a zeroed local tile, and added back. Near
 * miss: the same loops copying a tile out transposed. */
#include <stdlib.h>

#define MIN(x, y) ((x) < (y) ? (x) : (y))
#define AT(r, c) at[(r) * bs + (c)]
#define BT(r, c) bt[(r) * bs + (c)]
#define CT(r, c) ct[(r) * bs + (c)]

void dgemm_tiles(long n, long bs, const double *a, const double *b, double *c)
{
    double *at = malloc(bs * bs * sizeof(double));
    double *bt = malloc(bs * bs * sizeof(double));
    double *ct = malloc(bs * bs * sizeof(double));
    long r0, c0, d0, r, cc, d, rg, cg, dg;
    for (r0 = 0; r0 < n; r0 += bs) {   // expect: GS101 routine=gemm dims=nxnxn dtype=f64 function=dgemm_tiles
        for (c0 = 0; c0 < n; c0 += bs) {
            for (rg = r0, r = 0; rg < MIN(r0 + bs, n); rg++, r++)
                for (cg = c0, cc = 0; cg < MIN(c0 + bs, n); cg++, cc++)
                    CT(r, cc) = 0.0;
            for (d0 = 0; d0 < n; d0 += bs) {
                for (rg = r0, r = 0; rg < MIN(r0 + bs, n); rg++, r++)
                    for (dg = d0, d = 0; dg < MIN(d0 + bs, n); dg++, d++)
                        AT(r, d) = a[rg * n + dg];
                for (dg = d0, d = 0; dg < MIN(d0 + bs, n); dg++, d++)
                    for (cg = c0, cc = 0; cg < MIN(c0 + bs, n); cg++, cc++)
                        BT(d, cc) = b[dg * n + cg];
                for (rg = r0, r = 0; rg < MIN(r0 + bs, n); rg++, r++)
                    for (dg = d0, d = 0; dg < MIN(d0 + bs, n); dg++, d++)
                        for (cg = c0, cc = 0; cg < MIN(c0 + bs, n); cg++, cc++)
                            CT(r, cc) += AT(r, d) * BT(d, cc);
            }
            for (rg = r0, r = 0; rg < MIN(r0 + bs, n); rg++, r++)
                for (cg = c0, cc = 0; cg < MIN(c0 + bs, n); cg++, cc++)
                    c[rg * n + cg] = CT(r, cc);
        }
    }
    free(at);
    free(bt);
    free(ct);
}

void transpose_tiles(long n, long bs, const double *a, double *out)
{
    long r0, c0, r, cc, rg, cg;
    for (r0 = 0; r0 < n; r0 += bs)
        for (c0 = 0; c0 < n; c0 += bs)
            for (rg = r0, r = 0; rg < MIN(r0 + bs, n); rg++, r++)
                for (cg = c0, cc = 0; cg < MIN(c0 + bs, n); cg++, cc++)
                    out[cg * n + rg] = a[rg * n + cg];
}
