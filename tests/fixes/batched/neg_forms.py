"""Batched loops the NumPy rewrite (GS104) must refuse, each with its reason."""
import numpy as np


def strided_batch_loop(a, b, c):
    # Every other batch: one `@` would cover a slice with a step.
    x = np.asarray(a)
    y = np.asarray(b)
    z = np.array(c)
    nb, m, k = x.shape
    n = y.shape[2]
    for t in range(0, nb, 2):
        for i in range(m):
            for j in range(n):
                for p in range(k):
                    z[t, i, j] += x[t, i, p] * y[t, p, j]
    return z


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
