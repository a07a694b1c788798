"""Loop forms for the NumPy rewrites; tests/tests/fixes.rs runs each
function before and after the rewrite on the same inputs."""
import numpy as np


def nd_accumulate_transposed(at, b, c):
    # A stored transposed (K x M), C updated in a sub-block at (1, 2).
    a_t = np.asarray(at, dtype=np.float32)
    bb = np.asarray(b, dtype=np.float32)
    cc = np.array(c, dtype=np.float32)
    m = a_t.shape[1]
    n = bb.shape[1]
    k = a_t.shape[0]
    for i in range(m):
        for j in range(n):
            for p in range(k):
                cc[i + 1, j + 2] += a_t[p, i] * bb[p, j]
    return cc


def nd_overwrite_scaled(a, b, c, alpha, beta):
    x = np.asarray(a)
    y = np.asarray(b)
    z = np.array(c)
    m, k = x.shape
    n = y.shape[1]
    for i in range(m):
        for j in range(n):
            acc = 0.0
            for p in range(k):
                acc += x[i, p] * y[p, j]
            z[i, j] = alpha * acc + beta * z[i, j]
    return z


def list_in_place_int(A, B, C):
    # Integer lists accumulated in place into part of C: ints stay ints.
    M, K, N = len(A), len(B), len(B[0])
    for k in range(K):
        for i in range(M):
            for j in range(N):
                C[i][j] += A[i][k] * B[k][j]
    return C


def list_overwrite_float(A, B, C):
    # Overwritten from a float accumulator: the result is float even for ints.
    M, K, N = len(A), len(B), len(B[0])
    for i in range(M):
        for j in range(N):
            s = 0.0
            for k in range(K):
                s += A[i][k] * B[k][j]
            C[i][j] = s
    return C


def comprehension_range(A, B):
    n, m, kk = len(A), len(B[0]), len(B)
    return [[sum(A[i][k] * B[k][j] for k in range(kk)) for j in range(m)] for i in range(n)]


def gemv_nd_transposed(a, x, y):
    # y += Aᵀ x with A stored K x M.
    A = np.asarray(a)
    v = np.asarray(x)
    out = np.array(y)
    K, M = A.shape
    for k in range(K):
        for i in range(M):
            out[i] += A[k, i] * v[k]
    return out
