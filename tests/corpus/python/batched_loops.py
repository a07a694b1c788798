"""Batched matrix products with explicit loops over NumPy arrays."""
import numpy as np

BATCH = 8
M = 16
N = 24
K = 32


def bmm(A, B):
    C = np.zeros((BATCH, M, N))
    for b in range(BATCH):  # expect: GS104 routine=gemm_batched dims=8x(16x24x32) dtype=f64
        for i in range(M):
            for j in range(N):
                for k in range(K):
                    C[b, i, j] += A[b, i, k] * B[b, k, j]
    return C


A = np.random.rand(BATCH, M, K)
B = np.random.rand(BATCH, K, N)
print(np.abs(bmm(A, B) - A @ B).max())
