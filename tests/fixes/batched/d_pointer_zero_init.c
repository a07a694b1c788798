/* Pointer arithmetic, C zeroed in the nest before the product, A read
   transposed (k x m per batch). */
void kern(int nb, int m, int n, int k, const double *A, const double *B, double *C)
{
    for (int b = 0; b < nb; b++)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                *(C + b*m*n + i*n + j) = 0.0;
                for (int p = 0; p < k; p++)
                    *(C + b*m*n + i*n + j) += 2.0 * *(A + b*k*m + p*m + i) * *(B + b*k*n + p*n + j);
            }
}
