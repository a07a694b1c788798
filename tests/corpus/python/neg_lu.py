# negative: LU factorisation without pivoting. The trailing update
# A[i][j] -= A[i][k] * A[k][j] resembles a GEMM, but the matrix updates
# itself with k-dependent bounds: this is getrf, not a product.


def lu_inplace(A, n):
    for k in range(n):
        for i in range(k + 1, n):
            A[i][k] /= A[k][k]
            for j in range(k + 1, n):
                A[i][j] -= A[i][k] * A[k][j]
    return A


print(lu_inplace([[4.0, 3.0], [6.0, 3.0]], 2))
