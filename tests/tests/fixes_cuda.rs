//! Differential tests of the CUDA kernel-launch rewrite (GS102/GS103 →
//! `cublasGemmEx`, `analyzers/src/fixes/cuda_launch.rs`) without a GPU:
//! there is no nvcc on the development machine.
//!
//! - The ORIGINAL program: the test turns each `k<<<g, b, ...>>>(args);`
//!   into `gs_launch(dim3(g), dim3(b), [&] { k(args); });` and compiles it
//!   with g++ against `tests/fixes/cuda/shim/cpu/` (one POSIX thread per
//!   CUDA thread, a barrier for `__syncthreads()`, host memory for
//!   `cudaMalloc`).
//! - The REWRITTEN program (the fix applied as `check --fix` would) is
//!   compiled against the same directory, whose `cublas_v2.h` implements
//!   `cublasGemmEx` on the CPU with cuBLAS's documented column-major
//!   semantics (op(A) m×k with lda, transposes, alpha/beta pointers, data
//!   and compute types; bad leading dimensions or types abort).
//!
//! Both run on the same random inputs (C random too, so beta matters) at
//! several sizes (non-square, not multiples of the tile) and the whole C
//! buffer must agree within 1e-4 (float), 1e-10 (double) relative to
//! 1 + |value|, or 3e-2 for the TF32 alternative (inputs rounded to a
//! 10-bit mantissa). This checks the parameter → argument mapping, the
//! row/column-major swap, leading dimensions, offsets, alpha and beta; it
//! does not check nvcc, the real cuBLAS library or the grid coverage.

use std::path::{Path, PathBuf};
use std::process::Command;

use gemmscope_analyzers::fixes::{apply_edits, Applicability};

mod common;
use common::*;

