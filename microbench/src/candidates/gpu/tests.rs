//! Tests that need no GPU: on a machine without CUDA every candidate must
//! answer `Skipped` (never panic); the generated kernels are syntax-checked
//! and even executed on the CPU with g++ and a few CUDA shims.

use std::process::Command;

use super::host::{self, Inputs};
use super::kernels::{self, KernelKind};
use super::*;
use crate::candidates;
use crate::job::Job;
use crate::problem::Layout;

fn all_gpu() -> [&'static Gpu; 6] {
    [
        &CUDA_NAIVE,
        &CUDA_TILED,
        &CUBLAS_SGEMM_PEDANTIC,
        &CUBLAS_TF32,
        &CUBLAS_F16_TC,
        &CUBLAS_BF16_TC,
    ]
}

fn job(c: &Gpu, p: Problem, dir: &std::path::Path) -> Job {
    Job {
        candidate: c.id().into(),
        problem: p,
        budget_s: 0.05,
        seed: 42,
        sample_rows: None,
        workdir: dir.to_path_buf(),
        toolchain: Toolchain::default(),
    }
}

/// Without CUDA: Skipped naming what is missing. With a GPU (the same test
/// on the lent machine): Ok and within tolerance. Never Failed, never a panic.
#[test]
fn runs_in_process_without_panicking() {
    let mut p = Problem::gemm(48, 40, 56, DType::F32);
    p.layout = Layout::parse("nt").unwrap();
    for c in all_gpu() {
        let dir = tempfile::tempdir().unwrap();
        match c.run(&job(c, p.clone(), dir.path())) {
            Reply::Skipped { reason } => {
                assert!(
                    reason.contains("CUDA")
                        || reason.contains("NVRTC")
                        || reason.contains("cuBLAS"),
                    "{}: {reason}",
                    c.id()
                );
                assert!(
                    reason.contains("not found")
                        || reason.contains("no usable CUDA device")
                        || reason.contains("could not be loaded"),
                    "{}: {reason}",
                    c.id()
                );
            }
            Reply::Ok(m) => {
                assert!(m.rel_error <= c.tolerance(&p), "{}: {m:?}", c.id());
                assert!(!m.samples.is_empty() && m.samples.iter().all(|s| *s > 0.0));
                assert_eq!(m.threads, 0);
                assert!(m.transfer_s.is_some());
            }
            Reply::Failed { reason } => panic!("{} failed: {reason}", c.id()),
        }
    }
}

/// When there is no CUDA driver at all, the reason says so plainly.
#[test]
fn missing_driver_reason() {
    if device::ensure(&device::DRIVER).is_ok() {
        return; // a machine with the driver
    }
    let dir = tempfile::tempdir().unwrap();
    let p = Problem::gemm(8, 8, 8, DType::F64);
    for c in all_gpu() {
        let r = c.run(&job(c, p.clone(), dir.path()));
        match r {
            Reply::Skipped { reason } => {
                assert!(
                    reason.starts_with("no CUDA driver (libcuda.so.1 not found"),
                    "{reason}"
                )
            }
            other => panic!("{}: {other:?}", c.id()),
        }
    }
}

/// The child side end to end: job JSON in, one reply JSON line out.
#[test]
fn child_main_answers_for_gpu_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let j = job(
        &CUBLAS_TF32,
        Problem::gemm(16, 8, 24, DType::F32),
        dir.path(),
    );
    let out = crate::engine::child_main(&serde_json::to_vec(&j).unwrap());
    let reply: Reply = serde_json::from_str(&out).unwrap();
    assert!(!matches!(reply, Reply::Failed { .. }), "{out}");
}

#[test]
fn registered_with_stable_ids() {
    let ids: Vec<&str> = candidates::all().iter().map(|c| c.id()).collect();
    for c in all_gpu() {
        assert!(ids.contains(&c.id()), "{}", c.id());
        assert_eq!(candidates::by_id(c.id()).unwrap().backend(), Backend::Gpu);
    }
    assert_eq!(
        all_gpu().map(|c| c.id()),
        [
            "cuda-naive",
            "cuda-tiled",
            "cublas-sgemm-pedantic",
            "cublas-tf32",
            "cublas-f16-tc",
            "cublas-bf16-tc"
        ]
    );
}

#[test]
fn check_is_shape_only() {
    let tc = Toolchain::default();
    let mut p = Problem::gemm(64, 64, 64, DType::F32);
    for c in all_gpu() {
        assert!(c.check(&p, &tc).is_ok());
    }
    p.op = Operation::GemmBatched;
    p.batch = 4;
    for c in all_gpu() {
        assert!(c.check(&p, &tc).is_ok());
    }
    p.op = Operation::Gemv;
    for c in all_gpu() {
        assert!(c.check(&p, &tc).unwrap_err().contains("GEMM only"));
    }
}

