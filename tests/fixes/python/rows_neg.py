"""Row-product loops (GS401) that must not be rewritten; each function's
reason is asserted by tests/tests/fixes_python.rs."""
import numpy as np


def step_two(X, W, n):
    out = np.zeros((n, W.shape[1]))
    for r in range(0, n, 2):
        out[r] = X[r] @ W
    return out


def extra_statement(X, W, n):
    out = np.zeros((n, W.shape[1]))
    seen = []
    for r in range(n):
        out[r] = X[r] @ W
        seen.append(r)
    return out, seen


def index_read_after(X, W, n):
    out = np.zeros((n, W.shape[1]))
    for r in range(n):
        out[r] = X[r] @ W
    return out, r


def bias_added(X, W, b, n):
    out = np.zeros((n, W.shape[1]))
    for r in range(n):
        out[r] = X[r] @ W + b
    return out


def list_output(X, W, n):
    out = [None] * n
    for r in range(n):
        out[r] = np.dot(X[r], W)
    return out


def other_axis(X, W, n):
    out = np.zeros((n, W.shape[1]))
    for r in range(n):
        out[r] = X[:, r] @ W
    return out


def weight_from_call(X, W, n):
    out = np.zeros((n, W.shape[1]))
    for r in range(n):
        out[r] = X[r] @ W.copy()
    return out


def appended(X, W):
    out = []
    for r in range(len(X)):
        out.append(X[r] @ W)
    return out
