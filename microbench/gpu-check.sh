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
# The kernel-launch rewrites (GS102/GS103 → cublasGemmEx): the development
# machine has no nvcc, so their tests there emulate CUDA and cuBLAS on the
# CPU (tests/tests/fixes_cuda.rs). Here, where nvcc exists: copies of the
# fixtures are fixed with `check --fix` (exact FP32/FP64) and
# `check --fix --unsafe-fixes` (TF32), compiled with nvcc -lcublas, and run
# against the original on the same inputs (managed memory).
echo
echo "== CUDA rewrites compiled with nvcc (GS102/GS103 → cublasGemmEx, GS601 → TF32)"
if command -v nvcc >/dev/null 2>&1; then
    tmp="$(mktemp -d)"
    # (settings_*.cu: the GS601 compute-type / math-mode rewrites, through the
    # same driver; `check --fix` leaves them as they are, --unsafe-fixes
    # switches them to TF32.)
    for f in tests/fixes/cuda/launch_*.cu tests/fixes/cuda/settings_*.cu; do
        ty=float
        grep -q 'run(int M, int N, int K, const double' "$f" && ty=double
        cat >"$tmp/main.inc" <<EOF
#include <cstdio>
#include <cstdlib>
typedef $ty gs_t;
int main(int argc, char **argv) {
    int M = atoi(argv[1]), N = atoi(argv[2]), K = atoi(argv[3]);
    int mx = M > N ? M : N; mx = mx > K ? mx : K;
    size_t sz = (size_t)(mx + 4) * (mx + 4);
    gs_t *A, *B, *C;
    cudaMallocManaged(&A, sz * sizeof(gs_t));
    cudaMallocManaged(&B, sz * sizeof(gs_t));
    cudaMallocManaged(&C, sz * sizeof(gs_t));
    unsigned long s = 12345;
    for (size_t i = 0; i < 3 * sz; ++i) {
        s = s * 6364136223846793005ul + 1442695040888963407ul;
        gs_t v = (gs_t)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        (i < sz ? A[i] : i < 2 * sz ? B[i - sz] : C[i - 2 * sz]) = v;
    }
    run(M, N, K, A, B, C);
    if (cudaDeviceSynchronize() != cudaSuccess) { fprintf(stderr, "CUDA error\\n"); return 1; }
    for (size_t i = 0; i < sz; ++i) printf("%.17g\\n", (double)C[i]);
    return 0;
}
EOF
        for mode in orig exact tf32; do
            cp "$f" "$tmp/$mode.cu"
            case "$mode" in
            exact) "$bin" check --fix "$tmp/$mode.cu" >/dev/null 2>&1 || true ;;
            tf32) "$bin" check --fix --unsafe-fixes "$tmp/$mode.cu" >/dev/null 2>&1 || true ;;
            esac
            if [ "$mode" != orig ] && grep -q '<<<' "$tmp/$mode.cu"; then
                echo "FAIL $f ($mode): a launch was not rewritten"
                status=1
                continue 2
            fi
            cat "$tmp/main.inc" >>"$tmp/$mode.cu"
            if ! nvcc -O2 -o "$tmp/$mode" "$tmp/$mode.cu" -lcublas 2>"$tmp/$mode.err"; then
                echo "FAIL $f ($mode): nvcc"
                cat "$tmp/$mode.err"
                status=1
                continue 2
            fi
        done
        tol=1e-4
        [ "$ty" = double ] && tol=1e-10
        for size in "1 1 1" "3 5 7" "17 9 33" "40 24 16" "33 35 20" "200 120 96"; do
            for mode in orig exact tf32; do
                # shellcheck disable=SC2086
                "$tmp/$mode" $size >"$tmp/$mode.txt" || echo "FAIL $f ($mode, $size): exit $?"
            done
            for mode in exact tf32; do
                t=$tol
                [ "$mode" = tf32 ] && [ "$ty" = float ] && t=3e-2
                if paste "$tmp/orig.txt" "$tmp/$mode.txt" | awk -v t="$t" '
                    { d = $1 - $2; if (d < 0) d = -d; a = $1 < 0 ? -$1 : $1
                      if (d > t * (1 + a)) { bad = 1 } }
                    END { exit bad }'; then
                    echo "ok   $f ($mode, $size)"
                else
                    echo "FAIL $f ($mode, $size): outputs differ beyond $t"
                    status=1
                fi
            done
        done
    done
    rm -rf "$tmp"
else
    echo "skipped: nvcc is not on PATH"
fi

# The PyTorch setting rewrite (GS602 → torch.backends.cuda.matmul.allow_tf32):
# the fixture fixed with `check --fix --unsafe-fixes` (the TF32 alternative)
# against the original on CUDA; the printed relative errors are the
# accuracy cost the fix's title states (~1e-3). The CPU tests can only show
# that the rewritten module runs (tests/tests/fixes_torch_settings.rs).
echo
echo "== PyTorch TF32 rewrite on CUDA (GS602)"
py="${GEMMSCOPE_TEST_TORCH_PYTHON:-python3}"
if "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    tmp="$(mktemp -d)"
    cp tests/fixes/torch/fp32_mm.py "$tmp/tf32.py"
    "$bin" check --fix --unsafe-fixes "$tmp/tf32.py" >/dev/null 2>&1 || true
    if grep -q 'allow_tf32 = True' "$tmp/tf32.py"; then
        GEMMSCOPE_TORCH_DEVICE=cuda "$py" tests/fixes/torch/compare.py \
            tests/fixes/torch/fp32_mm.py "$tmp/tf32.py" 1e-2 || status=1
    else
        echo "FAIL: check --fix --unsafe-fixes did not add allow_tf32"
        status=1
    fi
    rm -rf "$tmp"
else
    echo "skipped: $py has no PyTorch with CUDA"
fi
exit "$status"