#[test]
fn tolerance_and_precision_per_candidate() {
    let f32p = Problem::gemm(8, 8, 8, DType::F32);
    let f64p = Problem::gemm(8, 8, 8, DType::F64);
    let f16p = Problem::gemm(8, 8, 8, DType::F16);
    assert_eq!(CUDA_NAIVE.tolerance(&f32p), 1e-4);
    assert_eq!(CUDA_TILED.tolerance(&f64p), 1e-10);
    assert_eq!(CUBLAS_SGEMM_PEDANTIC.tolerance(&f64p), 1e-10);
    assert_eq!(CUBLAS_SGEMM_PEDANTIC.tolerance(&f16p), 1e-4);
    assert_eq!(CUBLAS_TF32.tolerance(&f32p), 5e-3);
    assert_eq!(CUBLAS_F16_TC.tolerance(&f32p), 2e-2);
    assert_eq!(CUBLAS_BF16_TC.tolerance(&f32p), 5e-2);
    assert_eq!(CUBLAS_BF16_TC.tolerance(&f64p), 5e-2);
    assert_eq!(CUDA_NAIVE.precision(&f64p), "f64");
    assert_eq!(CUDA_NAIVE.precision(&f16p), "f32 (inputs widened from f16)");
    assert_eq!(CUBLAS_TF32.precision(&f32p), "tf32 in, f32 accumulate");
    assert_eq!(CUBLAS_F16_TC.precision(&f32p), "f16 in, f32 accumulate");
    assert!(CUBLAS_SGEMM_PEDANTIC.label(&f64p).contains("Dgemm"));
    assert!(CUBLAS_SGEMM_PEDANTIC.label(&f32p).contains("Sgemm"));
    assert!(all_gpu().iter().all(|c| !c.samplable()));
}

#[test]
fn panics_become_replies() {
    let r = panic_reply(Box::new(String::from(
        "Unable to dynamically load the \"cublas\" shared library - searched for ...",
    )));
    assert!(matches!(r, Reply::Skipped { reason } if reason.contains("could not be loaded")));
    let r = panic_reply(Box::new("Missing symbol cublasGemmEx: ..."));
    assert!(matches!(r, Reply::Skipped { .. }));
    let r = panic_reply(Box::new("index out of bounds"));
    assert!(matches!(r, Reply::Failed { reason } if reason.contains("panicked")));
}

fn problem(m: u64, n: u64, k: u64, batch: u64, dtype: DType, layout: &str) -> Problem {
    let mut p = Problem::gemm(m, n, k, dtype);
    p.op = Operation::GemmBatched;
    p.batch = batch;
    p.layout = Layout::parse(layout).unwrap();
    p
}

#[test]
fn generated_index_expressions() {
    let a_nt = ("a[(idx_t)i * K + p]", "a[(idx_t)ai * K + ap]");
    let a_t = ("a[(idx_t)p * M + i]", "a[(idx_t)ap * M + ai]");
    let b_nt = ("b[(idx_t)p * N + j]", "b[(idx_t)bp * N + bj]");
    let b_t = ("b[(idx_t)j * K + p]", "b[(idx_t)bj * K + bp]");
    let cases = [
        ("nn", a_nt, b_nt),
        ("nt", a_nt, b_t),
        ("tn", a_t, b_nt),
        ("tt", a_t, b_t),
    ];
    for (l, (a, ta), (b, tb)) in cases {
        let p = problem(64, 48, 32, 1, DType::F32, l);
        let k = kernels::generate(KernelKind::Naive, &p, 64);
        assert!(k.source.contains(a), "{l}: {}", k.source);
        assert!(k.source.contains(b), "{l}: {}", k.source);
        assert!(k
            .source
            .contains(&format!("void gemm_naive_float_{l}(const float* A")));
        assert!(k
            .source
            .contains("C[(idx_t)bt * M * N + (idx_t)i * N + j] = acc;"));
        assert_eq!(k.block, (16, 16, 1));
        assert_eq!(k.grid, (3, 4, 1));

        let t = kernels::generate(KernelKind::Tiled, &p, 64);
        assert!(t.source.contains(ta), "{l}: {ta} in {}", t.source);
        assert!(t.source.contains(tb), "{l}: {tb} in {}", t.source);
        assert!(t.source.contains("__shared__ float As[32][32 + 1]"));
        assert!(t.source.contains("__syncthreads();"));
        assert_eq!(t.block, (32, 32, 1));
        assert_eq!(t.grid, (2, 2, 1));
        // Loads are coalesced: the fastest-varying thread index walks the
        // contiguous dimension of each operand.
        let want_a = if l.starts_with('t') {
            "const int ar = threadIdx.x, aq = threadIdx.y;"
        } else {
            "const int ar = threadIdx.y, aq = threadIdx.x;"
        };
        assert!(t.source.contains(want_a), "{l}");
    }
    let d = kernels::generate(KernelKind::Naive, &problem(8, 8, 8, 3, DType::F64, "nn"), 5);
    assert!(d.source.contains("double acc = 0;"));
    assert_eq!(d.grid, (1, 1, 3));
    let big = problem(8, 8, 8, 100_000, DType::F32, "nn");
    assert_eq!(
        kernels::grid(KernelKind::Tiled, &big, 8).2,
        kernels::MAX_GRID_Z
    );
}

