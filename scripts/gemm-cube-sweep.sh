#!/bin/bash
# Measures the small-cube GEMM reference rows (docs/model.md "Small GEMMs"):
# one `gemmscope bench gemm` table per cube size and element type, as JSON,
# into OUT_DIR, bypassing the store (--no-cache). Run it two or more times
# into different folders, then `python3 scripts/gemm-cube-rows.py DIR...`
# prints the rows for microbench/data/reference.json (the median of the
# passes per point, the relative range between them as `spread`).
#
#   scripts/gemm-cube-sweep.sh OUT_DIR [SIZES...]
#
# Candidates: the naive C levels, blocked C (1 thread and all cores),
# OpenBLAS and NumPy (CANDIDATES=a,b,... for others). A few minutes a pass
# on a 2-core VM. Run it on an idle machine: a pass at 1024 and 2048 beside
# a compile ranged up to 6× between passes, and such rows are not shipped.
set -eu
out=${1:?usage: scripts/gemm-cube-sweep.sh OUT_DIR [SIZE ...]}
shift
sizes=${*:-4 8 16 32 64 128 256 512}
bin=${GEMMSCOPE_BIN:-target/debug/gemmscope}
mkdir -p "$out"
for s in $sizes; do
  for dt in f32 f64; do
    "$bin" bench gemm --m "$s" --n "$s" --k "$s" --dtype $dt \
      --candidates ${CANDIDATES:-c-naive-O1,c-naive-O3,c-blocked,c-blocked-threads,openblas,numpy} \
      --budget 3 --no-cache --format json > "$out/$s-$dt.json" || true
  done
done
