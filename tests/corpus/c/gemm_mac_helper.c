/* The multiply-add of a triple loop over 2-D arrays lives in a helper that
 * takes the output by reference: the loops themselves hold no product. */
#define NN 96

static void madd(double *acc, double x, double y)
{
    *acc += x * y;
}

void mm_refs(double P[NN][NN], double Q[NN][NN], double R[NN][NN])
{
    for (int i = 0; i < NN; i++)   // expect: GS101 routine=gemm dims=96x96x96 dtype=f64 order=ijk function=mm_refs layout=C:row,A:row,B:row
        for (int j = 0; j < NN; j++)
            for (int k = 0; k < NN; k++)
                madd(&R[i][j], P[i][k], Q[k][j]);
}

/* near miss: the same helper over an elementwise product (no reduction
 * index shared by the operands). */
void hadamard_refs(double P[NN][NN], double Q[NN][NN], double R[NN][NN])
{
    for (int i = 0; i < NN; i++)
        for (int j = 0; j < NN; j++)
            madd(&R[i][j], P[i][j], Q[i][j]);
}
