"""Element-by-element NumPy matmul (slow: every a[i, k] is a Python-level
index into an ndarray)."""
import time

import numpy as np

N = 128


def slow_matmul():
    a = np.random.rand(N, N).astype(np.float32)
    b = np.random.rand(N, N).astype(np.float32)
    c = np.zeros((N, N), dtype=np.float32)
    t0 = time.time()
    for i in range(N):  # expect: GS101 routine=gemm dims=128x128x128 dtype=f32 order=ikj layout=C:row,A:row,B:row
        for k in range(N):
            for j in range(N):
                c[i, j] += a[i, k] * b[k, j]
    print("loops:", time.time() - t0)
    assert np.allclose(c, a @ b, atol=1e-3)
    return c


slow_matmul()
