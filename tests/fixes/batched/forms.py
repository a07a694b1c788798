"""Batched loop forms for the NumPy rewrite (GS104); tests/tests/fixes_batched.rs
runs each function before and after the rewrite on the same inputs."""
import numpy as np


def bmm_accumulate(a, b, c):
    x = np.asarray(a)
    y = np.asarray(b)
    z = np.array(c)
    nb, m, k = x.shape
    n = y.shape[2]
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                for p in range(k):
                    z[t, i, j] += x[t, i, p] * y[t, p, j]
    return z


def bmm_shared_weight_overwrite(a, w):
    # One weight matrix for every batch; a fresh accumulator per element.
    x = np.asarray(a)
    y = np.asarray(w)
    nb, m, k = x.shape
    n = y.shape[1]
    out = np.zeros((nb, m, n))
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                s = 0.0
                for p in range(k):
                    s += x[t, i, p] * y[p, j]
                out[t, i, j] = s
    return out


def bmm_transposed_block_scaled(at, b, c, alpha, beta):
    # A stored transposed per batch (k x m), float32, C updated in a
    # sub-block at row offset 1: C = alpha*A*B + beta*C.
    a_t = np.asarray(at, dtype=np.float32)
    y = np.asarray(b, dtype=np.float32)
    z = np.array(c, dtype=np.float32)
    nb, k, m = a_t.shape
    n = y.shape[2]
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                acc = 0.0
                for p in range(k):
                    acc += a_t[t, p, i] * y[t, p, j]
                z[t, i + 1, j] = alpha * acc + beta * z[t, i + 1, j]
    return z


def ttm_mode2(x, u):
    # Y[i][j][l] = sum_k X[i][k][l] * U[j][k]: one GEMM per i, output
    # stored transposed (j before l).
    X = np.asarray(x)
    U = np.asarray(u)
    di, dk, dl = X.shape
    dj = U.shape[0]
    Y = np.zeros((di, dj, dl))
    for i in range(di):
        for j in range(dj):
            for l in range(dl):
                acc = 0.0
                for k in range(dk):
                    acc += X[i, k, l] * U[j, k]
                Y[i, j, l] = acc
    return Y


def bmm_subtract(a, b, c):
    x = np.asarray(a)
    y = np.asarray(b)
    z = np.array(c)
    nb, m, k = x.shape
    n = y.shape[2]
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                for p in range(k):
                    z[t][i][j] -= x[t][i][p] * y[t][p][j]
    return z


def lists_accumulate_int(A, B, C):
    # Lists of ints accumulated in place: ints stay ints, rows keep identity.
    nb, m, k, n = len(A), len(A[0]), len(B[0]), len(B[0][0])
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                for p in range(k):
                    C[t][i][j] += A[t][i][p] * B[t][p][j]
    return C


def lists_fresh_float(A, B):
    # A fresh float zero list replaced with the product: int inputs give floats.
    nb, m, k, n = len(A), len(A[0]), len(B[0]), len(B[0][0])
    C = [[[0.0] * n for _ in range(m)] for _ in range(nb)]
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                for p in range(k):
                    C[t][i][j] += A[t][i][p] * B[t][p][j]
    return C


def lists_overwrite_offset(A, B, C):
    # Overwritten from a float accumulator into a sub-block of a larger C.
    nb, m, k, n = len(A), len(A[0]), len(B[0]), len(B[0][0])
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                s = 0.0
                for p in range(k):
                    s += A[t][i][p] * B[t][p][j]
                C[t + 1][i][j + 2] = s
    return C
