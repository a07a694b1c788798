# negative: modules and calls that look like attention steps but make none:
# an nn.Softmax over class scores, a module or method between the products
# that is not a softmax or a bias, a Sequential that starts with ReLU, and a
# dropout of a product with no softmax.
import torch
from torch import nn
import torch.nn.functional as F


class ClassifierHead(nn.Module):
    """Near miss: an nn.Softmax over class scores, no product with values."""

    def __init__(self, width, classes):
        super().__init__()
        self.fc = nn.Linear(width, classes)
        self.prob = nn.Softmax(dim=1)

    def forward(self, x, w):
        return self.prob(x @ w)


class IdentityNotSoftmax(nn.Module):
    """Near miss: the module called between the products is not a softmax."""

    def __init__(self):
        super().__init__()
        self.mix = nn.Identity()
        self.unused = nn.Softmax(dim=-1)

    def forward(self, q, k, v):
        s = torch.matmul(q, k.transpose(-1, -2))
        s = self.mix(s)
        return torch.matmul(s, v)


class SequentialNotSoftmax(nn.Module):
    """Near miss: a Sequential that starts with something else."""

    def __init__(self):
        super().__init__()
        self.normalise = nn.Sequential(nn.ReLU(), nn.Softmax(dim=-1))

    def forward(self, q, k, v):
        sim = torch.einsum("b h i d, b h j d -> b h i j", q, k)
        return torch.einsum("b h i j, b h j d -> b h i d", self.normalise(sim), v)


class ReluMethodNotBias(nn.Module):
    """Near miss: the method between the products is not a bias."""

    def __init__(self):
        super().__init__()
        self.normalise = nn.Softmax(dim=-1)

    def squash(self, scores):
        return torch.relu(scores)

    def forward(self, q, k, v):
        s = self.squash(torch.matmul(q, k.transpose(-1, -2)))
        return torch.matmul(self.normalise(s), v)


def not_attention(x, w, keep):
    """Near miss: a dropout and a product with no softmax is not attention."""
    if keep:
        h = F.dropout(x @ w, 0.1)
    else:
        h = F.scaled_dot_product_attention(x, x, x)
    return h @ w.t()
