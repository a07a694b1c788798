# negative: Cholesky factorisation (potrf): dot products of rows of L with
# itself inside triangular loops.
import math


def cholesky(A, n):
    L = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = 0.0
            for k in range(j):
                s += L[i][k] * L[j][k]
            if i == j:
                L[i][j] = math.sqrt(A[i][i] - s)
            else:
                L[i][j] = (A[i][j] - s) / L[j][j]
    return L


print(cholesky([[4.0, 2.0], [2.0, 3.0]], 2))
