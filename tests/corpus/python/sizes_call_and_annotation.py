"""Sizes of Python loops: from the call sites' constant arguments (a literal,
a module constant, a keyword argument) and from a `gemmscope: size` comment."""

HIDDEN = 96


def mat_product(a, b, out, rows, inner, cols):
    for i in range(rows):  # expect: GS101 routine=gemm dims=64x32x96 sources=call-site,call-site,call-site function=mat_product
        for j in range(cols):
            acc = 0.0
            for k in range(inner):
                acc += a[i][k] * b[k][j]
            out[i][j] = acc


# gemmscope: size M=1024
def annotated(a, b, out, M):
    for i in range(M):  # expect: GS101 routine=gemm dims=1024x1024x1024 sources=annotation,annotation,annotation function=annotated
        for j in range(M):
            acc = 0.0
            for k in range(M):
                acc += a[i][k] * b[k][j]
            out[i][j] = acc


def not_called(a, b, out, n):
    for i in range(n):  # expect: GS101 routine=gemm dims=nxnxn sources=-,-,- function=not_called
        for j in range(n):
            acc = 0.0
            for k in range(n):
                acc += a[i][k] * b[k][j]
            out[i][j] = acc


mat_product(None, None, None, 64, HIDDEN, cols=32)
