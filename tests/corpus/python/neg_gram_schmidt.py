# negative: classical Gram-Schmidt — R[i][j] is computed inside the nest from
# the columns already orthogonalised, so the update Q[:, j] -= R[i][j]*Q[:, i]
# is a recurrence, not a triangular matrix product.
import math


def gram_schmidt(A):
    rows, cols = len(A), len(A[0])
    Q = [row[:] for row in A]
    R = [[0.0] * cols for _ in range(cols)]
    for j in range(cols):
        for i in range(j):
            R[i][j] = sum(Q[k][i] * A[k][j] for k in range(rows))
            for k in range(rows):
                Q[k][j] -= R[i][j] * Q[k][i]
        norm = math.sqrt(sum(Q[k][j] * Q[k][j] for k in range(rows)))
        R[j][j] = norm
        for k in range(rows):
            Q[k][j] /= norm
    return Q, R
