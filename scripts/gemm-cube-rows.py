#!/usr/bin/env python3
"""Prints GEMM reference rows for microbench/data/reference.json from the
JSON tables scripts/gemm-cube-sweep.sh wrote (any number of folders, one per
pass): per (candidate, dtype, cube size) the median of the passes' times per
call (the geometric mean of the middle two for an even count). With --spread it prints, instead, each point's relative range
between the passes (what docs/model.md quotes)."""
import glob
import json
import math
import os
import sys

# The machine and source ids of the rows (environment MACHINE, SOURCE).
MACHINE = os.environ.get("MACHINE", "epyc-2c-avx512")
SOURCE = os.environ.get("SOURCE", "gemmscope-epyc-2c-gemm")

args = [a for a in sys.argv[1:] if not a.startswith("--")]
pts, label, prec = {}, {}, {}
for folder in args:
    for f in sorted(glob.glob(folder + "/*.json")):
        try:
            d = json.load(open(f))
        except ValueError:
            continue
        p = d["problem"]
        if not (p["m"] == p["n"] == p["k"]):
            continue
        for r in d["rows"]:
            if r["status"] != "ok" or not r.get("seconds_per_call"):
                continue
            key = (r["id"], p["dtype"], p["m"])
            pts.setdefault(key, []).append(r["seconds_per_call"])
            label[key] = r["candidate"]
            prec[key] = r["dtype"]
rows = []
for key in sorted(pts, key=lambda k: (k[0], k[1], k[2])):
    ts = pts[key]
    ts = sorted(ts)
    n = len(ts)
    gm = ts[n // 2] if n % 2 else math.sqrt(ts[n // 2 - 1] * ts[n // 2])
    if "--spread" in sys.argv:
        print(key, len(ts), "%.0f%%" % (100 * (max(ts) - min(ts)) / gm))
        continue
    cid, dt, s = key
    rows.append(
        "    "
        + json.dumps(
            {
                "machine": MACHINE,
                "candidate": cid,
                "label": label[key],
                "size": s,
                "dtype": dt,
                "precision": prec[key],
                "seconds": float("%.4g" % gm),
                "source": SOURCE,
            },
            ensure_ascii=False,
        )
    )
if rows:
    print(",\n".join(rows))
