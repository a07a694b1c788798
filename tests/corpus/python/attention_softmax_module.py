"""Attention whose softmax is an nn.Softmax module bound in __init__."""
import torch
from torch import nn


class ModuleSoftmaxAttention(nn.Module):
    def __init__(self, width, heads=8, head_width=64, p=0.0):
        super().__init__()
        self.heads = heads
        self.scale = head_width ** -0.5
        self.normalise = nn.Softmax(dim=-1)
        self.drop = nn.Dropout(p)
        self.qkv = nn.Linear(width, 3 * heads * head_width, bias=False)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        logits = torch.matmul(q, k.transpose(-1, -2)) * self.scale  # expect: GS501 routine=sdpa idiom=attention function=ModuleSoftmaxAttention.forward
        weights = self.normalise(logits)
        weights = self.drop(weights)
        return torch.matmul(weights, v)


class SequentialSoftmaxAttention(nn.Module):
    """The softmax and the dropout in one nn.Sequential; a bias is added."""

    def __init__(self, heads, p=0.1):
        super().__init__()
        self.normalise = nn.Sequential(nn.Softmax(dim=-1), nn.Dropout(p))
        self.bias = nn.Parameter(torch.zeros(heads, 1, 1))

    def forward(self, q, k, v):
        sim = torch.einsum("b h i d, b h j d -> b h i j", q, k)  # expect: GS501 routine=sdpa idiom=attention function=SequentialSoftmaxAttention.forward
        sim = sim + self.bias
        weights = self.normalise(sim)
        return torch.einsum("b h i j, b h j d -> b h i d", weights, v)


class BiasMethodAttention(nn.Module):
    """A method adds a learned positional bias to the scores."""

    def __init__(self, heads, n):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(heads, n, n))
        self.normalise = nn.Softmax(dim=-1)

    def with_bias(self, scores):
        return scores + self.table

    def forward(self, q, k, v):
        s = torch.matmul(q, k.transpose(-1, -2))  # expect: GS501 routine=sdpa idiom=attention function=BiasMethodAttention.forward
        s = self.with_bias(s)
        return torch.matmul(self.normalise(s), v)
