use std::sync::OnceLock;

use super::*;
use crate::problem::{Layout, LoopOrder};

fn toolchain() -> &'static Toolchain {
    static TC: OnceLock<Toolchain> = OnceLock::new();
    TC.get_or_init(Toolchain::probe)
}

const LAYOUTS: [&str; 4] = ["nn", "nt", "tn", "tt"];
const ORDERS: [&str; 6] = ["ijk", "ikj", "jik", "jki", "kij", "kji"];

fn problem(m: u64, n: u64, k: u64, dtype: DType, layout: &str, order: &str) -> Problem {
    let mut p = Problem::gemm(m, n, k, dtype);
    p.layout = Layout::parse(layout).unwrap();
    p.loop_order = LoopOrder::parse(order).unwrap();
    p
}

fn job(
    c: &dyn Candidate,
    p: &Problem,
    sample_rows: Option<u64>,
    tc: &Toolchain,
) -> (Job, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (
        Job {
            candidate: c.id().into(),
            problem: p.clone(),
            budget_s: 0.05,
            seed: 0x1234_5678,
            sample_rows,
            workdir: dir.path().to_path_buf(),
            toolchain: tc.clone(),
        },
        dir,
    )
}

/// Runs `c` on `p` and checks the measurement; `None` when this machine has
/// no C compiler (then the reply must be a skip with a reason).
fn run_ok(c: &dyn Candidate, p: &Problem, sample_rows: Option<u64>) -> Option<Measurement> {
    let tc = toolchain();
    let (j, _dir) = job(c, p, sample_rows, tc);
    let reply = c.run(&j);
    if tc.cc.is_none() {
        assert!(matches!(reply, Reply::Skipped { .. }), "{reply:?}");
        return None;
    }
    let m = match reply {
        Reply::Ok(m) => m,
        other => panic!("{} on {}: {other:?}", c.id(), p.describe()),
    };
    let rows = sample_rows.unwrap_or(p.m).min(p.m);
    assert!(
        m.rel_error.is_finite() && m.rel_error < c.tolerance(p),
        "{} on {}: rel_error {}",
        c.id(),
        p.describe(),
        m.rel_error
    );
    assert_eq!(m.rows_computed, rows, "{}", p.describe());
    let want_checked = if p.batch > 1 {
        2 * rows.min(8)
    } else {
        rows.min(16)
    };
    assert_eq!(m.checked_rows, want_checked, "{}", p.describe());
    assert!(
        !m.samples.is_empty() && m.samples.len() <= 100,
        "{:?}",
        m.samples
    );
    assert!(m
        .samples
        .iter()
        .all(|s| s.is_finite() && *s > 0.0 && *s < 10.0));
    assert!(m.threads >= 1);
    assert!(!m.what.is_empty());
    Some(m)
}

#[test]
fn naive_o1_every_loop_order_and_layout_on_sampled_rows() {
    for order in ORDERS {
        for layout in LAYOUTS {
            let p = problem(37, 29, 23, DType::F32, layout, order);
            let Some(m) = run_ok(&NAIVE_O1, &p, Some(5)) else {
                return;
            };
            assert!(m.samples.len() >= 3, "{:?}", m.samples);
            assert!(m.what.contains("-O1") && m.what.contains(order) && m.what.contains(layout));
            assert_eq!(m.threads, 1);
        }
    }
}

#[test]
fn naive_whole_problem_f64_and_batched() {
    let p = problem(37, 29, 23, DType::F64, "tn", "kij");
    run_ok(&NAIVE_O3, &p, None);
    let mut p = problem(19, 13, 11, DType::F64, "nt", "jki");
    p.op = Operation::GemmBatched;
    p.batch = 3;
    run_ok(&NAIVE_O3_NATIVE, &p, Some(6));
    p.dtype = DType::F32;
    run_ok(&NAIVE_O1, &p, None);
}

#[test]
fn naive_and_blocked_in_f16_and_bf16() {
    for dtype in [DType::F16, DType::Bf16] {
        let p = problem(21, 18, 40, dtype, "tt", "ikj");
        if let Some(m) = run_ok(&NAIVE_O1, &p, Some(4)) {
            assert!(m.rel_error > 0.0, "16-bit storage cannot be exact");
        }
        run_ok(&BLOCKED, &p, None);
    }
}

#[test]
fn blocked_and_threads_on_sizes_off_the_block_grid() {
    // M crosses two row blocks, N two column blocks, K one depth block.
    for layout in LAYOUTS {
        let p = problem(130, 70, 300, DType::F32, layout, "ijk");
        run_ok(&BLOCKED, &p, None);
        if let Some(m) = run_ok(&BLOCKED_THREADS, &p, None) {
            assert_eq!(m.threads, cores());
            assert!(m.what.contains("pthreads"));
        }
    }
    let mut p = problem(67, 5, 259, DType::F64, "nt", "ijk");
    p.op = Operation::GemmBatched;
    p.batch = 3;
    run_ok(&BLOCKED, &p, None);
    run_ok(&BLOCKED_THREADS, &p, None);
    let p = problem(1, 1, 1, DType::F32, "nn", "ijk");
    run_ok(&BLOCKED_THREADS, &p, None);
}

