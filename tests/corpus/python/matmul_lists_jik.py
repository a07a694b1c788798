"""Column-at-a-time product, loop order j, i, k."""


def matmul_jik(a, b, rows, inner, cols):
    c = [[0.0] * cols for _ in range(rows)]
    for j in range(cols):  # expect: GS101 routine=gemm dims=rowsxcolsxinner order=jik
        for i in range(rows):
            s = 0.0
            for k in range(inner):
                s += a[i][k] * b[k][j]
            c[i][j] = s
    return c
