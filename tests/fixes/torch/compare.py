"""Runs `product` of an original and a rewritten GS602 fixture on the same
inputs and compares the results, relative to the result's norm.

    python compare.py ORIGINAL REWRITTEN TOLERANCE

Prints one line per size (the relative error) and exits 1 when one is over
TOLERANCE. The device is GEMMSCOPE_TORCH_DEVICE (default cuda)."""
import importlib.util
import sys
import warnings

import torch


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def main():
    orig, new, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    # autocast(device_type="cuda") warns and does nothing without CUDA.
    warnings.simplefilter("ignore")
    a, b = load(orig, "gs_orig"), load(new, "gs_new")
    # The rewrite must not change the module's settings in the original.
    worst = 0.0
    for m, n, k in [(1, 1, 1), (17, 9, 33), (256, 128, 512), (1024, 1024, 1024)]:
        x = a.product(m, n, k, 7).double()
        y = b.product(m, n, k, 7).double()
        assert x.shape == y.shape, (x.shape, y.shape)
        err = (torch.linalg.norm(x - y) / max(torch.linalg.norm(x).item(), 1e-30)).item()
        worst = max(worst, err)
        print(f"{m}x{n}x{k}: relative error {err:.3e}")
    print(f"worst {worst:.3e} (tolerance {tol:.1e})")
    sys.exit(0 if worst <= tol else 1)


main()
