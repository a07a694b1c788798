/* One weight matrix W shared by every batch (stride 0), loop order b-i-k-j. */
void kern(int nb, int m, int n, int k, const float *A, const float *W, float *C)
{
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
                for (int j = 0; j < n; j++)
                    C[(b*m + i)*n + j] += A[(b*m + i)*k + p] * W[p*n + j];
}
