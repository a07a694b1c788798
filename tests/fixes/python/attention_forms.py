"""Hand-written attention (GS501) that is rewritten into
torch.nn.functional.scaled_dot_product_attention.

Driven by tests/tests/fixes_python.rs: each function is run before and
after the rewrite on the same random tensors.
"""
import math

import torch
import torch.nn.functional as F


def default_scale(q, k, v):
    att = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    att = F.softmax(att, dim=-1)
    return torch.matmul(att, v)


def masked_scaled(q, k, v, mask, scale):
    att = q @ k.mT * scale
    att = att.masked_fill(mask == 0, float("-inf"))
    att = att.softmax(-1)
    y = att @ v
    return y


def causal(q, k, v):
    t = q.size(-2)
    att = (q @ k.transpose(-1, -2)) / math.sqrt(k.size(-1))
    att = att.masked_fill(torch.tril(torch.ones(t, t)) == 0, float("-inf"))
    att = torch.softmax(att, dim=-1)
    out = att @ v
    return out


def additive_bias(q, k, v, bias):
    scores = q @ k.transpose(-2, -1)
    scores /= 8.0
    scores = scores + bias
    w = torch.softmax(scores, dim=-1)
    out = w @ v
    return out


def unscaled_with_unrelated(q, k, v):
    s = torch.matmul(q, k.transpose(-2, -1))
    n = 3
    p = F.softmax(s, dim=-1)
    y = (p @ v) * n
    return y
