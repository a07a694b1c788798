"""Matrix-vector product over lists (one step of a Markov chain)."""


def step(P, v, n):
    out = [0.0] * n
    for i in range(n):  # expect: GS201 routine=gemv idiom=gemv dims=2x2 layout=A:row
        acc = 0.0
        for j in range(n):
            acc += P[i][j] * v[j]
        out[i] = acc
    return out


P = [[0.9, 0.1], [0.5, 0.5]]
v = [1.0, 0.0]
for _ in range(10):
    v = step(P, v, 2)
print(v)
