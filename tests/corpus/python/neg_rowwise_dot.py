# negative: per-row dot products of two matrices of the same shape
# (einsum "ij,ij->i"). The loop looks like a row-by-row product, but each
# row is paired with the matching row of Y, not with a shared matrix.
import numpy as np


def cosine_rows(X, Y):
    n = X.shape[0]
    out = np.empty(n)
    for r in range(n):
        out[r] = np.dot(X[r], Y[r]) / (np.linalg.norm(X[r]) * np.linalg.norm(Y[r]))
    return out


print(cosine_rows(np.ones((4, 3)), np.ones((4, 3))))


def scaled_copies(Q, X):
    # Q is 2-D, so Q[0, c] is one number: each row is X scaled, not a product.
    out = np.zeros((4,) + X.shape)
    for c in range(4):
        out[c] = np.dot(Q[0, c], X)
    return out
