"""Loop order j, k, i: builds C one column at a time from columns of A."""


def matmul_jki(A, B, M, N, K):
    C = [[0.0] * N for _ in range(M)]
    for j in range(N):  # expect: GS101 routine=gemm dims=MxNxK order=jki layout=C:row,A:row,B:row
        for k in range(K):
            b = B[k][j]
            for i in range(M):
                C[i][j] += A[i][k] * b
    return C
