"""Loop order k, j, i with 1-based-friendly range arguments."""


def gemm_kji(A, B, C, m, n, kk):
    for k in range(0, kk):  # expect: GS101 routine=gemm dims=mxnxkk order=kji layout=C:row,A:row,B:row
        for j in range(0, n):
            for i in range(0, m, 1):
                C[i][j] += A[i][k] * B[k][j]
    return C
