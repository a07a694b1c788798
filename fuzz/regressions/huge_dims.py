# Python spelling of huge_dims.c: module constants far past 2^32.
N = 5000000000
M = 2 ** 62
def mm(A, B, C):
    for i in range(M):
        for j in range(N):
            for k in range(N):
                C[i][j] += A[i][k] * B[k][j]
