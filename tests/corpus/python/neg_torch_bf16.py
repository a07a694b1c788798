# negative: the tensors are bfloat16, so the product already uses tensor cores.
import torch

N = 4096
a = torch.randn(N, N, device="cuda", dtype=torch.bfloat16)
b = torch.randn(N, N, device="cuda", dtype=torch.bfloat16)
for _ in range(20):
    c = torch.matmul(a, b)
torch.cuda.synchronize()