fn have_gxx() -> bool {
    Command::new("g++")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn shim() -> PathBuf {
    root().join("fixes/cuda/shim/cpu")
}

/// The GS102/GS103 fix of kind `want` (applied for every such finding).
fn rewrite(path: &Path, text: &str, want: Applicability) -> Result<String, String> {
    let mut edits = Vec::new();
    let mut n = 0;
    for f in analyse(path, text) {
        if !matches!(f.finding.code, "GS102" | "GS103") {
            continue;
        }
        let fixes = f.fixes.map_err(|e| e.reason)?;
        // As `--fix --unsafe-fixes`: the wanted kind, else the exact one.
        let fix = fixes
            .iter()
            .find(|x| x.applicability == want)
            .or_else(|| {
                fixes
                    .iter()
                    .find(|x| x.applicability == Applicability::Exact)
            })
            .cloned();
        if let Some(fix) = fix {
            edits.extend(fix.edits);
            n += 1;
        }
    }
    if n == 0 {
        return Err("no fix of that kind".into());
    }
    apply_edits(text, &edits)
}

/// `k<<<g, b[, ...]>>>(args)` → `gs_launch(dim3(g), dim3(b), [&] { k(args); })`.
fn emulate_launches(text: &str) -> String {
    let mut out = text.to_string();
    while let Some(at) = out.find("<<<") {
        // The kernel name (with template arguments) before `<<<`.
        let head = &out[..at];
        let mut s = head.len();
        let b = head.as_bytes();
        if s > 0 && b[s - 1] == b'>' {
            let mut depth = 0;
            while s > 0 {
                s -= 1;
                match b[s] {
                    b'>' => depth += 1,
                    b'<' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        while s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_') {
            s -= 1;
        }
        let name = out[s..at].to_string();
        let close = at + out[at..].find(">>>").unwrap();
        let cfg = &out[at + 3..close];
        let mut parts = Vec::new();
        let (mut depth, mut from) = (0, 0);
        for (i, c) in cfg.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(cfg[from..i].trim().to_string());
                    from = i + 1;
                }
                _ => {}
            }
        }
        parts.push(cfg[from..].trim().to_string());
        let open = close + 3 + out[close + 3..].find('(').unwrap();
        let mut depth = 0;
        let mut end = open;
        for (i, c) in out[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = out[open + 1..end].to_string();
        let new = format!(
            "gs_launch(dim3({}), dim3({}), [&] {{ {name}({args}); }})",
            parts[0], parts[1]
        );
        out.replace_range(s..end + 1, &new);
    }
    out
}

struct Case {
    file: &'static str,
    ty: &'static str,
    /// The call, in terms of M, N, K, A, B, C.
    call: &'static str,
    square: bool,
}

fn cases() -> Vec<Case> {
    let f = |file, ty, call| Case {
        file,
        ty,
        call,
        square: false,
    };
    vec![
        f(
            "fixes/cuda/launch_rowmajor.cu",
            "float",
            "run(M, N, K, A, B, C)",
        ),
        f(
            "fixes/cuda/launch_transB.cu",
            "float",
            "run(M, N, K, A, B, C)",
        ),
        f(
            "fixes/cuda/launch_colmajor_double.cu",
            "double",
            "run(M, N, K, A, B, C)",
        ),
        f(
            "fixes/cuda/launch_template.cu",
            "float",
            "run(M, N, K, A, B, C)",
        ),
        f(
            "fixes/cuda/launch_double_template.cu",
            "double",
            "run(M, N, K, A, B, C)",
        ),
        f(
            "fixes/cuda/launch_helper.cu",
            "float",
            "run(M, N, K, A, B, C)",
        ),
        f(
            "fixes/cuda/launch_tiled16.cu",
            "float",
            "run(M, N, K, A, B, C)",
        ),
        f(
            "fixes/cuda/launch_alpha_beta.cu",
            "float",
            "run(M, N, K, A, B, C)",
        ),
        f(
            "fixes/cuda/launch_stream.cu",
            "float",
            "run(M, N, K, A, B, C)",
        ),
        f(
            "corpus/cuda/tiled_32_bounds.cu",
            "float",
            "tiled_gemm_launch(A, B, C, M, N, K)",
        ),
        f(
            "corpus/cuda/naive_split_index.cu",
            "double",
            "run(A, B, C, M, N, K)",
        ),
        f(
            "corpus/cuda/naive_template.cu",
            "float",
            "launch_matmul<float>(A, B, C, M, N, K, 0)",
        ),
        Case {
            file: "corpus/cuda/naive_operand_order.cu",
            ty: "float",
            call: "launch(C, A, B, M)",
            square: true,
        },
    ]
}

const SIZES: &[[usize; 3]] = &[
    [1, 1, 1],
    [3, 5, 7],
    [17, 9, 33],
    [40, 24, 16],
    [33, 35, 20],
];

fn harness(ty: &str, call: &str) -> String {
    format!(
        r#"
#include <cstdio>
#include <cstdlib>
typedef {ty} gs_t;
int main(int argc, char **argv) {{
    int M = atoi(argv[1]), N = atoi(argv[2]), K = atoi(argv[3]);
    int mx = M > N ? M : N; mx = mx > K ? mx : K;
    size_t sz = (size_t)(mx + 4) * (mx + 4);
    gs_t *A = new gs_t[sz], *B = new gs_t[sz], *C = new gs_t[sz];
    unsigned long s = 12345;
    auto rnd = [&]() {{ s = s * 6364136223846793005ul + 1442695040888963407ul; return (gs_t)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0); }};
    for (size_t i = 0; i < sz; ++i) {{ A[i] = rnd(); B[i] = rnd(); C[i] = rnd(); }}
    {call};
    for (size_t i = 0; i < sz; ++i) printf("%.17g\n", (double)C[i]);
    return 0;
}}
"#
    )
}

