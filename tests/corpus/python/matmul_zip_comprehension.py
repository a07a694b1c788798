"""The one-liner matrix product with zip."""


def matmul(A, B):
    return [[sum(a * b for a, b in zip(row, col)) for col in zip(*B)] for row in A]  # expect: GS101 routine=gemm dims=len(A)xlen(B[0])xlen(A[0])


def identity(n):
    return [[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)]


print(matmul([[1.0, 2.0], [3.0, 4.0]], identity(2)))
