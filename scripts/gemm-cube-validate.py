#!/usr/bin/env python3
"""Shipped GEMM reference rows against measurement here (docs/model.md
"Small GEMMs"): for cubes between the shipped sizes, `gemmscope bench gemm
--measure never` (shipped data only, an empty store) beside `gemmscope bench
gemm --no-cache` (measured now), per candidate: the error of time per call,
whether the printed ± contains the measurement, and the error of the best
speed-up over naive C -O3. Meaningful on the machine the rows were measured
on (elsewhere the ± is the cross-machine one).

    python3 scripts/gemm-cube-validate.py [SIZE ...]"""
import json
import os
import subprocess
import sys
import tempfile

BIN = os.environ.get("GEMMSCOPE_BIN", "target/debug/gemmscope")
CANDS = "c-naive-O1,c-naive-O3,c-blocked,c-blocked-threads,openblas,numpy"
sizes = [int(a) for a in sys.argv[1:]] or [6, 12, 24, 48, 96, 192, 384]


def run(args, cache):
    out = subprocess.run(
        [BIN, "bench", "gemm", *args, "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "GEMMSCOPE_CACHE_DIR": cache},
    )
    return json.loads(out.stdout)


def pct(v, q):
    s = sorted(v)
    pos = q * (len(s) - 1)
    i = int(pos)
    return s[i] + (pos - i) * (s[min(i + 1, len(s) - 1)] - s[i])


terr, serr, inside, total = [], [], 0, 0
print("| cube | candidate | predicted | ± | measured | error |")
print("|---|---|---|---|---|---|")
for s in sizes:
    for dt in ("f32", "f64"):
        dims = ["--m", str(s), "--n", str(s), "--k", str(s), "--dtype", dt]
        with tempfile.TemporaryDirectory() as c1, tempfile.TemporaryDirectory() as c2:
            pred = run(dims + ["--measure", "never", "--as-written", "c-naive-O3"], c1)
            meas = run(dims + ["--candidates", CANDS, "--no-cache", "--budget", "3"], c2)
        lines = [pred["as_written"]] + pred["alternatives"] if pred.get("as_written") else pred["alternatives"]
        p = {l["candidate"]: l for l in lines if l}
        m = {r["id"]: r["seconds_per_call"] for r in meas["rows"] if r["status"] == "ok"}
        for cid, t in m.items():
            if cid not in p:
                continue
            tp = p[cid]["seconds_per_call"]
            e = tp / t - 1
            terr.append(abs(e))
            pm = p[cid]["source"].get("error")
            if pm is not None:
                total += 1
                inside += abs(e) <= pm
            print(f"| {s}³ {dt} | {cid} | {tp:.3g} s | {'±%.0f%%' % (pm * 100) if pm else '?'} | {t:.3g} s | {e * 100:+.0f}% |")
        if "c-naive-O3" in m and "c-naive-O3" in p:
            others = [c for c in m if c != "c-naive-O3" and c in p]
            if others:
                bm = max(m["c-naive-O3"] / m[c] for c in others)
                bp = max(p["c-naive-O3"]["seconds_per_call"] / p[c]["seconds_per_call"] for c in others)
                serr.append(abs(bp / bm - 1))
                print(f"| {s}³ {dt} | best speed-up over naive -O3 | {bp:.1f}× | | {bm:.1f}× | {(bp / bm - 1) * 100:+.0f}% |")
print()
print(
    "time per call: median error %.0f%%, 90th percentile %.0f%% (%d lines); best speed-up: median %.0f%%, 90th percentile %.0f%% (%d problems); the printed ± contains the measurement for %d of %d lines (%.0f%%)"
    % (pct(terr, 0.5) * 100, pct(terr, 0.9) * 100, len(terr), pct(serr, 0.5) * 100, pct(serr, 0.9) * 100, len(serr), inside, total, 100 * inside / max(total, 1))
)
