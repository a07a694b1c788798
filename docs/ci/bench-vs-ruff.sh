#!/usr/bin/env bash
# Throughput of `gemmscope check --bench off` against
# `ruff check --select PERF --no-cache` on the same Python tree (the
# standard library of the machine's python3, without site-packages, which
# ruff excludes by default), and of gemmscope on a large C tree
# (/usr/include by default). Needs a release build, ruff and hyperfine.
#
#   cargo build --release -p gemmscope
#   pip install ruff; apt-get install hyperfine
#   docs/ci/bench-vs-ruff.sh [GEMMSCOPE] [C_TREE]
set -euo pipefail
GS="${1:-${CARGO_TARGET_DIR:-target}/release/gemmscope}"
CTREE="${2:-/usr/include}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
STDLIB="$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
mkdir -p "$WORK/stdlib"
tar -C "$STDLIB" --exclude=site-packages --exclude=__pycache__ -cf - . | tar -C "$WORK/stdlib" -xf -
echo "python tree: $STDLIB (copied without site-packages):" \
  "$(find "$WORK/stdlib" -name '*.py' | wc -l) files," \
  "$(find "$WORK/stdlib" -name '*.py' -print0 | du -cb --files0-from=- | tail -1 | cut -f1) bytes"
echo "gemmscope checks $("$GS" check --no-config --format json "$WORK/stdlib" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["files_checked"])') files;" \
  "ruff checks $(ruff check --select PERF --no-cache --show-files "$WORK/stdlib" 2>/dev/null | grep -c '\.py$') files"
echo "cores: $(nproc)"
hyperfine --warmup 1 --runs 5 -i --export-markdown "$WORK/py.md" \
  -n gemmscope "$GS check --bench off --no-config --format json $WORK/stdlib" \
  -n ruff "ruff check --select PERF --no-cache --exit-zero --output-format concise $WORK/stdlib"
cat "$WORK/py.md"
echo
echo "C tree: $CTREE:" \
  "$(find "$CTREE" -type f \( -name '*.[ch]' -o -name '*.cc' -o -name '*.cpp' -o -name '*.cxx' -o -name '*.hpp' -o -name '*.cu' -o -name '*.cuh' \) | wc -l) C/C++/CUDA files," \
  "$(find "$CTREE" -type f \( -name '*.[ch]' -o -name '*.cc' -o -name '*.cpp' -o -name '*.cxx' -o -name '*.hpp' -o -name '*.cu' -o -name '*.cuh' \) -print0 | du -cb --files0-from=- | tail -1 | cut -f1) bytes"
hyperfine --warmup 1 --runs 5 -i --export-markdown "$WORK/c.md" \
  -n gemmscope-c "$GS check --bench off --no-config --format json $CTREE"
cat "$WORK/c.md"
