/* The loop bound is a macro that names the function's parameter. */
#define NN n
#define ELEM(M, r, c) M[(r) * NN + (c)]

void square_matmul(int n, const double *X, const double *Y, double *Z)
{
    for (int r = 0; r < NN; r++) {   // expect: GS101 routine=gemm dims=NNxNNxNN dtype=f64 order=ijk layout=C:row,A:row,B:row
        for (int c = 0; c < NN; c++) {
            double t = 0;
            for (int q = 0; q < NN; q++)
                t += ELEM(X, r, q) * ELEM(Y, q, c);
            ELEM(Z, r, c) = t;
        }
    }
}
