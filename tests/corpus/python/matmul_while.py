"""Matrix product with while loops, as translated from a textbook."""


def matmul(a, b, n):
    c = [[0.0] * n for _ in range(n)]
    i = 0
    while i < n:  # expect: GS101 routine=gemm dims=nxnxn order=ijk layout=C:row,A:row,B:row
        j = 0
        while j < n:
            k = 0
            while k < n:
                c[i][j] += a[i][k] * b[k][j]
                k += 1
            j += 1
        i += 1
    return c
