"""Trains a linear classifier on the GPU in FP32."""
import torch
import torch.nn as nn

device = torch.device("cuda")
model = nn.Linear(4096, 1000).to(device)  # expect: GS602 routine=gemm idiom=slow-library-call
opt = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()

for step in range(100):
    x = torch.randn(256, 4096, device=device)
    y = torch.randint(0, 1000, (256,), device=device)
    loss = loss_fn(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(loss.item())
