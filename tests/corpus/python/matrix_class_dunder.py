# A small pure-Python matrix class: `@` and `*` implemented by hand over
# lists of lists, and a power by repeated multiplication.


class Mat:
    def __init__(self, rows):
        self.rows = rows
        self.h = len(rows)
        self.w = len(rows[0])

    def __matmul__(self, other):
        out = [[0.0] * other.w for _ in range(self.h)]
        for r in range(self.h):  # expect: GS101 routine=gemm order=ijk function=Mat.__matmul__
            for c in range(other.w):
                acc = 0.0
                for t in range(self.w):
                    acc += self.rows[r][t] * other.rows[t][c]
                out[r][c] = acc
        return Mat(out)

    def __mul__(self, other):
        # near miss: the elementwise (Hadamard) product
        return Mat([[self.rows[r][c] * other.rows[r][c] for c in range(self.w)] for r in range(self.h)])

    def transpose(self):
        # near miss: a layout change, no arithmetic
        return Mat([[self.rows[r][c] for r in range(self.h)] for c in range(self.w)])

    def trace(self):
        # near miss: a reduction over the diagonal
        return sum(self.rows[i][i] for i in range(self.h))


def dot_product(a, b):
    n, k, m = len(a), len(b), len(b[0])
    res = [[0.0 for _ in range(m)] for _ in range(n)]
    for i in range(n):  # expect: GS101 routine=gemm order=ikj function=dot_product
        for p in range(k):
            for j in range(m):
                res[i][j] += a[i][p] * b[p][j]
    return res
