#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20), seeded with
# tests/corpus, and prints the executions per target and in total. Exits 1
# when a target finds a crash, a hang or a leak (the input is saved under
# fuzz/artifacts/<target>/), 2 when the targets do not build.
#
#   fuzz/run.sh [SECONDS] [TARGET...]        e.g. fuzz/run.sh 600 structured
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). Builds with
# `--sanitizer none`, which works on the stable toolchain: the targets are
# safe Rust over tree-sitter's C, which cargo-fuzz does not instrument for
# AddressSanitizer anyway; what they look for is panics, failed
# invariants, stack overflows, hangs and runaway memory. Set
# FUZZ_SANITIZER=address (nightly, or RUSTC_BOOTSTRAP=1) to use ASan.
# The corpus that a run grows is kept in $FUZZ_CORPUS (default
# fuzz/corpus/<target>, git-ignored), so longer runs by hand build on it.
set -uo pipefail
cd "$(dirname "$0")"
secs="${1:-20}"
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(c cuda python check structured)
san="${FUZZ_SANITIZER:-none}"
corpus_root="${FUZZ_CORPUS:-corpus}"
build=(cargo fuzz build -s "$san" --codegen-units 16)
if ! "${build[@]}" >/dev/null 2>build.log; then
  tail -30 build.log >&2
  echo "fuzz: the targets do not build (full log: fuzz/build.log)" >&2
  exit 2
fi
total=0
failed=()
for t in "${targets[@]}"; do
  case "$t" in
    c) seeds=(../tests/corpus/c) ;;
    cuda) seeds=(../tests/corpus/cuda) ;;
    python) seeds=(../tests/corpus/python) ;;
    check) seeds=(../tests/corpus/c ../tests/corpus/cuda ../tests/corpus/python) ;;
    *) seeds=() ;;
  esac
  extra=()
  # The generator's inputs are small; let them grow at once.
  [ "$t" = structured ] && extra=(-len_control=0 -max_len=8192)
  mkdir -p "$corpus_root/$t"
  log="$(mktemp)"
  cargo fuzz run -s "$san" --codegen-units 16 "$t" "$corpus_root/$t" "${seeds[@]}" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 "${extra[@]}" >"$log" 2>&1
  rc=$?
  runs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)"
  runs="${runs:-0}"
  total=$((total + runs))
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    grep -E "panicked|ERROR|SUMMARY|Test unit written|Timeout|out-of-memory" "$log" | head -20 >&2
    echo "fuzz: $t: FAILED after $runs executions (exit $rc; input under fuzz/artifacts/$t/)"
  else
    echo "fuzz: $t: $runs executions in ${secs} s, no crash"
  fi
  rm -f "$log"
done
echo "fuzz: ${total} executions over ${#targets[@]} targets; failing: ${failed[*]:-none}"
[ "${#failed[@]}" -eq 0 ]
