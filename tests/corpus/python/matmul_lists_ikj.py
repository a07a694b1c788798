"""ikj ordering, which keeps the innermost loop on rows of B and C."""


def matmul_ikj(A, B, n, m, p):
    C = [[0.0 for _ in range(p)] for _ in range(n)]
    for i in range(n):  # expect: GS101 routine=gemm dims=3x3x2 order=ikj layout=C:row,A:row,B:row
        for k in range(m):
            a = A[i][k]
            for j in range(p):
                C[i][j] += a * B[k][j]
    return C


def main():
    A = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    B = [[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]]
    print(matmul_ikj(A, B, 3, 2, 3))


main()
