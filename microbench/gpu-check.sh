#!/usr/bin/env bash
# gpu-check.sh — measure gemmscope's GPU candidates on an NVIDIA machine.
#
#   microbench/gpu-check.sh [SIZE ...]        (default sizes: 512 1024 2048 4096)
#
# Prints the GPU, driver and CUDA versions, then one table per size from
#   gemmscope bench gemm --m S --n S --k S --candidates <the six GPU ids> --format text
# Environment:
#   GEMMSCOPE_BIN   a prebuilt gemmscope binary (then cargo is not needed);
#                   otherwise `cargo build --release -p gemmscope` is run.
#   GPU_CHECK_ARGS  extra arguments for every bench call (e.g. "--budget 6").
# Exits 2 at once, with the reason, when there is no NVIDIA GPU or driver.
set -euo pipefail

die() {
    echo "gpu-check: $*" >&2
    exit 2
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

candidates=cuda-naive,cuda-tiled,cublas-sgemm-pedantic,cublas-tf32,cublas-f16-tc,cublas-bf16-tc
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(512 1024 2048 4096)
for s in "${sizes[@]}"; do
    [[ "$s" =~ ^[1-9][0-9]*$ ]] || die "size '$s' is not a positive integer"
done

echo "== GPU and driver"
command -v nvidia-smi >/dev/null 2>&1 ||
    die "no NVIDIA driver here: nvidia-smi is not on PATH"
gpus="$(nvidia-smi -L 2>&1)" || die "nvidia-smi -L failed (no usable GPU or driver): $gpus"
echo "$gpus"
grep -q '^GPU [0-9]' <<<"$gpus" || die "nvidia-smi lists no GPU"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total --format=csv 2>/dev/null || true
cuda_line="$(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: *[0-9.]*' | head -n1 || true)"
echo "driver supports ${cuda_line:-CUDA Version: unknown}"
[ -r /proc/driver/nvidia/version ] && head -n1 /proc/driver/nvidia/version
if command -v nvcc >/dev/null 2>&1; then
    nvcc --version | tail -n2
fi

# CUDA libraries outside the loader's path (the candidates also look in
# these folders themselves; this makes the libraries they load consistent).
for d in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda /usr/local/cuda-13*; do
    if [ -n "$d" ] && [ -d "$d/lib64" ]; then
        LD_LIBRARY_PATH="$d/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}"

echo "== CUDA libraries (the candidates load these at run time)"
libpaths() {
    # ldconfig's cache, then LD_LIBRARY_PATH.
    { /sbin/ldconfig -p 2>/dev/null || ldconfig -p 2>/dev/null || true; } |
        awk -v n="$1" '$1 ~ "^"n {print $NF}'
    local IFS=:
    for d in $LD_LIBRARY_PATH; do
        [ -n "$d" ] && ls -1 "$d"/"$1"* 2>/dev/null || true
    done
}
for lib in libcuda.so.1 libnvrtc.so.13 libcublas.so.13 libcublasLt.so.13; do
    found="$(libpaths "$lib" | head -n1)"
    if [ -n "$found" ]; then
        echo "$lib: $found"
    elif [ "$lib" = libcuda.so.1 ]; then
        die "libcuda.so.1 (the CUDA driver library) is not found although nvidia-smi runs"
    else
        echo "$lib: NOT FOUND (candidates that need it will be skipped; gemmscope needs CUDA 13)"
    fi
done

echo "== gemmscope"
if [ -n "${GEMMSCOPE_BIN:-}" ]; then
    [ -x "$GEMMSCOPE_BIN" ] || die "GEMMSCOPE_BIN=$GEMMSCOPE_BIN is not an executable file"
    bin="$GEMMSCOPE_BIN"
elif command -v cargo >/dev/null 2>&1; then
    cargo build --release -p gemmscope >&2 ||
        die "cargo build failed (offline? build elsewhere and set GEMMSCOPE_BIN)"
    bin="${CARGO_TARGET_DIR:-$root/target}/release/gemmscope"
else
    die "no cargo on PATH and GEMMSCOPE_BIN is not set"
fi
echo "$bin"

status=0
read -r -a extra <<<"${GPU_CHECK_ARGS:-}"
for s in "${sizes[@]}"; do
    echo
    echo "== ${s}×${s}×${s} f32"
    start=$(date +%s.%N)
    "$bin" bench gemm --m "$s" --n "$s" --k "$s" --candidates "$candidates" --format text \
        ${extra[@]+"${extra[@]}"} || status=$?
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "(table took %.1f s)\n", b - a }'
done
exit "$status"
