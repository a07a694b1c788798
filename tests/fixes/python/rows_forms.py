"""Row-product loops (GS401) that are rewritten into one matrix product.

Driven by tests/tests/fixes_python.rs: each function is run before and
after the rewrite on the same random inputs.
"""
import numpy as np


def dot_rows(X, W):
    # float64 inputs stored into a float32 output: the dtype of `out` is kept.
    out = np.empty((X.shape[0], W.shape[1]), dtype=np.float32)
    for r in range(X.shape[0]):
        out[r] = np.dot(X[r], W)
    return out


def accumulate_from_offset(X, W, lo, hi):
    # Accumulated in place, rows lo..hi only; the other rows keep their ones.
    out = np.ones((len(X), W.shape[1]), dtype=np.float32)
    for r in range(lo, hi):
        out[r] += X[r] @ W
    return out


def weight_first(X, W: np.ndarray):
    out = np.zeros((len(X), W.shape[0]))
    for r in range(len(X)):
        out[r, :] = W @ X[r, :]
    return out


def lists_weight_first(X, W):
    # Nested lists: np.matmul converts them as np.dot did.
    out = np.zeros((len(X), len(W)))
    for i in range(len(X)):
        out[i] = np.matmul(W, X[i])
    return out


def columns(X, W):
    out = np.zeros((W.shape[0], X.shape[1]), dtype=X.dtype)
    for c in range(X.shape[1]):
        out[:, c] = W @ X[:, c]
    return out


def int_rows(X, W):
    out = np.zeros((len(X), W.shape[1]), dtype=np.int64)
    for r in range(len(X)):
        out[r] = X[r].dot(W)
    return out
