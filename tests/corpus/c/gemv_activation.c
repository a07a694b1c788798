/* A dense layer's forward pass: each output unit is the weighted sum of
 * the inputs (a transposed matrix-vector product over w[k][j]) passed
 * through a logistic function before it is stored. */
#include <math.h>

static float logistic(float v) { return 1.0f / (1.0f + expf(-v)); }

void layer_forward(int n_in, int n_out, float **w, const float *in, float *out)
{
    for (int j = 0; j < n_out; j++) {   // expect: GS201 routine=gemv dims=n_outxn_in dtype=f32 function=layer_forward
        float acc = 0.0f;
        for (int k = 0; k < n_in; k++)
            acc += w[k][j] * in[k];
        out[j] = logistic(acc);
    }
}

/* near miss: the same activation applied elementwise, no reduction. */
void gate(int n, const float *x, const float *g, float *y)
{
    for (int i = 0; i < n; i++)
        y[i] = logistic(x[i] * g[i]);
}
