# negative: symbolic arithmetic — SymPy vectors' .dot() and loops over lists
# of SymPy expressions look like row products and a matrix multiply, but the
# elements are symbols: no BLAS call can compute them.
import sympy as sp


def mass_matrix(partials, inertial_force, o):
    forcing = [0] * o
    for j in range(o):
        forcing[j] += inertial_force.dot(partials[j])
    return forcing


def symbolic_matmul(A, B):
    n, m, p = len(A), len(B), len(B[0])
    C = [[sp.Integer(0)] * p for _ in range(n)]
    for i in range(n):
        for j in range(p):
            for k in range(m):
                C[i][j] += A[i][k] * B[k][j]
    return C
