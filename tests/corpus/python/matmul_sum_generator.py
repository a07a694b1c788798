"""Two explicit loops with the reduction as a sum() generator."""


def matmul(A, B, M, N, K):
    C = [[0.0] * N for _ in range(M)]
    for i in range(M):  # expect: GS101 routine=gemm dims=MxNxK order=ijk layout=C:row,A:row,B:row
        for j in range(N):
            C[i][j] = sum(A[i][k] * B[k][j] for k in range(K))
    return C
