"""Hand-written attention (GS501) that must not be rewritten; each
function's reason is asserted by tests/tests/fixes_python.rs."""
import math

import torch
import torch.nn.functional as F


def with_dropout(q, k, v, training):
    att = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    att = F.softmax(att, dim=-1)
    att = F.dropout(att, p=0.1, training=training)
    return att @ v


def weights_returned(q, k, v):
    att = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    att = F.softmax(att, dim=-1)
    y = att @ v
    return y, att


def finite_fill(q, k, v, mask):
    att = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    att = att.masked_fill(mask == 0, -1e9)
    att = F.softmax(att, dim=-1)
    return att @ v


def other_axis(q, k, v):
    att = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    att = F.softmax(att, dim=-2)
    return att @ v


def scaled_after_mask(q, k, v, bias):
    att = q @ k.transpose(-2, -1) + bias
    att = att / math.sqrt(q.size(-1))
    att = F.softmax(att, dim=-1)
    return att @ v


def plain_t(q, k, v):
    att = q @ k.T
    att = F.softmax(att, dim=-1)
    return att @ v


class Stored(torch.nn.Module):
    def forward(self, q, k, v):
        att = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
        att = F.softmax(att, dim=-1)
        self.last_attention = att
        y = att @ v
        return y
