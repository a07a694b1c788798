#!/usr/bin/env python3
"""Prints the `gemv_curves` entries of microbench/data/reference.json from
the JSON tables that scripts/gemv-sweep.sh wrote (any number of folders, one
per pass): per (candidate, dtype, layout, loop order) and M×K, the median of
the passes' times, and as `spread` the relative range between the passes
(the in-run spread when there is one pass). The libraries (OpenBLAS, NumPy)
do not depend on the naive loop's order: only their `ik` tables are read."""
import glob
import json
import math
import os
import sys

# The machine and source ids of the rows (environment MACHINE, SOURCE).
MACHINE = os.environ.get("MACHINE", "epyc-2c-avx512")
SOURCE = os.environ.get("SOURCE", "gemmscope-epyc-2c")

pts = {}
for folder in sys.argv[1:]:
    for f in sorted(glob.glob(folder + "/*.json")):
        try:
            d = json.load(open(f))
        except ValueError:
            continue
        p = d["problem"]
        for r in d["rows"]:
            if r["status"] != "ok" or not r.get("seconds_per_call"):
                continue
            lib = r["id"] in ("openblas", "numpy")
            if lib and p["loop_order"] != "ikj":
                continue
            lay = "tn" if p["layout"]["trans_a"] else "nn"
            key = (r["id"], p["dtype"], lay, None if lib else p["loop_order"])
            spread = r["provenance"].get("spread") or 0.0
            pts.setdefault(key, {}).setdefault((p["m"], p["k"]), []).append(
                (r["seconds_per_call"], spread)
            )
out = []
for key, by_shape in sorted(pts.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
    cid, dt, lay, order = key
    rows = []
    for (m, k), ms in by_shape.items():
        ts = sorted(t for t, _ in ms)
        n = len(ts)
        med = ts[n // 2] if n % 2 else math.sqrt(ts[n // 2 - 1] * ts[n // 2])
        spread = (ts[-1] - ts[0]) / med if n >= 2 else ms[0][1]
        rows.append([m, k, float("%.4g" % med), float("%.2g" % spread)])
    rows.sort(key=lambda x: (x[0] * x[1], x[0]))
    c = {"machine": MACHINE, "source": SOURCE, "candidate": cid, "dtype": dt, "layout": lay}
    if order:
        c["order"] = order
    head = json.dumps(c, ensure_ascii=False)[:-1]
    out.append("    " + head + ', "points": [' + ", ".join(json.dumps(x) for x in rows) + "]}")
print(",\n".join(out))
