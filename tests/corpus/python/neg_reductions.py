# negative: plain reductions (sum, dot product, Frobenius norm, row sums).
import math


def total(xs):
    s = 0.0
    for x in xs:
        s += x
    return s


def dot(a, b, n):
    s = 0.0
    for i in range(n):
        s += a[i] * b[i]
    return s


def frobenius(A, m, n):
    s = 0.0
    for i in range(m):
        for j in range(n):
            s += A[i][j] * A[i][j]
    return math.sqrt(s)


def row_sums(A, m, n):
    out = [0.0] * m
    for i in range(m):
        for j in range(n):
            out[i] += A[i][j]
    return out
