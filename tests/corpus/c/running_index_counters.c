/* Weights and outputs walked by a running counter instead of an index
   expression: the counter's value is the flattened loop position. */

/* A dense layer: the weight counter runs on across rows. */
void dense_forward(int n_out, int n_in, const double *wts, const double *in,
                   const double *bias, double *out)
{
    int w = 0;
    for (int o = 0; o < n_out; o++) {   // expect: GS201 routine=gemv dims=n_outxn_in dtype=f64 function=dense_forward
        double acc = bias[o];
        for (int i = 0; i < n_in; i++)
            acc += in[i] * wts[w++];
        out[o] = acc;
    }
}

/* A product whose output slots are taken in turn. */
void gemm_packed_out(int n, int m, int p, const float *a, const float *b, float *c)
{
    int slot = 0;
    for (int i = 0; i < n; i++)   // expect: GS101 routine=gemm dims=nxmxp dtype=f32 order=ijk function=gemm_packed_out
        for (int j = 0; j < m; j++) {
            float s = 0;
            for (int q = 0; q < p; q++)
                s += a[i * p + q] * b[q * m + j];
            c[slot++] = s;
        }
}

/* Near miss: the counter moves only for nonzero inputs (a compressed row),
   so it is not a position in the loop nest. */
void sparse_like(int n_out, int n_in, const double *vals, const double *in, double *out)
{
    int k = 0;
    for (int o = 0; o < n_out; o++) {
        double acc = 0;
        for (int i = 0; i < n_in; i++) {
            if (in[i] != 0.0) {
                acc += vals[k] * in[i];
                k++;
            }
        }
        out[o] = acc;
    }
}

/* Near miss: the counter restarts for every row, so every row reads the
   same weights: a sum of products with one vector, not a matrix. */
void same_row_each_time(int n_out, int n_in, const double *wts, const double *in, double *out)
{
    for (int o = 0; o < n_out; o++) {
        int w = 0;
        double acc = 0;
        for (int i = 0; i < n_in; i++)
            acc += in[i] * wts[w++];
        out[o] = acc;
    }
}
