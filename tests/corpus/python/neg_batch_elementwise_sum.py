# negative: element-wise products summed over a batch. Three loops and a
# multiply-accumulate, but both factors use the same (i, j) as the output,
# so the batch index b is the only reduction and no matrix product results.
import numpy as np

B, R, C = 32, 64, 64


def weighted_sum(X, Y):
    acc = np.zeros((R, C), dtype=np.float32)
    for b in range(B):
        for i in range(R):
            for j in range(C):
                acc[i, j] += X[b, i, j] * Y[b, i, j]
    return acc