fn cxx() -> Option<&'static str> {
    ["g++", "c++", "clang++"].into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// CUDA shims for compiling the generated kernels as C++ and running them
/// on the CPU: one POSIX thread per CUDA thread, a barrier per block for
/// `__syncthreads()`, blocks one after another (so `static` stands in for
/// `__shared__`).
const SHIM: &str = r#"
#include <pthread.h>
#include <cstdio>
#include <cstdlib>
#include <vector>
struct dim3 { unsigned x, y, z; };
static thread_local dim3 threadIdx;
static dim3 blockIdx, blockDim, gridDim;
static pthread_barrier_t gs_barrier;
#define __global__
#define __shared__ static
#define __syncthreads() pthread_barrier_wait(&gs_barrier)

struct Body { void (*run)(void*); void* env; unsigned t; };
static void* gs_thread(void* p) {
    Body* b = (Body*)p;
    threadIdx.x = b->t % blockDim.x;
    threadIdx.y = (b->t / blockDim.x) % blockDim.y;
    threadIdx.z = b->t / (blockDim.x * blockDim.y);
    b->run(b->env);
    return 0;
}
static void gs_launch(dim3 grid, dim3 block, void (*run)(void*), void* env) {
    gridDim = grid; blockDim = block;
    unsigned nt = block.x * block.y * block.z;
    std::vector<pthread_t> ts(nt);
    std::vector<Body> bodies(nt);
    pthread_attr_t attr; pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 16);
    for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
    for (unsigned x = 0; x < grid.x; ++x) {
        blockIdx.x = x; blockIdx.y = y; blockIdx.z = z;
        pthread_barrier_init(&gs_barrier, 0, nt);
        for (unsigned t = 0; t < nt; ++t) {
            bodies[t] = Body{run, env, t};
            if (pthread_create(&ts[t], &attr, gs_thread, &bodies[t])) { perror("pthread_create"); exit(2); }
        }
        for (unsigned t = 0; t < nt; ++t) pthread_join(ts[t], 0);
        pthread_barrier_destroy(&gs_barrier);
    }
}
/* Exact dyadic inputs: every product and sum below is exact in float. */
static double gs_input(unsigned long long i) { return (double)((i * 7919 + 13) % 257) / 128.0 - 1.0; }
"#;

fn exact_inputs(p: &Problem) -> Inputs {
    let f = |i: u64| ((i * 7919 + 13) % 257) as f64 / 128.0 - 1.0;
    Inputs {
        a: (0..p.m * p.k * p.batch).map(f).collect(),
        b: (0..p.k * p.n * p.batch).map(f).collect(),
    }
}

/// One emulated launch: the C++ that runs kernel `k` on `p` and prints C.
fn harness_case(idx: usize, p: &Problem, k: &kernels::Kernel, rows: u64, grid_z: u32) -> String {
    let t = kernels::scalar(p.dtype);
    let (m, n, kk, b) = (p.m, p.n, p.k, p.batch);
    format!(
        r#"
struct Env{idx} {{ {t}* A; {t}* B; {t}* C; }};
static void body{idx}(void* e) {{
    Env{idx}* v = (Env{idx}*)e;
    {name}(v->A, v->B, v->C, {m}, {n}, {kk}, {rows}, {b});
}}
static void case{idx}() {{
    std::vector<{t}> A({m} * {kk} * {b}), B({kk} * {n} * {b}), C({m} * {n} * {b}, ({t})0);
    for (size_t i = 0; i < A.size(); ++i) A[i] = ({t})gs_input(i);
    for (size_t i = 0; i < B.size(); ++i) B[i] = ({t})gs_input(i);
    Env{idx} env = {{A.data(), B.data(), C.data()}};
    gs_launch(dim3{{{gx}, {gy}, {grid_z}}}, dim3{{{bx}, {by}, 1}}, body{idx}, &env);
    printf("case {idx}\n");
    for (size_t i = 0; i < C.size(); ++i) printf("%a\n", (double)C[i]);
}}
"#,
        name = k.name,
        gx = k.grid.0,
        gy = k.grid.1,
        bx = k.block.0,
        by = k.block.1,
    )
}

