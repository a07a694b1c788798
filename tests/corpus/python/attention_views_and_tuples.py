"""Attention whose score matrix is reshaped around the softmax (rows
flattened with .view, then put back), and attention whose weighted sum
of values is returned inside a tuple beside the weights. Near misses: a
reshape around a softmax that is never multiplied by values, and a
returned tuple of two unrelated products."""
import math

import torch
import torch.nn.functional as F


def flat_rows_attention(query, key, value):
    b, n, d = query.shape
    scores = torch.bmm(query, key.transpose(1, 2)) / math.sqrt(d)  # expect: GS501 routine=sdpa idiom=attention function=flat_rows_attention
    weights = F.softmax(scores.view(-1, n), dim=1).view(b, -1, n)
    out = torch.bmm(weights, value)
    return out


def attention_with_weights(q, k, v, mask=None):
    scale = 1.0 / math.sqrt(q.size(-1))
    logits = torch.matmul(q, k.transpose(-2, -1)) * scale  # expect: GS501 routine=sdpa idiom=attention function=attention_with_weights
    if mask is not None:
        logits = logits.masked_fill(mask == 0, -1e9)
    probs = logits.softmax(dim=-1)
    return torch.matmul(probs, v), probs


def reshaped_softmax_only(q, k):
    b, n, _ = q.shape
    s = torch.bmm(q, k.transpose(1, 2))
    return F.softmax(s.reshape(-1, n), dim=1).reshape(b, n, n)


def two_products(a, b, c):
    return torch.matmul(a, b), torch.matmul(b, c)
