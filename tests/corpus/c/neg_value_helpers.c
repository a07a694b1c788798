/* negative: helpers returning a value per output that are not a dot
   product of a row and a column, and a helper that returns early. */

static float max_gap(int n, const float *x, const float *y)
{
    float g = 0.0f;
    for (int t = 0; t < n; ++t) {
        float d = x[t] - y[t];
        if (d > g)
            g = d;
    }
    return g;
}

/* Largest coordinate gap between every pair of rows: a distance matrix. */
void gaps(int n, int m, int p, float *const *a, float *const *b, float **c)
{
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < m; ++j)
            c[i][j] = max_gap(p, a[i], b[j]);
}

static float first_match(int n, const float *x, const float *y)
{
    for (int t = 0; t < n; ++t)
        if (x[t] == y[t])
            return x[t] * y[t];
    return 0.0f;
}

/* The helper stops at the first match: not a sum over the row. */
void matches(int n, int m, int p, float *const *a, float *const *b, float **c)
{
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < m; ++j)
            c[i][j] = first_match(p, a[i], b[j]);
}
