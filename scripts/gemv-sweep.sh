#!/bin/bash
# Measures the GEMV reference curves (docs/model.md "GEMV"): one
# `gemmscope bench gemv` table per problem, as JSON, into OUT_DIR. Run it two
# or more times into different folders (the store is bypassed with
# --no-cache), then `python3 scripts/gemv-curves.py DIR...` prints the
# `gemv_curves` entries of microbench/data/reference.json (the median of
# the passes per point, with the relative range between them as `spread`).
#
#   scripts/gemv-sweep.sh OUT_DIR [SHAPES...]
#
# Candidates: the three naive C levels in both loop orders, OpenBLAS and
# NumPy once per layout. About 10 minutes a pass on a 2-core VM.
set -eu
out=${1:?usage: scripts/gemv-sweep.sh OUT_DIR [MxK ...]}
shift
shapes=${*:-64x64 128x128 192x192 256x256 512x512 768x768 1024x1024 2048x2048 3000x3000 4096x4096 16x16384 16384x16 256x4096 4096x256 2000x500}
bin=${GEMMSCOPE_BIN:-target/debug/gemmscope}
mkdir -p "$out"
for shape in $shapes; do
  m=${shape%x*}; k=${shape#*x}
  for dt in f32 f64; do for a in row col; do for o in ik ki; do
    c=c-naive-O1,c-naive-O3,c-naive-O3-native
    [ "$o" = ik ] && c=$c,openblas,numpy
    "$bin" bench gemv --m "$m" --k "$k" --dtype $dt --a $a --order $o --candidates $c \
      --budget 1.5 --no-cache --format json > "$out/$m-$k-$dt-$a-$o.json" || true
  done; done; done
done
