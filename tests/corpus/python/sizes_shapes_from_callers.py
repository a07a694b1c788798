"""Sizes from the shapes of the arrays the callers pass (`np.zeros`,
`np.random.rand`), read through `A.shape[d]` and `len(...)` in the loop."""

import numpy as np


def product(A, B, C):
    for i in range(A.shape[0]):  # expect: GS101 routine=gemm dims=128x32x64 sources=call-site,call-site,call-site function=product
        for j in range(B.shape[1]):
            s = 0.0
            for k in range(A.shape[1]):
                s += A[i, k] * B[k, j]
            C[i, j] = s


def lists(A, B, C):
    for i in range(len(A)):  # expect: GS101 routine=gemm dims=len(A)xlen(B[0])xlen(B) sources=-,-,- function=lists
        for j in range(len(B[0])):
            s = 0.0
            for k in range(len(B)):
                s += A[i][k] * B[k][j]
            C[i][j] = s


def main():
    a = np.random.rand(128, 64)
    b = np.zeros((64, 32), dtype=np.float32)
    c = np.empty((128, 32))
    product(a, b, c)
    # Near miss: the shapes of what is passed to `lists` are not known.
    lists(load(), load(), [])
