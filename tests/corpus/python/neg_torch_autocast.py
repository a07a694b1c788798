# negative: the model runs under torch.autocast, so its matmuls use FP16.
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(1024, 4096), nn.GELU(), nn.Linear(4096, 1024)).cuda()
x = torch.randn(64, 1024, device="cuda")

with torch.autocast(device_type="cuda", dtype=torch.float16):
    y = model(x)
    z = torch.matmul(y, y.T)
print(z.dtype)
