/* ikj GEMM that walks rows through pointer aliases. */
#include <stddef.h>

void gemm_rows(size_t M, size_t N, size_t K, const float *A, const float *B, float *C)
{
    for (size_t i = 0; i < M; i++) {   // expect: GS101 routine=gemm dims=MxNxK dtype=f32 order=ikj layout=C:row,A:row,B:row
        const float *a_row = A + i * K;
        float *c_row = C + i * N;
        for (size_t j = 0; j < N; j++)
            c_row[j] = 0.0f;
        for (size_t k = 0; k < K; k++) {
            const float a = a_row[k];
            const float *b_row = B + k * N;
            for (size_t j = 0; j < N; j++)
                c_row[j] += a * b_row[j];
        }
    }
}
