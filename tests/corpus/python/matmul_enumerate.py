"""Iterates over rows with enumerate()."""


def matmul(A, B, p, n):
    C = []
    for i, row in enumerate(A):  # expect: GS101 routine=gemm order=ijk
        C.append([0.0] * p)
        for j in range(p):
            s = 0.0
            for k in range(n):
                s += row[k] * B[k][j]
            C[i][j] = s
    return C
