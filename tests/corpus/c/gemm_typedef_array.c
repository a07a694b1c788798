/* Small fixed-size matrix helpers of a graphics math header: the matrix
 * type is an array typedef of an array typedef, so the element type is
 * the innermost one (double). */
typedef double vec3d[3];
typedef vec3d mat3d[3];

void mat3d_mul(mat3d out, mat3d x, mat3d y)
{
    int r, c, k;
    for (r = 0; r < 3; ++r)   // expect: GS101 routine=gemm dims=3x3x3 dtype=f64 function=mat3d_mul
        for (c = 0; c < 3; ++c) {
            out[r][c] = 0.0;
            for (k = 0; k < 3; ++k)
                out[r][c] += x[r][k] * y[k][c];
        }
}

/* near miss: component-wise product of the same types */
void mat3d_hadamard(mat3d out, mat3d x, mat3d y)
{
    int r, c;
    for (r = 0; r < 3; ++r)
        for (c = 0; c < 3; ++c)
            out[r][c] = x[r][c] * y[r][c];
}

/* near miss: transpose */
void mat3d_transpose(mat3d out, mat3d x)
{
    int r, c;
    for (r = 0; r < 3; ++r)
        for (c = 0; c < 3; ++c)
            out[r][c] = x[c][r];
}
