/* A row-major GEMM whose inner loop is unrolled by two by hand: the
 * temporary holding A's element is re-assigned in each copy, and B's
 * column is walked by a pointer bumped twice per iteration. A second
 * kernel resets its pointer in every iteration and bumps it as it reads
 * it. Followed statement by statement, every read is A[i][p] * B[p][j]. */
void gemm_unroll2(int m, int n, int k, const float *A, const float *B, float *C)
{
    for (int i = 0; i < m; i++) {   // expect: GS101 routine=gemm function=gemm_unroll2
        for (int j = 0; j < n; j++) {
            const float *bp = &B[j];
            float a_ip, acc = 0.0f;
            for (int p = 0; p < k; p += 2) {
                a_ip = A[i * k + p];
                acc += a_ip * *bp;
                bp += n;
                a_ip = A[i * k + p + 1];
                acc += a_ip * *bp;
                bp += n;
            }
            C[i * n + j] = acc;
        }
    }
}

void gemm_reset_ptr(int m, int n, int k, const double *A, const double *B, double *C)
{
    for (int i = 0; i < m; i++)   // expect: GS101 routine=gemm dtype=f64 function=gemm_reset_ptr
        for (int p = 0; p < k; p++) {
            const double *brow;
            brow = &B[p * n];
            double aip = A[i * k + p];
            for (int j = 0; j < n; j++)
                C[i * n + j] += aip * *brow++;
        }
}

/* negative: an unrolled first-order recurrence (each value feeds the
 * next), no matrix product. */
void recurrence_unroll2(int n, const float *x, float *y)
{
    float prev = 0.0f, cur;
    for (int i = 0; i < n; i += 2) {
        cur = 0.5f * prev + x[i];
        y[i] = cur;
        prev = cur;
        cur = 0.5f * prev + x[i + 1];
        y[i + 1] = cur;
        prev = cur;
    }
}
