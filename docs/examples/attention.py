"""Hand-written pieces of a transformer layer in NumPy and pure Python."""
import numpy as np

SEQ = 512
D = 64


def attention(q, k, v):
    scores = q @ k.T / np.sqrt(D)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v


def matmul_lists(a, b):
    n, m, p = len(a), len(b), len(b[0])
    c = [[0.0] * p for _ in range(n)]
    for i in range(n):
        for j in range(p):
            for k in range(m):
                c[i][j] += a[i][k] * b[k][j]
    return c


if __name__ == "__main__":
    q = np.random.rand(SEQ, D).astype(np.float32)
    k = np.random.rand(SEQ, D).astype(np.float32)
    v = np.random.rand(SEQ, D).astype(np.float32)
    print(attention(q, k, v).shape)
