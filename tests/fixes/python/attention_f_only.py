"""Attention (GS501) in a file that imports only `torch.nn.functional as F`:
the rewrite uses `F.` and a boolean mask keeps what masked_fill did not fill."""
import math

import torch.nn.functional as F


def bool_mask(q, k, v, masked):
    att = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(k.size(-1)))
    att = att.masked_fill(masked, float("-inf"))
    att = F.softmax(att, dim=-1)
    return att @ v


def per_query_block(qs, k, v):
    ys = []
    for q in qs:
        att = q @ k.mT
        ys.append(att.softmax(dim=-1) @ v)
    return ys
