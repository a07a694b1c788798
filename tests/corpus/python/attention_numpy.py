"""Single-head scaled dot-product attention written out in NumPy."""
import numpy as np

SEQ = 512
D = 64


def attention(Q, K, V):
    d = Q.shape[-1]
    scores = Q @ K.T / np.sqrt(d)  # expect: GS501 routine=sdpa idiom=attention function=attention
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ V


rng = np.random.default_rng(0)
Q = rng.standard_normal((SEQ, D), dtype=np.float32)
K = rng.standard_normal((SEQ, D), dtype=np.float32)
V = rng.standard_normal((SEQ, D), dtype=np.float32)
print(attention(Q, K, V).shape)
