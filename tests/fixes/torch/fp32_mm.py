"""An FP32 matrix product on the GPU with default settings (GS602): the
fixture for the TF32 and bf16-autocast rewrites. GEMMSCOPE_TORCH_DEVICE
picks the device (the tests run it on the CPU, where both settings are
no-ops; microbench/gpu-check.sh on CUDA, where they are not)."""
import os

import torch

DEVICE = os.environ.get("GEMMSCOPE_TORCH_DEVICE", "cuda")


def product(m, n, k, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(m, k, generator=g).to(DEVICE)
    b = torch.randn(k, n, generator=g).to(DEVICE)
    c = torch.mm(a, b)
    return c.float().cpu()
