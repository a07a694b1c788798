# A script that multiplies two matrices at module level, no functions.
import random

ROWS = 50
INNER = 40
COLS = 30

A = [[random.random() for _ in range(INNER)] for _ in range(ROWS)]
B = [[random.random() for _ in range(COLS)] for _ in range(INNER)]
C = [[0.0] * COLS for _ in range(ROWS)]

for i in range(ROWS):  # expect: GS101 routine=gemm dims=50x30x40 order=ijk layout=C:row,A:row,B:row function=<module>
    for j in range(COLS):
        total = 0.0
        for k in range(INNER):
            total += A[i][k] * B[k][j]
        C[i][j] = total

print(C[0][:5])
