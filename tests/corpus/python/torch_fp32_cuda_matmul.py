"""Benchmarks a large FP32 matrix product on the GPU with default settings."""
import time

import torch

N = 8192

a = torch.randn(N, N, device="cuda")
b = torch.randn(N, N, device="cuda")
torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(10):
    c = torch.mm(a, b)  # expect: GS602 routine=gemm idiom=slow-library-call
torch.cuda.synchronize()
elapsed = time.perf_counter() - start
print(f"{10 * 2 * N**3 / elapsed / 1e12:.1f} TFLOP/s")
