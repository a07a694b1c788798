#!/bin/bash
# Measures the attention reference rows (docs/model.md "Attention"): one
# `gemmscope bench attention` table per sequence length, as JSON, into
# OUT_DIR, bypassing the store (--no-cache). Run it two or more times into
# different folders, then `python3 scripts/attention-rows.py DIR...` prints
# the rows for microbench/data/reference.json (the median of the passes per
# point, the relative range between them as `spread`).
#
#   scripts/attention-sweep.sh OUT_DIR [T ...]
#
# Candidates: attention written out in NumPy and in PyTorch, and PyTorch's
# fused scaled_dot_product_attention, on the CPU: 8 heads, head dim 64, f32
# (HEADS=, D= for others). GEMMSCOPE_PYTHON must name a Python with NumPy
# and PyTorch. About a minute a pass on a 2-core VM; run it on an idle
# machine.
set -eu
out=${1:?usage: scripts/attention-sweep.sh OUT_DIR [T ...]}
shift
lengths=${*:-64 128 256 512 1024 2048}
bin=${GEMMSCOPE_BIN:-target/debug/gemmscope}
mkdir -p "$out"
for t in $lengths; do
  "$bin" bench attention --t "$t" --heads "${HEADS:-8}" --d "${D:-64}" \
    --budget 4 --no-cache --format json > "$out/$t.json" || true
done
