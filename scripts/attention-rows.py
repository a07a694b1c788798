#!/usr/bin/env python3
"""Prints attention reference rows for microbench/data/reference.json from the
JSON tables scripts/attention-sweep.sh wrote (any number of folders, one per
pass): per (candidate, dtype, heads, T, head dim) the median of the passes'
times per call (the geometric mean of the middle two for an even count), and
as `spread` the relative range between the passes."""
import glob
import json
import math
import sys

MACHINE, SOURCE = "epyc-2c-avx512", "gemmscope-epyc-2c-attention"

pts, label, prec = {}, {}, {}
for folder in sys.argv[1:]:
    for f in sorted(glob.glob(folder + "/*.json")):
        try:
            d = json.load(open(f))
        except ValueError:
            continue
        p = d["problem"]
        if p.get("op") != "attention":
            continue
        for r in d["rows"]:
            if r["status"] != "ok" or not r.get("seconds_per_call"):
                continue
            key = (r["id"], p["dtype"], p["batch"], p["m"], p["k"])
            pts.setdefault(key, []).append(r["seconds_per_call"])
            label[key] = r["candidate"]
            prec[key] = r["dtype"]
for key in sorted(pts):
    ts = sorted(pts[key])
    n = len(ts)
    mid = ts[n // 2] if n % 2 else math.sqrt(ts[n // 2 - 1] * ts[n // 2])
    cand, dt, heads, t, d = key
    row = {
        "machine": MACHINE,
        "candidate": cand,
        "label": label[key],
        "op": "attention",
        "batch": heads,
        "m": t,
        "k": d,
        "spread": round((ts[-1] - ts[0]) / mid, 3),
        "dtype": dt,
        "precision": prec[key],
        "seconds": float("%.4g" % mid),
        "source": SOURCE,
    }
    print("    " + json.dumps(row, ensure_ascii=False) + ",")
