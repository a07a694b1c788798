#!/usr/bin/env bash
# gemmscope `check` against ruff on the same Python tree, and gemmscope's
# throughput on a C header tree, in one hyperfine run each; prints the
# medians, the ratio and MB/s (docs/performance.md records the figures).
#
#   scripts/bench-vs-ruff.sh [PYTHON_TREE...]
#
# Environment: RUNS (default 5), C_TREE (default /usr/include), NO_BUILD=1
# (use the release binary as built),
# FULL=1 also times `--no-prefilter` (the full analysis of every file),
# AGREE=1 also compares the findings with and without the prefilter over
# the whole trees (the release build's version of
# server/tests/prefilter_agree.rs).
# Needs hyperfine and ruff (`apt-get install hyperfine`, `pip install ruff`).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
C_TREE=${C_TREE:-/usr/include}
if [ $# -gt 0 ]; then
    PY_TREES=("$@")
else
    # The python3 on the PATH: its standard library (site-packages is under it).
    mapfile -t PY_TREES < <(python3 -c 'import sysconfig as s; print(s.get_paths()["stdlib"])')
fi
command -v hyperfine >/dev/null || { echo "needs hyperfine" >&2; exit 2; }
command -v ruff >/dev/null || { echo "needs ruff" >&2; exit 2; }

[ "${NO_BUILD:-0}" = 1 ] || cargo build --release -p gemmscope >&2
BIN=$PWD/target/release/gemmscope
GS="$BIN check --bench off --no-config --exit-zero"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

bytes_of() { # tree... -> total bytes of the files gemmscope checks (by extension)
    find "$@" -type f \( -name '*.py' -o -name '*.pyi' -o -name '*.c' -o -name '*.h' -o -name '*.cu' \
        -o -name '*.cuh' -o -name '*.cc' -o -name '*.cpp' -o -name '*.cxx' -o -name '*.hpp' \) -print0 |
        du -cb --files0-from=- | tail -1 | cut -f1
}
files_of() { "$BIN" check --bench off --no-config --exit-zero --format json "$@" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["files_checked"])'; }

median() { python3 -c 'import json,sys,statistics as s; d=json.load(open(sys.argv[1]))["results"]; print(" ".join(f"{r[\"command\"]}={s.median(r[\"times\"]):.3f}" for r in d))' "$1"; }

echo "== machine: $(nproc) cores, $(uname -r); $(ruff --version); gemmscope $(git rev-parse --short HEAD)"
PYB=$(bytes_of "${PY_TREES[@]}")
echo "== Python: ${PY_TREES[*]}: $(files_of "${PY_TREES[@]}") files checked by gemmscope, $((PYB / 1000000)) MB"
echo "   ruff sees $(ruff check --no-cache --exclude .git --show-files "${PY_TREES[@]}" 2>/dev/null | grep -c '\.pyi\?$') files with --exclude .git (its default exclude list skips site-packages)"
py_cmds=(-n gemmscope "$GS ${PY_TREES[*]}"
    -n ruff "ruff check --select PERF --no-cache --exit-zero --quiet --exclude .git ${PY_TREES[*]}"
    -n ruff-default-excludes "ruff check --select PERF --no-cache --exit-zero --quiet ${PY_TREES[*]}")
[ "${FULL:-0}" = 1 ] && py_cmds+=(-n gemmscope-no-prefilter "$GS --no-prefilter ${PY_TREES[*]}")
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/py.json" "${py_cmds[@]}" >&2
python3 - "$OUT/py.json" "$PYB" <<'PY'
import json, sys, statistics as s
r = {x["command"]: s.median(x["times"]) for x in json.load(open(sys.argv[1]))["results"]}
mb = int(sys.argv[2]) / 1e6
for k, v in r.items():
    print(f"   {k:24s} median {v:7.3f} s  {mb / v:7.1f} MB/s")
print(f"   ratio gemmscope / ruff (same files): {r['gemmscope'] / r['ruff']:.2f}x")
PY

CB=$(bytes_of "$C_TREE")
echo "== C/C++: $C_TREE: $(files_of "$C_TREE") files, $((CB / 1000000)) MB"
c_cmds=(-n gemmscope "$GS $C_TREE")
[ "${FULL:-0}" = 1 ] && c_cmds+=(-n gemmscope-no-prefilter "$GS --no-prefilter $C_TREE")
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/c.json" "${c_cmds[@]}" >&2
python3 - "$OUT/c.json" "$CB" <<'PY'
import json, sys, statistics as s
mb = int(sys.argv[2]) / 1e6
for x in json.load(open(sys.argv[1]))["results"]:
    v = s.median(x["times"])
    print(f"   {x['command']:24s} median {v:7.3f} s  {mb / v:7.1f} MB/s")
PY

if [ "${AGREE:-0}" = 1 ]; then
    for t in "${PY_TREES[*]}" "$C_TREE"; do
        # shellcheck disable=SC2086
        $GS --format json $t | python3 -c 'import json,sys; d=json.load(sys.stdin); json.dump([d["findings"], d["suppressed"], d["errors"]], open(sys.argv[1], "w"), sort_keys=True)' "$OUT/a.json"
        # shellcheck disable=SC2086
        $GS --no-prefilter --format json $t | python3 -c 'import json,sys; d=json.load(sys.stdin); json.dump([d["findings"], d["suppressed"], d["errors"]], open(sys.argv[1], "w"), sort_keys=True)' "$OUT/b.json"
        n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d[0]) + len(d[1]))' "$OUT/b.json")
        if cmp -s "$OUT/a.json" "$OUT/b.json"; then echo "== agree: $t: $n findings, identical with and without the prefilter"; else echo "== DIFFER: $t"; exit 1; fi
    done
fi
