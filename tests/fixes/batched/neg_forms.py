"""Batched loops the NumPy rewrite (GS104) must refuse, each with its reason."""
import numpy as np


def lists_of_lists(A, B, C):
    # Lists: not rewritten (the result would be copied back level by level).
    nb, m, k, n = len(A), len(A[0]), len(B[0]), len(B[0][0])
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                for p in range(k):
                    C[t][i][j] += A[t][i][p] * B[t][p][j]
    return C


def batch_axis_in_the_middle(a, b, c):
    x = np.asarray(a)
    y = np.asarray(b)
    z = np.array(c)
    nb, m, k = x.shape
    n = y.shape[2]
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                for p in range(k):
                    z[i, t, j] += x[t, i, p] * y[t, p, j]
    return z


def batch_reduction(a, b):
    x = np.asarray(a)
    y = np.asarray(b)
    nb, m, k = x.shape
    n = y.shape[2]
    z = np.zeros((m, n))
    for t in range(nb):
        for i in range(m):
            for j in range(n):
                for p in range(k):
                    z[i, j] += x[t, i, p] * y[t, p, j]
    return z