fn compile_run(dir: &Path, name: &str, src: &str, size: [usize; 3]) -> Result<Vec<f64>, String> {
    let cpp = dir.join(format!("{name}.cpp"));
    let exe = dir.join(name);
    if !exe.exists() {
        std::fs::write(&cpp, src).unwrap();
        let out = Command::new("g++")
            .args(["-std=c++17", "-O1", "-pthread", "-x", "c++", "-I"])
            .arg(shim())
            .arg(&cpp)
            .arg("-o")
            .arg(&exe)
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(format!(
                "g++ {name}: {}\n{src}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let out = Command::new(&exe)
        .args(size.iter().map(|x| x.to_string()))
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(format!(
            "{name} {size:?}: exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect())
}

#[test]
fn kernel_launch_rewrites_compute_what_the_kernels_computed() {
    if !have_gxx() {
        gemmscope_microbench::testing::skip(
            "kernel_launch_rewrites_compute_what_the_kernels_computed",
            "g++ not found",
        );
        return;
    }
    let dir = tempdir("diff");
    let mut failures = Vec::new();
    let mut runs = 0;
    let cases = cases();
    for (ci, case) in cases.iter().enumerate() {
        let path = root().join(case.file);
        let text = std::fs::read_to_string(&path).unwrap();
        let h = harness(case.ty, case.call);
        let orig = format!("{}\n{h}", emulate_launches(&text));
        let tol = if case.ty == "double" { 1e-10 } else { 1e-4 };
        let mut variants = vec![(Applicability::Exact, tol)];
        if case.ty == "float" {
            variants.push((Applicability::ChangesPrecision, 3e-2));
        }
        for (vi, (want, tol)) in variants.into_iter().enumerate() {
            let fixed = match rewrite(&path, &text, want) {
                Ok(t) => t,
                Err(e) => {
                    failures.push(format!("{}: {want:?}: {e}", case.file));
                    continue;
                }
            };
            assert!(!fixed.contains("<<<"), "{}: a launch is left", case.file);
            let new = format!("{fixed}\n{h}");
            for size in SIZES {
                let size = if case.square {
                    [size[0], size[0], size[0]]
                } else {
                    *size
                };
                let a = compile_run(&dir, &format!("o{ci}"), &orig, size);
                let b = compile_run(&dir, &format!("r{ci}_{vi}"), &new, size);
                match (a, b) {
                    (Ok(a), Ok(b)) => match agree(&a, &b, tol) {
                        Ok(()) => runs += 1,
                        Err(e) => failures.push(format!("{} {want:?} {size:?}: {e}", case.file)),
                    },
                    (Err(e), _) | (_, Err(e)) => failures.push(format!("{}: {e}", case.file)),
                }
            }
        }
    }
    println!(
        "CUDA launch differential: {} files, {runs} size runs agree",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(runs >= 100, "only {runs} runs");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kernel_launch_negatives_get_no_fix_and_a_reason() {
    for (file, why) in [
        (
            "fixes/cuda/neg_launch_writes_other.cu",
            "also assigns `hits",
        ),
        ("fixes/cuda/neg_launch_side_effect.cu", "side effect"),
        ("fixes/cuda/neg_launch_macro.cu", "inside a macro"),
        (
            "corpus/cuda/naive_colmajor_double.cu",
            "no launch in this file",
        ),
        (
            "corpus/cuda/naive_device_helper.cu",
            "no launch in this file",
        ),
        ("corpus/cuda/tiled_16.cu", "no bounds guard"),
        ("corpus/cuda/naive_transB.cu", "starts at `bias[o]`"),
    ] {
        let path = root().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let v: Vec<_> = analyse(&path, &text)
            .into_iter()
            .filter(|f| matches!(f.finding.code, "GS102" | "GS103"))
            .collect();
        assert_eq!(v.len(), 1, "{file}: {v:#?}");
        match &v[0].fixes {
            Ok(f) => panic!("{file}: unexpected fix {f:#?}"),
            Err(e) => assert!(e.reason.contains(why), "{file}: {}", e.reason),
        }
    }
}

#[test]
fn kernel_launch_fixes_offer_tf32_and_exact_and_say_the_cost() {
    let path = root().join("fixes/cuda/launch_stream.cu");
    let text = std::fs::read_to_string(&path).unwrap();
    let v = analyse(&path, &text);
    let fixes = v[0].fixes.as_ref().unwrap();
    assert_eq!(fixes.len(), 2);
    assert_eq!(fixes[0].applicability, Applicability::ChangesPrecision);
    assert!(fixes[0].title.contains("10-bit mantissa") && fixes[0].title.contains("1e-3"));
    assert_eq!(fixes[1].applicability, Applicability::Exact);
    // The kernel is named nowhere else: it is deleted with its launch.
    assert!(
        fixes[1].title.contains("delete the kernel"),
        "{}",
        fixes[1].title
    );
    assert!(fixes[1]
        .assumes
        .iter()
        .any(|a| a.contains("not launched from another file")));
    assert!(fixes[1]
        .assumes
        .iter()
        .any(|a| a.contains("covers the whole")));
    let fixed = apply_edits(&text, &fixes[1].edits).unwrap();
    assert!(fixed.contains("gemmscope_cublas(stream)"), "{fixed}");
    assert!(fixed.contains("CUBLAS_COMPUTE_32F,"), "{fixed}");
    assert_eq!(fixed.matches("#include <cublas_v2.h>").count(), 1);
    assert!(!fixed.contains("__global__"), "{fixed}");
    // ... and the kernel's finding is gone (the exact FP32 call is GS601's
    // next advice: TF32).
    let left: Vec<&str> = analyse(&path, &fixed)
        .iter()
        .map(|f| f.finding.code)
        .collect();
    assert_eq!(left, ["GS601"], "{fixed}");
    // Double kernels: one exact FP64 fix.
    let path = root().join("fixes/cuda/launch_colmajor_double.cu");
    let text = std::fs::read_to_string(&path).unwrap();
    let v = analyse(&path, &text);
    let fixes = v[0].fixes.as_ref().unwrap();
    assert_eq!(fixes.len(), 1);
    assert_eq!(fixes[0].applicability, Applicability::Exact);
    let fixed = apply_edits(&text, &fixes[0].edits).unwrap();
    assert!(fixed.contains("CUDA_R_64F") && fixed.contains("CUBLAS_COMPUTE_64F"));
}

#[test]
fn rewritten_cuda_files_pass_gxx_syntax_check() {
    // Every CUDA file with a launch fix, rewritten (exact and TF32), is
    // checked with `g++ -fsyntax-only` against the CPU shim headers and
    // against the stub declarations (tests/fixes/cuda/shim).
    if !have_gxx() {
        gemmscope_microbench::testing::skip(
            "rewritten_cuda_files_pass_gxx_syntax_check",
            "g++ not found",
        );
        return;
    }
    let dir = tempdir("syntax");
    let mut checked = 0;
    for sub in ["corpus/cuda", "fixes/cuda"] {
        let mut files: Vec<_> = std::fs::read_dir(root().join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cu"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap();
            for want in [Applicability::Exact, Applicability::ChangesPrecision] {
                let Ok(fixed) = rewrite(&path, &text, want) else {
                    continue;
                };
                let src = dir.join(format!("{checked}.cpp"));
                std::fs::write(&src, &fixed).unwrap();
                let out = Command::new("g++")
                    .args(["-std=c++17", "-fsyntax-only", "-x", "c++", "-I"])
                    .arg(shim())
                    .arg(&src)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}: {}\n{fixed}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                // The stub declarations: only the host side (kernels need
                // the CPU shim's keywords), so prepend them.
                let host = format!(
                    "#define __global__\n#define __device__\n#define __shared__ static\n#define __restrict__\nstruct dim3 {{ unsigned x, y, z; dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {{}} }};\nextern dim3 threadIdx, blockIdx, blockDim, gridDim;\nvoid __syncthreads();\n{}",
                    fixed
                );
                let src = dir.join(format!("{checked}_stub.cpp"));
                std::fs::write(&src, &host).unwrap();
                let out = Command::new("g++")
                    .args([
                        "-std=c++17",
                        "-fsyntax-only",
                        "-x",
                        "c++",
                        "-include",
                        "cstdlib",
                        "-include",
                        "cmath",
                        "-I",
                    ])
                    .arg(root().join("fixes/cuda/shim"))
                    .arg(&src)
                    .output()
                    .unwrap();
                if !out.status.success() {
                    let err = String::from_utf8_lossy(&out.stderr);
                    // The stubs declare only the cuBLAS/CUDA API; runtime
                    // calls the fixtures' host code makes are not in them.
                    let api = err.lines().any(|l| {
                        l.split_once("error:").is_some_and(|(_, m)| {
                            m.contains("cublas") || m.contains("gemmscope_") || m.contains("CUDA_R")
                        })
                    });
                    assert!(!api, "{}: {err}", path.display());
                }
                checked += 1;
            }
        }
    }
    println!("g++ -fsyntax-only: {checked} rewritten CUDA files");
    assert!(checked >= 20, "only {checked} checked");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The GS601 rewrites (`fixes::cublas`: an FP32 cuBLAS call on slow
/// settings → the TF32 compute type, or the handle's TF32 math mode), every
/// alternative, run against the CPU cuBLAS of `shim/cpu`, which rounds the
/// inputs to TF32 exactly where the real library is documented to: each
/// rewrite must agree with the original within TF32's error, and at the
/// larger sizes must differ from it (the setting took effect; the printed
/// worst error is the emulated accuracy cost the fix's title states).
#[test]
fn cublas_setting_rewrites_switch_to_tf32_and_stay_within_its_error() {
    if !have_gxx() {
        gemmscope_microbench::testing::skip("cublas_setting_rewrites", "g++ not found");
        return;
    }
    let dir = tempdir("settings");
    let mut failures = Vec::new();
    let (mut runs, mut alternatives) = (0, 0);
    for file in [
        "fixes/cuda/settings_sgemm_rowmajor.cu",
        "fixes/cuda/settings_gemmex_pedantic.cu",
    ] {
        let path = root().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let found = analyse(&path, &text);
        let Some(f) = found.iter().find(|f| f.finding.code == "GS601") else {
            failures.push(format!("{file}: no GS601 finding"));
            continue;
        };
        let fixes = match &f.fixes {
            Ok(x) => x.clone(),
            Err(e) => {
                failures.push(format!("{file}: no fix: {}", e.reason));
                continue;
            }
        };
        let h = harness("float", "run(M, N, K, A, B, C)");
        let orig = format!("{text}\n{h}");
        let tag = file.replace(['/', '.'], "_");
        for (vi, fix) in fixes.iter().enumerate() {
            alternatives += 1;
            assert_eq!(
                fix.applicability,
                Applicability::ChangesPrecision,
                "{}",
                fix.title
            );
            let fixed = apply_edits(&text, &fix.edits).unwrap();
            let new = format!("{fixed}\n{h}");
            let mut worst: f64 = 0.0;
            for size in SIZES.iter().chain([[64, 48, 256]].iter()) {
                let a = compile_run(&dir, &format!("{tag}_o"), &orig, *size);
                let b = compile_run(&dir, &format!("{tag}_{vi}"), &new, *size);
                match (a, b) {
                    (Ok(a), Ok(b)) => {
                        runs += 1;
                        if let Err(e) = agree(&a, &b, 3e-2) {
                            failures.push(format!("{file} `{}` {size:?}: {e}", fix.title));
                        }
                        let err = a
                            .iter()
                            .zip(&b)
                            .map(|(x, y)| (x - y).abs() / (1.0 + x.abs()))
                            .fold(0.0, f64::max);
                        worst = worst.max(err);
                    }
                    (Err(e), _) | (_, Err(e)) => failures.push(format!("{file}: {e}")),
                }
            }
            if worst == 0.0 {
                failures.push(format!(
                    "{file} `{}`: the rewritten call computed exactly the FP32 result; \
                     the TF32 setting had no effect",
                    fix.title
                ));
            }
            println!("{file}: `{}`: worst relative error {worst:.2e}", fix.title);
        }
    }
    println!("cuBLAS setting differential: {alternatives} rewrites, {runs} size runs");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(alternatives >= 3, "only {alternatives} rewrites");
    let _ = std::fs::remove_dir_all(&dir);
}
