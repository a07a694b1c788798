/* A driver whose argument check is written twice under #if / #else, each
 * arm opening a block that one closing brace after #endif ends (C only
 * once preprocessed), with the product's loops further down the same
 * function and a library call under the other arm of a balanced group.
 * Near miss: the same unbalanced conditional around a transpose. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n;
    double *a, *b, *c;
#if !USE_CBLAS
    if (argc != 2 && argc != 3) {
        printf("usage: %s <order> [block]\n", argv[0]);
#else
    if (argc != 2) {
        printf("usage: %s <order>\n", argv[0]);
#endif
        return EXIT_FAILURE;
    }
    n = atol(argv[1]);
    a = malloc(n * n * sizeof(double));
    b = malloc(n * n * sizeof(double));
    c = calloc(n * n, sizeof(double));
#if !USE_CBLAS
    for (long i = 0; i < n; i++)   // expect: GS101 routine=gemm dtype=f64 function=main
        for (long p = 0; p < n; p++)
            for (long j = 0; j < n; j++)
                c[i * n + j] += a[i * n + p] * b[p * n + j];
#else
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
#endif
    printf("%f\n", c[0]);
    return 0;
}

void transpose_checked(int argc, long n, const double *x, double *y)
{
#ifdef STRICT_ARGS
    if (argc != 3) {
#else
    if (argc < 2) {
#endif
        return;
    }
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++)
            y[j * n + i] = x[i * n + j];
}
