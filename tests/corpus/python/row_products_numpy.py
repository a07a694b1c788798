"""Applies a projection one row at a time instead of as one matrix product."""
import numpy as np

R = 10000
D_IN = 256
D_OUT = 64


def project(X, W):
    out = np.empty((R, D_OUT), dtype=np.float32)
    for r in range(R):  # expect: GS401 routine=gemm idiom=gemm
        out[r] = np.dot(X[r], W)
    return out


X = np.random.randn(R, D_IN).astype(np.float32)
W = np.random.randn(D_IN, D_OUT).astype(np.float32)
Y = project(X, W)
print(Y.shape)


def column_products(Q, X):
    """The loop takes Q's columns: one product of Q's transpose."""
    n, k = Q.shape
    return [np.dot(Q[:, c], X) for c in range(k)]  # expect: GS401 routine=gemm idiom=gemm layout=C:row,A:col,B:row
