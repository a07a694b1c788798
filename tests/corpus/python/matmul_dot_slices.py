"""Per-output dot products of a row and a column: each C[i, j] is a NumPy
call, but the i/j loops around it are still a GEMM done one output at a
time."""
import numpy as np


def mm_dot(A, B, C):
    for i in range(A.shape[0]):  # expect: GS101 routine=gemm dims=A.shape[0]xB.shape[1]xA.shape[1] order=ijk layout=C:row,A:row,B:row
        for j in range(B.shape[1]):
            C[i, j] = np.dot(A[i, :], B[:, j])


def mm_sum(A, B):
    n, m = A.shape[0], B.shape[1]
    C = np.zeros((n, m))
    for i in range(n):  # expect: GS101 routine=gemm dtype=f64 order=ijk
        for j in range(m):
            C[i, j] = np.sum(A[i, :] * B[:, j])
    return C


def mm_matmul_row(A, B):
    C = np.empty((A.shape[0], B.shape[1]), dtype=np.float32)
    for j in range(B.shape[1]):  # expect: GS101 routine=gemm dtype=f32 order=jik
        for i in range(A.shape[0]):
            C[i, j] = A[i] @ B[:, j]
    return C


def gemv_dot(W, x0):
    x = np.zeros(W.shape[0])
    x[:] = x0
    y = np.zeros(W.shape[1])
    for j in range(W.shape[1]):  # expect: GS201 routine=gemv
        y[j] = np.dot(x, W[:, j])
    return y


def row_norms(X, Y):
    # Not a GEMM: each row meets its own row of Y.
    out = np.empty(len(X))
    for r in range(len(X)):
        out[r] = np.dot(X[r], Y[r])
    return out
