"""Attention modules that keep a hand-written path beside a fused kernel."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from flash_attn import flash_attn_func
except ImportError:
    flash_attn_func = None


class FallbackAttention(nn.Module):
    """Fused when flash-attn is installed; the einsum path otherwise."""

    def __init__(self, width, n_head, p):
        super().__init__()
        self.n_head = n_head
        self.attn_drop = nn.Dropout(p)
        self.use_fused = flash_attn_func is not None

    def forward(self, q, k, v, causal_mask):
        if self.use_fused:
            out = flash_attn_func(q, k, v, causal=True)
        else:
            w = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(q.size(-1))  # expect: GS501 routine=sdpa idiom=attention function=FallbackAttention.forward purpose=fallback
            w = w.masked_fill(causal_mask == 0, float("-inf"))
            w = torch.softmax(w, dim=-1)
            w = self.attn_drop(w)
            out = torch.einsum("bhqk,bhkd->bhqd", w, v)
        return out


class FusedFirstElse(nn.Module):
    """The hand path is the `if` branch; the fused call is the `else`."""

    def __init__(self, p):
        super().__init__()
        self.dropout = nn.Dropout(p)

    def forward(self, q, k, v, legacy):
        if legacy:
            s = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(k.size(-1)))  # expect: GS501 routine=sdpa idiom=attention function=FusedFirstElse.forward purpose=fallback
            s = F.softmax(s, dim=-1)
            s = self.dropout(s)
            y = s @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v)
        return y


class MaskedOrNot(nn.Module):
    """Near miss: both branches are written by hand, so neither is a fallback."""

    def forward(self, q, k, v, mask=None):
        if mask is not None:
            a = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # expect: GS501 routine=sdpa idiom=attention function=MaskedOrNot.forward purpose=none
            a = a.masked_fill(mask == 0, float("-inf"))
            a = F.softmax(a, dim=-1)
            y = a @ v
        else:
            b = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # expect: GS501 routine=sdpa idiom=attention function=MaskedOrNot.forward purpose=none
            b = F.softmax(b, dim=-1)
            y = b @ v
        return y


def checked_against_fused(q, k, v):
    """Near miss: the fused call follows the hand path, outside any `if`."""
    s = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)  # expect: GS501 routine=sdpa idiom=attention function=checked_against_fused purpose=none
    mine = s @ v
    ref = F.scaled_dot_product_attention(q, k, v)
    return (mine - ref).abs().max()
