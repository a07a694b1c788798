/* ikj order with A[i][k] hoisted out of the inner loop. */
#define M 640
#define P 320
#define Q 480

double A[M][Q], B[Q][P], C[M][P];

void matmul_hoisted(void)
{
    for (int i = 0; i < M; i++) {   // expect: GS101 routine=gemm dims=640x320x480 dtype=f64 order=ikj layout=C:row,A:row,B:row
        for (int k = 0; k < Q; k++) {
            double aik = A[i][k];
            for (int j = 0; j < P; j++) {
                C[i][j] += aik * B[k][j];
            }
        }
    }
}