#[test]
fn openblas_every_layout_or_a_skip_reason() {
    let tc = toolchain();
    let p = problem(37, 29, 23, DType::F32, "nn", "ijk");
    if tc.openblas.is_none() {
        let why = OPENBLAS.check(&p, tc).unwrap_err();
        assert!(why.contains("OpenBLAS"), "{why}");
        return;
    }
    for layout in LAYOUTS {
        let p = problem(37, 29, 23, DType::F32, layout, "ijk");
        let m = run_ok(&OPENBLAS, &p, None).unwrap();
        assert!(
            m.what.contains("OpenBLAS") && m.what.contains("cblas_sgemm"),
            "{}",
            m.what
        );
    }
    let mut p = problem(19, 13, 11, DType::F64, "tt", "ijk");
    p.op = Operation::GemmBatched;
    p.batch = 4;
    let m = run_ok(&OPENBLAS, &p, None).unwrap();
    assert!(m.what.contains("cblas_dgemm"));
    assert!(OPENBLAS
        .check(&problem(8, 8, 8, DType::F16, "nn", "ijk"), tc)
        .is_err());
}

#[test]
fn openblas_is_skipped_with_a_reason_without_openblas() {
    let mut tc = toolchain().clone();
    tc.openblas = None;
    tc.openblas_flags.clear();
    let p = problem(16, 16, 16, DType::F32, "nn", "ijk");
    let why = OPENBLAS.check(&p, &tc).unwrap_err();
    assert!(why.contains("OpenBLAS not found"), "{why}");
    let (j, _d) = job(&OPENBLAS, &p, None, &tc);
    match OPENBLAS.run(&j) {
        Reply::Skipped { reason } => assert!(reason.contains("OpenBLAS"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_compiler_means_skipped() {
    let tc = Toolchain::default();
    let p = problem(16, 16, 16, DType::F32, "nn", "ijk");
    for c in [
        &NAIVE_O1 as &dyn Candidate,
        &BLOCKED,
        &BLOCKED_THREADS,
        &OPENBLAS,
    ] {
        assert!(c.check(&p, &tc).is_err());
        let (j, _d) = job(c, &p, None, &tc);
        assert!(matches!(c.run(&j), Reply::Skipped { .. }), "{}", c.id());
    }
    let mut gemv = p.clone();
    gemv.op = Operation::Gemv;
    assert!(NAIVE_O1.check(&gemv, toolchain()).is_err());
}

#[test]
fn compile_errors_fail_with_the_first_error_line() {
    let tc = toolchain();
    let Some(cc) = &tc.cc else { return };
    let p = problem(4, 4, 4, DType::F32, "nn", "ijk");
    let (j, dir) = job(&NAIVE_O1, &p, None, tc);
    let b = Build {
        source: "int main(void) { return undeclared_thing; }\n".into(),
        flags: vec!["-O1".into()],
        libs: Vec::new(),
        cc: &cc.path,
    };
    match compile_and_run(&b, &j, 4, 1) {
        Err(Reply::Failed { reason }) => {
            assert!(reason.starts_with("compile error: "), "{reason}");
            assert!(reason.contains("undeclared_thing"), "{reason}");
            assert!(
                !reason.contains(&dir.path().display().to_string()),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// The C checker (`gs_check` in every program's frame) on a correct and on
/// a perturbed output: a program made of the same prelude and naive kernel,
/// whose main perturbs one element of C before checking.
#[test]
fn the_c_checker_catches_a_perturbed_output() {
    let tc = toolchain();
    let Some(cc) = &tc.cc else { return };
    for (dtype, layout) in [(DType::F32, "nt"), (DType::F64, "tn"), (DType::Bf16, "nn")] {
        let p = problem(12, 10, 7, dtype, layout, "kij");
        let mut src = gen::prelude(&p, Kernel::Naive);
        src.push_str(&gen::kernel_source(&p, Kernel::Naive));
        src.push_str(
            r#"
int main(void) {
    long M = 12, N = 10, K = 7, checked = 0;
    elem *A = gs_alloc(M * K * sizeof(elem)), *B = gs_alloc(K * N * sizeof(elem));
    elem *C = gs_alloc(M * N * sizeof(elem));
    acc *W = sizeof(acc) == sizeof(elem) ? (acc *)(void *)C : gs_alloc(M * N * sizeof(acc));
    gs_state = 7;
    gs_fill(A, M * K);
    gs_fill(B, K * N);
    gs_kernel(A, B, C, W, M, N, K, 1, M, 1);
    double good = gs_check(A, B, C, M, N, K, 1, M, &checked);
    C[3 * N + 4] = ST(LD(C[3 * N + 4]) + 2.0);
    double bad = gs_check(A, B, C, M, N, K, 1, M, &checked);
    double samples[1] = {1e-3};
    gs_print_json(samples, 1, M, checked, 1, good);
    gs_print_json(samples, 1, M, checked, 1, bad);
    C[0] = ST(NAN);
    gs_print_json(samples, 1, M, checked, 1, gs_check(A, B, C, M, N, K, 1, M, &checked));
    return 0;
}
"#,
        );
        let (j, _d) = job(&NAIVE_O1, &p, None, tc);
        std::fs::write(j.workdir.join("t.c"), src).unwrap();
        let st = std::process::Command::new(&cc.path)
            .args(["-O1", "-o", "t", "t.c", "-lm"])
            .current_dir(&j.workdir)
            .status()
            .unwrap();
        assert!(st.success());
        let out = std::process::Command::new(j.workdir.join("t"))
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let outs: Vec<ProgramOutput> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let tol = dtype.tolerance();
        let good = outs[0].rel_error.unwrap();
        let bad = outs[1].rel_error.unwrap();
        assert!(good < tol, "{dtype:?}: {good}");
        assert!(bad > tol, "{dtype:?}: perturbed output passed with {bad}");
        assert_eq!(outs[1].checked_rows, 12);
        assert_eq!(outs[2].rel_error, None, "NaN must come back as null");
    }
}

#[test]
fn generated_source_is_from_the_problem_only() {
    let p = problem(100, 200, 300, DType::F32, "tn", "jki");
    let s = gen::program(&p, Kernel::Naive);
    // The sizes come in on argv, the loop order and layout are in the text.
    assert!(!s.contains("300"));
    let j = s.find("for (long j = 0; j < N; j++)\n").unwrap();
    let k = s.find("for (long k = 0; k < K; k++)\n").unwrap();
    let i = s.find("for (long i = 0; i < rows; i++)\n").unwrap();
    assert!(j < k && k < i, "{s}");
    assert!(s.contains("#define A_(i, k) a[(size_t)(k) * M + (i)]"));
}

/// `y = A x` (`layout` `nn`: A row-major M×K; `tn`: A stored K×M, the
/// code's `y = Aᵀ x`), `order` `ikj` (i-k dot products) or `kij` (k-i
/// axpy-style sweeps).
fn gemv(m: u64, k: u64, dtype: DType, layout: &str, order: &str) -> Problem {
    let mut p = problem(m, 1, k, dtype, layout, order);
    p.op = Operation::Gemv;
    p
}

#[test]
fn naive_gemv_in_both_loop_orders_and_layouts_is_checked_against_f64() {
    if toolchain().cc.is_none() {
        crate::testing::skip("naive_gemv", "no C compiler");
        return;
    }
    for dtype in [DType::F32, DType::F64, DType::F16] {
        for layout in ["nn", "tn"] {
            for order in ["ikj", "kij"] {
                let p = gemv(37, 23, dtype, layout, order);
                for c in [&NAIVE_O1, &NAIVE_O3] {
                    let m = run_ok(c, &p, None).unwrap();
                    let want = if order == "ikj" {
                        "i-k GEMV"
                    } else {
                        "k-i GEMV"
                    };
                    assert!(m.what.contains(want), "{}", m.what);
                }
            }
        }
    }
    // Sampled outputs: the first rows of y only, still checked.
    run_ok(&NAIVE_O3, &gemv(301, 64, DType::F32, "tn", "kij"), Some(40));
    // Skinny and fat shapes.
    run_ok(
        &NAIVE_O3_NATIVE,
        &gemv(1, 513, DType::F32, "nn", "ikj"),
        None,
    );
    run_ok(
        &NAIVE_O3_NATIVE,
        &gemv(513, 1, DType::F64, "tn", "kij"),
        None,
    );
    let src = gen::program(&gemv(8, 8, DType::F32, "tn", "kij"), Kernel::Naive);
    assert!(src.contains("Naive GEMV, k-i"), "{src}");
    assert!(src.contains("a[(size_t)(k) * M + (i)]"), "{src}");
}

#[test]
fn openblas_gemv_with_the_trans_flag_or_a_skip() {
    let tc = toolchain();
    if tc.openblas.is_none() {
        crate::testing::skip("openblas_gemv", "OpenBLAS not found");
        return;
    }
    for (dtype, f) in [(DType::F32, "cblas_sgemv"), (DType::F64, "cblas_dgemv")] {
        for layout in ["nn", "tn"] {
            let p = gemv(41, 27, dtype, layout, "ikj");
            let m = run_ok(&OPENBLAS, &p, None).unwrap();
            assert!(m.what.contains(f), "{}", m.what);
            assert_eq!(m.what.contains("CblasTrans"), layout == "tn", "{}", m.what);
        }
    }
    assert_eq!(
        OPENBLAS.label(&gemv(4, 4, DType::F64, "nn", "ikj")),
        "OpenBLAS dgemv"
    );
}

#[test]
fn gemv_problems_are_refused_where_there_is_no_gemv_kernel() {
    let tc = toolchain();
    let p = gemv(16, 16, DType::F32, "nn", "ikj");
    assert!(BLOCKED.check(&p, tc).unwrap_err().contains("GEMM only"));
    let mut batched = p.clone();
    batched.batch = 2;
    assert!(NAIVE_O3.check(&batched, tc).is_err());
}
