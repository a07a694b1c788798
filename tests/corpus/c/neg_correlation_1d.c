/* negative: a 1-D FIR filter; x[i + t] is a sliding window over one vector,
 * not a matrix operand. */
void fir(int n, int taps, const float *x, const float *h, float *y)
{
    for (int i = 0; i < n; i++) {
        float acc = 0.0f;
        for (int t = 0; t < taps; t++)
            acc += x[i + t] * h[t];
        y[i] = acc;
    }
}
