//! Differential tests of the GS104 rewrite (`fixes::batched`): batched
//! GEMMs and tensor contractions that are one GEMM per iteration of their
//! outermost loop. For each fixture a program is generated around the
//! original and around the rewritten code; both get the same random inputs
//! at several sizes (batch 1 and 3, non-square matrices) and their outputs
//! must agree within 1e-4 (float) or 1e-10 (double). C is compiled with gcc
//! against OpenBLAS (`-lopenblas`), Python runs with NumPy; where a tool is
//! missing the test prints `SKIPPED ...` — and fails under `CI=true`, where .ci/run installs them (`gemmscope_microbench::testing::skip`).
//!
//! Also: the negatives get no fix and the expected reason, the corpus's
//! batched files are rewritten to the expected calls, and the fixes
//! converge (a second pass changes nothing, the result parses, and for C
//! passes `gcc -fsyntax-only`).
//!
//! Shared helpers are in `common/`; the harness here has a fourth size,
//! the batch.

use std::path::{Path, PathBuf};
use std::process::Command;

use gemmscope_analyzers::NoIncludes;

mod common;
use common::*;

// ---------------------------------------------------------------------------
// C

/// How to drive one C fixture.
struct CCase {
    /// Relative to tests/.
    file: &'static str,
    ty: &'static str,
    /// `#define NAME ...` lines set to the sizes (batch, M, N, K in order).
    defines: &'static [&'static str],
    /// Global arrays filled and printed through `sizeof`; when empty, heap
    /// arrays `A`, `B`, `C` of `HEAP` elements.
    globals: &'static [&'static str],
    call: &'static str,
    outputs: &'static [&'static str],
}

/// (batch, M, N, K): batch 1 and 3, square and non-square.
const SIZES: &[[u32; 4]] = &[[1, 1, 1, 1], [3, 5, 7, 4], [1, 17, 9, 33], [3, 8, 3, 12]];
const HEAP: &str = "(gs_b + 2) * (gs_m + 3) * (gs_n + 3) * (gs_k + 3)";

fn fixture(file: &'static str, call: &'static str) -> CCase {
    CCase {
        file,
        ty: if file.contains("/s_") {
            "float"
        } else {
            "double"
        },
        defines: &[],
        globals: &[],
        call,
        outputs: &["C"],
    }
}

const PLAIN: &str = "kern(gs_b, gs_m, gs_n, gs_k, A, B, C);";
const VLA: &str = "kern(gs_b, gs_m, gs_n, gs_k, (void *)A, (void *)B, (void *)C);";

fn c_cases() -> Vec<CCase> {
    vec![
        CCase {
            file: "corpus/c/batched_gemm.c",
            ty: "float",
            defines: &["BATCH", "M", "N", "K"],
            globals: &["A", "B", "C"],
            call: "batched_matmul();",
            outputs: &["C"],
        },
        CCase {
            file: "corpus/c/tensor_contraction.c",
            ty: "double",
            defines: &["DI", "DJ", "DL", "DK"],
            globals: &["X", "U", "Y"],
            call: "ttm_mode2();",
            outputs: &["Y"],
        },
        fixture("fixes/batched/s_flat_accumulate.c", PLAIN),
        fixture("fixes/batched/d_vla_overwrite.c", VLA),
        fixture("fixes/batched/s_shared_b.c", PLAIN),
        fixture(
            "fixes/batched/d_colmajor_padded_alpha_beta.c",
            "kern(gs_b, gs_m, gs_n, gs_k, A, B, C, 0.75, -1.25);",
        ),
        fixture("fixes/batched/s_batch_middle_minus.c", VLA),
        fixture("fixes/batched/d_pointer_zero_init.c", PLAIN),
        fixture("fixes/batched/s_shared_w_rows_outer.c", PLAIN),
    ]
}

