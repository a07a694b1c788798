    c = torch.matmul(a, b)
for _ in range(20):
    c = torch.matmul(a, b)
torch.cuda.synchronize()
