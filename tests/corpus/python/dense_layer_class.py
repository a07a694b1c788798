"""A tiny fully connected layer implemented with Python loops."""
import random


class Dense:
    def __init__(self, n_in, n_out):
        self.n_in = n_in
        self.n_out = n_out
        self.w = [[random.uniform(-0.1, 0.1) for _ in range(n_out)] for _ in range(n_in)]
        self.b = [0.0] * n_out

    def forward(self, x, batch):
        out = [[0.0] * self.n_out for _ in range(batch)]
        for i in range(batch):  # expect: GS101 routine=gemm order=ijk function=Dense.forward layout=A:row,B:row
            for j in range(self.n_out):
                acc = self.b[j]
                for k in range(self.n_in):
                    acc += x[i][k] * self.w[k][j]
                out[i][j] = acc
        return out


layer = Dense(8, 4)
print(layer.forward([[1.0] * 8, [0.5] * 8], 2))