/// Compiles every generated kernel (both kinds, f32 and f64, four layouts)
/// with g++ and CUDA shims and runs it on the CPU, one thread per CUDA
/// thread: C must equal the float64 reference exactly on the computed rows
/// (the inputs make every sum exact) and stay zero on the rows not computed.
#[test]
fn generated_kernels_compute_gemm_on_cpu_emulation() {
    let Some(cxx) = cxx() else {
        crate::testing::skip(
            "generated_kernels_compute_gemm_on_cpu_emulation",
            "no C++ compiler",
        );
        return;
    };
    let mut sources = String::from(SHIM);
    let mut cases = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for kind in [KernelKind::Naive, KernelKind::Tiled] {
        for dtype in [DType::F32, DType::F64] {
            for l in ["nn", "nt", "tn", "tt"] {
                // M, N, K not multiples of 16 or 32, K over one tile.
                let p = problem(37, 45, 40, 2, dtype, l);
                // Sampled rows and the batch loop (grid z 1) on some cases.
                let rows = if l == "nt" { 20 } else { p.m };
                let k = kernels::generate(kind, &p, rows);
                let grid_z = if l == "tn" { 1 } else { k.grid.2 };
                if seen.insert(k.name.clone()) {
                    sources.push_str(&k.source);
                }
                sources.push_str(&harness_case(cases.len(), &p, &k, rows, grid_z));
                cases.push((p, rows, k.name.clone()));
            }
        }
    }
    sources.push_str("int main() {\n");
    for i in 0..cases.len() {
        sources.push_str(&format!("    case{i}();\n"));
    }
    sources.push_str("    return 0;\n}\n");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("emulate.cpp");
    let exe = dir.path().join("emulate");
    std::fs::write(&src, &sources).unwrap();
    let out = Command::new(cxx)
        .args([
            "-std=c++17",
            "-O1",
            "-pthread",
            "-Wall",
            "-Wno-unused-function",
            "-o",
        ])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the generated kernels do not compile as C++ with shims:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8(run.stdout).unwrap();
    let mut blocks = text.split("case ").skip(1);
    for (i, (p, rows, name)) in cases.iter().enumerate() {
        let block = blocks.next().unwrap();
        let mut lines = block.lines();
        assert_eq!(lines.next().unwrap().trim(), i.to_string());
        let c: Vec<f64> = lines.map(|s| parse_hex_float(s.trim())).collect();
        assert_eq!(c.len() as u64, p.m * p.n * p.batch, "{name}");
        let inp = exact_inputs(p);
        for bt in 0..p.batch {
            let r = host::reference_rows(p, &inp, bt, *rows);
            let s0 = (bt * p.m * p.n) as usize;
            let got = &c[s0..s0 + r.len()];
            assert_eq!(got, &r[..], "{name} rows {rows} batch {bt}");
            let rest = &c[s0 + r.len()..s0 + (p.m * p.n) as usize];
            assert!(
                rest.iter().all(|x| *x == 0.0),
                "{name}: rows past {rows} written"
            );
        }
    }
}

/// Parses C's `%a` output (`0x1.8p+1`, `-0x0p+0`).
fn parse_hex_float(s: &str) -> f64 {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let s = s.strip_prefix("0x").expect(s);
    let (mant, exp) = s.split_once('p').expect(s);
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut v = u64::from_str_radix(int, 16).unwrap() as f64;
    let mut scale = 1.0 / 16.0;
    for d in frac.chars() {
        v += d.to_digit(16).unwrap() as f64 * scale;
        scale /= 16.0;
    }
    let v = v * 2f64.powi(exp.parse::<i32>().unwrap());
    if neg {
        -v
    } else {
        v
    }
}

#[test]
fn hex_float_parser() {
    assert_eq!(parse_hex_float("0x1.8p+1"), 3.0);
    assert_eq!(parse_hex_float("-0x1p-2"), -0.25);
    assert_eq!(parse_hex_float("0x0p+0"), 0.0);
}
