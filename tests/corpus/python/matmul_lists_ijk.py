"""Pure-Python matrix multiply over nested lists, timed."""
import random
import time

N = 200


def random_matrix(n):
    return [[random.random() for _ in range(n)] for _ in range(n)]


def matmul(A, B):
    C = [[0.0] * N for _ in range(N)]
    for i in range(N):  # expect: GS101 routine=gemm idiom=gemm dims=200x200x200 order=ijk layout=C:row,A:row,B:row function=matmul
        for j in range(N):
            for k in range(N):
                C[i][j] += A[i][k] * B[k][j]
    return C


if __name__ == "__main__":
    A = random_matrix(N)
    B = random_matrix(N)
    t0 = time.perf_counter()
    C = matmul(A, B)
    print(f"{time.perf_counter() - t0:.2f} s, C[0][0]={C[0][0]:.3f}")