fn compile_run(
    dir: &Path,
    tag: &str,
    case: &CCase,
    text: &str,
    size: [u32; 4],
) -> Result<Vec<f64>, String> {
    let heap = if case.globals.is_empty() {
        ["A", "B", "C"]
            .map(|n| (n.to_string(), HEAP.to_string()))
            .to_vec()
    } else {
        Vec::new()
    };
    let d = CDriver {
        ty: case.ty,
        dims: &["gs_b", "gs_m", "gs_n", "gs_k"],
        heap,
        globals: case.globals.iter().map(|g| g.to_string()).collect(),
        call: case.call,
        outputs: case.outputs.iter().map(|o| o.to_string()).collect(),
    };
    let text = set_defines(text, case.defines, &size);
    compile_run_c(dir, tag, &d, &text, "c", None, &size)
}

#[test]
fn c_batched_rewrites_compute_what_the_loops_computed() {
    let dir = tempdir("c");
    if let Err(why) = c_toolchain(&dir) {
        gemmscope_microbench::testing::skip(
            "c_batched_rewrites_compute_what_the_loops_computed",
            &why,
        );
        return;
    }
    let cases = c_cases();
    let mut failures = Vec::new();
    let (mut files, mut runs) = (0, 0);
    for case in &cases {
        let path = root().join(case.file);
        let text = std::fs::read_to_string(&path).unwrap();
        let (fixed, rounds) = fix_until_stable(&path, &text, 5);
        let calls = fixed.matches("cblas_sgemm(").count() + fixed.matches("cblas_dgemm(").count();
        // One call, still inside the kept batch loop.
        if rounds == 0
            || calls != 1
            || fixed.matches("for (").count() != text.matches("for (").count() - 3
        {
            failures.push(format!(
                "{}: not rewritten as expected:\n{fixed}",
                case.file
            ));
            continue;
        }
        files += 1;
        let tol = if case.ty == "float" { 1e-4 } else { 1e-10 };
        let run = |tag: &str, t: &str, size| compile_run(&dir, tag, case, t, size);
        runs += compare_sizes(case.file, SIZES, tol, (&text, &fixed), run, &mut failures);
    }
    println!("C batched differential: {files} files, {runs} size runs agree");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(files, cases.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corpus_batched_files_get_the_expected_calls() {
    for (file, call) in [
        (
            "corpus/c/batched_gemm.c",
            "    for (int b = 0; b < BATCH; b++)   // expect: GS104 routine=gemm_batched idiom=gemm dims=16x(32x48x64) dtype=f32\n        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, &A[b][0][0], K, &B[b][0][0], N, 0.0f, &C[b][0][0], N);\n}",
        ),
        (
            // Y[i] (DJ x DL, l contiguous) is column-major DL x DJ: Y[i]ᵀ = X[i]ᵀ-as-stored · Uᵀ.
            "corpus/c/tensor_contraction.c",
            "cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, DL, DJ, DK, 1.0, &X[i][0][0], DL, &U[0][0], DK, 0.0, &Y[i][0][0], DL);",
        ),
        (
            "corpus/python/batched_loops.py",
            "    C = np.zeros((BATCH, M, N))\n    C += A[:BATCH, :M, :K] @ B[:BATCH, :K, :N]\n    return C\n",
        ),
        (
            "fixes/batched/s_batch_middle_minus.c",
            "cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, -1.0f, &A[b][0][0], k, &B[0][b][0], nb * n, 1.0f, &C[0][b][0], nb * n);",
        ),
        (
            // Row loop outside: per i, the rows b interleave (stride n in C).
            "fixes/batched/s_shared_w_rows_outer.c",
            "cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, n, k, 1.0f, &A[i*k], k*m, &W[0], n, 1.0f, &C[i*n], m*n);",
        ),
        (
            "fixes/batched/s_shared_b.c",
            "&W[0], n, 1.0f,",
        ),
        (
            "fixes/batched/forms.py",
            "    Y[:X.shape[0], :U.shape[0], :X.shape[2]] = U[:, :X.shape[1]] @ X\n",
        ),
    ] {
        let path = root().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let v = analyse(&path, &text);
        assert!(v.iter().any(|f| f.finding.code == "GS104"), "{file}");
        let (fixed, rounds) = fix_until_stable(&path, &text, 5);
        assert_eq!(rounds, 1, "{file}");
        assert!(fixed.contains(call), "{file}:\n{fixed}");
    }
}

#[test]
fn batched_negatives_get_no_fix_and_a_reason() {
    for (file, why) in [
        (
            "neg_reduction_over_batch.c",
            "does not index the output `C`",
        ),
        (
            "neg_overlapping_batches.c",
            "outputs may overlap: `C`'s per-batch stride `n`",
        ),
        ("neg_extra_statement.c", "also contains other code (line 5)"),
        (
            "neg_batch_not_outermost.c",
            "is not the outermost loop of the nest (loop order i-b-j-k)",
        ),
        (
            "neg_two_contracted.c",
            "contracts over several indices (`p`, `q`)",
        ),
    ] {
        let path = root().join("fixes/batched").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let v = analyse(&path, &text);
        assert_eq!(v.len(), 1, "{file}: {v:#?}");
        assert_eq!(v[0].finding.code, "GS104", "{file}");
        match &v[0].fixes {
            Ok(f) => panic!("{file}: unexpected fix {f:#?}"),
            Err(e) => assert!(e.reason.contains(why), "{file}: {}", e.reason),
        }
    }
    let path = root().join("fixes/batched/neg_forms.py");
    let text = std::fs::read_to_string(&path).unwrap();
    let v = analyse(&path, &text);
    for (func, why) in [
        ("strided_batch_loop", "does not run from 0 in steps of 1"),
        (
            "batch_axis_in_the_middle",
            "first subscript is not the batch index `t`",
        ),
        ("batch_reduction", "does not index the output `z`"),
    ] {
        let f = v
            .iter()
            .find(|f| f.finding.function.as_deref() == Some(func))
            .unwrap_or_else(|| panic!("{func}: no finding: {v:#?}"));
        assert_eq!(f.finding.code, "GS104", "{func}");
        match &f.fixes {
            Ok(x) => panic!("{func}: unexpected fix {x:#?}"),
            Err(e) => assert!(e.reason.contains(why), "{func}: {}", e.reason),
        }
    }
    assert_eq!(v.len(), 3, "{v:#?}");
}

// ---------------------------------------------------------------------------
// Python

fn py_cases() -> Vec<PyCase> {
    vec![
        PyCase {
            file: "corpus/python/batched_loops.py",
            func: "bmm",
            make: "[setattr(mod, n, v) for n, v in zip(['BATCH', 'M', 'N', 'K'], s)] and [rng.uniform(-1, 1, (s[0], s[1], s[3])), rng.uniform(-1, 1, (s[0], s[3], s[2]))]",
        },
        PyCase {
            file: "fixes/batched/forms.py",
            func: "bmm_accumulate",
            make: "[rng.uniform(-1, 1, (s[0], s[1], s[3])), rng.uniform(-1, 1, (s[0], s[3], s[2])), rng.uniform(-1, 1, (s[0], s[1], s[2]))]",
        },
        PyCase {
            file: "fixes/batched/forms.py",
            func: "bmm_shared_weight_overwrite",
            make: "[rng.uniform(-1, 1, (s[0], s[1], s[3])), rng.uniform(-1, 1, (s[3], s[2]))]",
        },
        PyCase {
            file: "fixes/batched/forms.py",
            func: "bmm_transposed_block_scaled",
            make: "[rng.uniform(-1, 1, (s[0], s[3], s[1])).astype(np.float32), rng.uniform(-1, 1, (s[0], s[3], s[2])).astype(np.float32), rng.uniform(-1, 1, (s[0] + 1, s[1] + 2, s[2] + 1)).astype(np.float32), 0.5, 2.0]",
        },
        PyCase {
            file: "fixes/batched/forms.py",
            func: "ttm_mode2",
            make: "[rng.uniform(-1, 1, (s[0], s[3], s[2])), rng.uniform(-1, 1, (s[1], s[3]))]",
        },
        PyCase {
            // Integers: the result stays an int array, exactly.
            file: "fixes/batched/forms.py",
            func: "bmm_subtract",
            make: "[rng.integers(-4, 4, (s[0], s[1], s[3])), rng.integers(-4, 4, (s[0], s[3], s[2])), rng.integers(-4, 4, (s[0], s[1], s[2]))]",
        },
        PyCase {
            file: "fixes/batched/forms.py",
            func: "lists_accumulate_int",
            make: "[rng.integers(-4, 4, (s[0], s[1], s[3])).tolist(), rng.integers(-4, 4, (s[0], s[3], s[2])).tolist(), rng.integers(-4, 4, (s[0], s[1], s[2])).tolist()]",
        },
        PyCase {
            file: "fixes/batched/forms.py",
            func: "lists_fresh_float",
            make: "[rng.integers(-4, 4, (s[0], s[1], s[3])).tolist(), rng.integers(-4, 4, (s[0], s[3], s[2])).tolist()]",
        },
        PyCase {
            file: "fixes/batched/forms.py",
            func: "lists_overwrite_offset",
            make: "[rng.uniform(-1, 1, (s[0], s[1], s[3])).tolist(), rng.uniform(-1, 1, (s[0], s[3], s[2])).tolist(), rng.uniform(-1, 1, (s[0] + 2, s[1], s[2] + 3)).tolist()]",
        },
    ]
}

#[test]
fn python_batched_rewrites_compute_what_the_loops_computed() {
    let py = match numpy_python() {
        Ok(p) => p,
        Err(why) => {
            gemmscope_microbench::testing::skip(
                "python_batched_rewrites_compute_what_the_loops_computed",
                &why,
            );
            return;
        }
    };
    let cases = py_cases();
    let sizes = "[(1, 1, 1, 1), (3, 5, 7, 4), (1, 8, 2, 5), (3, 13, 11, 6)]";
    let (runs, failures) = py_differential(&py, "py", &cases, sizes, |case, fixed, rounds| {
        let body = fixed
            .split(&format!("def {}(", case.func))
            .nth(1)
            .unwrap_or("")
            .lines()
            .skip(1)
            .take_while(|l| l.is_empty() || l.starts_with([' ', '\t']))
            .collect::<Vec<_>>()
            .join("\n");
        // The function's own loops are gone (the rewrite's row loop over a
        // list result is `for _gs_...`), replaced by one product.
        let loops = body.lines().any(|l| {
            let t = l.trim_start();
            t.starts_with("for ") && !t.starts_with("for _gs_")
        });
        let products = body.matches(" @ ").count() + body.matches("np.matmul(").count();
        if rounds == 0 || loops || products != 1 {
            Err(format!(
                "{} {}: not rewritten:\n{body}",
                case.file, case.func
            ))
        } else {
            Ok(())
        }
    });
    println!(
        "Python batched differential: {} cases, {runs} size runs agree",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(runs, 4 * cases.len());
}

// ---------------------------------------------------------------------------
// Convergence

#[test]
fn batched_fixes_converge_and_parse() {
    let gcc = have("gcc", &["--version"]);
    let mut rewritten = 0;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("fixes/batched"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let (fixed, rounds) = fix_until_stable(&path, &text, 10);
        assert!(rounds < 10, "{name}: did not converge");
        assert_eq!(rounds == 0, name.starts_with("neg_"), "{name}");
        if rounds == 0 {
            continue;
        }
        rewritten += 1;
        let (again, more) = fix_until_stable(&path, &fixed, 10);
        assert_eq!(more, 0, "{name}");
        assert_eq!(again, fixed);
        let left = analyse(&path, &fixed);
        assert!(left.is_empty(), "{name}: findings left: {left:#?}");
        let problems = |t: &str| {
            gemmscope_analyzers::analyze(&path.to_string_lossy(), t, &NoIncludes)
                .unwrap()
                .syntax_problems
                .len()
        };
        assert_eq!(problems(&fixed), 0, "{name}: syntax problems\n{fixed}");
        if gcc && name.ends_with(".c") {
            let dir = tempdir("syntax");
            let f = dir.join(&name);
            std::fs::write(&f, &fixed).unwrap();
            let out = Command::new("gcc")
                .arg("-fsyntax-only")
                .arg(&f)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: gcc -fsyntax-only: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert_eq!(rewritten, 8);
}
