# negative: FP32 matmul on the CPU; TF32 only matters on a CUDA device.
import torch

x = torch.randn(512, 256)
w = torch.randn(256, 128)
y = torch.mm(x, w)
print(y.sum())
