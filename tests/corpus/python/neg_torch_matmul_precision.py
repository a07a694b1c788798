# negative: torch.set_float32_matmul_precision("high") lets FP32 matmuls use
# TF32, so there is nothing to advise.
import torch

torch.set_float32_matmul_precision("high")

q = torch.randn(2048, 2048, device="cuda")
k = torch.randn(2048, 2048, device="cuda")
out = q @ k
print(out.shape)
