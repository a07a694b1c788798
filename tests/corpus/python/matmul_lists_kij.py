"""Outer-product accumulation: for each k, add column k of A times row k of B."""
import random

SIZE = 64


def outer_accumulate(A, B):
    C = [[0.0] * SIZE for _ in range(SIZE)]
    for k in range(SIZE):  # expect: GS101 routine=gemm dims=64x64x64 order=kij
        for i in range(SIZE):
            for j in range(SIZE):
                C[i][j] = C[i][j] + A[i][k] * B[k][j]
    return C


A = [[random.gauss(0, 1) for _ in range(SIZE)] for _ in range(SIZE)]
B = [[random.gauss(0, 1) for _ in range(SIZE)] for _ in range(SIZE)]
print(sum(map(sum, outer_accumulate(A, B))))
