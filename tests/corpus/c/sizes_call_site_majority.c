/* A size from call sites counts only where most of the callers that pass
 * it give a constant. `layer_product` is called by three layers whose
 * sizes are read from a config at run time and by one that passes n = 1:
 * its n stays unknown. `tile_product` is called three times with 256 and
 * once with a run-time width: 256 it is. */
#include <stdlib.h>

struct layer { int rows, cols, width; float *w, *x, *y; };

void layer_product(int m, int n, int k, const float *a, const float *b, float *c)
{
    for (int i = 0; i < m; i++)   // expect: GS101 routine=gemm dims=mxnxk sources=-,-,- function=layer_product
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int p = 0; p < k; p++)
                s += a[i * k + p] * b[p * n + j];
            c[i * n + j] = s;
        }
}

void tile_product(int t, const float *a, const float *b, float *c)
{
    for (int i = 0; i < t; i++)   // expect: GS101 routine=gemm dims=256x256x256 sources=call-site,call-site,call-site function=tile_product
        for (int j = 0; j < t; j++)
            for (int p = 0; p < t; p++)
                c[i * t + j] += a[i * t + p] * b[p * t + j];
}

void forward(struct layer *l, int n_layers, int width)
{
    layer_product(l[0].rows, l[0].width, l[0].cols, l[0].w, l[0].x, l[0].y);
    layer_product(l[1].rows, l[1].width, l[1].cols, l[1].w, l[1].x, l[1].y);
    layer_product(l[2].rows, l[2].width, l[2].cols, l[2].w, l[2].x, l[2].y);
    layer_product(l[3].rows, 1, l[3].cols, l[3].w, l[3].x, l[3].y);
    tile_product(256, l[0].w, l[0].x, l[0].y);
    tile_product(256, l[1].w, l[1].x, l[1].y);
    tile_product(256, l[2].w, l[2].x, l[2].y);
    tile_product(width, l[3].w, l[3].x, l[3].y);
    (void)n_layers;
}
