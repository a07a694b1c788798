//! Differential tests of the rewrites (`gemmscope_analyzers::fixes`): for
//! each fixture, a program is generated around the original code and
//! around the rewritten code, both are fed the same random inputs at
//! several sizes (non-square included), and the outputs must agree within
//! a tolerance fitting the element type. C is compiled with gcc against
//! OpenBLAS (`-lopenblas`); Python runs with NumPy. Where a tool is missing
//! the test prints why and skips (CI installs them: .ci/run).
//!
//! Also: fixes re-applied until nothing changes converge (ruff style) and
//! leave no fixable finding; every fixable corpus file still parses after
//! the rewrite (tree-sitter, and `gcc -fsyntax-only` for C); negatives get
//! no fix and a reason; the cuBLAS rewrites compile against a stub header
//! (a syntax/type check with g++, not nvcc: this machine has no CUDA).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use gemmscope_analyzers::fixes::{apply_edits, Applicability};
use gemmscope_analyzers::{Lang, NoIncludes};

mod common;
use common::*;

// ---------------------------------------------------------------------------
// C: the generated program

/// How to drive one C fixture.
struct CCase {
    /// Relative to tests/.
    file: &'static str,
    ty: &'static str,
    /// `#define NAME ...` lines set to the sizes (M, N, K in order; `-` skips).
    defines: &'static [&'static str],
    /// Heap arrays: (name, element count in terms of gs_m, gs_n, gs_k).
    heap: &'static [(&'static str, &'static str)],
    /// Global arrays filled and printed by `sizeof`.
    globals: &'static [&'static str],
    call: &'static str,
    /// Arrays whose values are compared.
    outputs: &'static [&'static str],
    /// Sizes (M, N, K); one size when the file fixes them.
    sizes: &'static [[u32; 3]],
}

const SIZES: &[[u32; 3]] = &[[1, 1, 1], [3, 5, 7], [17, 9, 33], [40, 24, 16]];
const UNIFORM_HEAP: &[(&str, &str)] = &[
    ("A", "(gs_m + 4) * (gs_k + 4)"),
    ("B", "(gs_k + 4) * (gs_n + 4)"),
    ("C", "(gs_m + 4) * (gs_n + 4)"),
];

const MNK_HEAP: &[(&str, &str)] = &[
    ("A", "(gs_m + 1) * (gs_n + 1) * (gs_k + 1)"),
    ("B", "(gs_m + 1) * (gs_n + 1) * (gs_k + 1)"),
    ("C", "(gs_m + 1) * (gs_n + 1) * (gs_k + 1)"),
];

fn uniform(file: &'static str, ty: &'static str) -> CCase {
    CCase {
        file,
        ty,
        defines: &[],
        heap: UNIFORM_HEAP,
        globals: &[],
        call: "kern(gs_m, gs_n, gs_k, A, B, C);",
        outputs: &["C"],
        sizes: SIZES,
    }
}

fn corpus_cases() -> Vec<CCase> {
    vec![
        CCase {
            file: "corpus/c/gemm_alpha_beta_acc.c",
            ty: "float",
            defines: &[],
            heap: &[
                ("A", "gs_m * gs_k"),
                ("B", "gs_k * gs_n"),
                ("C", "gs_m * gs_n"),
            ],
            globals: &[],
            call: "sgemm_scaled(gs_m, gs_n, gs_k, 0.75f, A, B, -1.25f, C);",
            outputs: &["C"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_ikj_flat_params.c",
            ty: "double",
            defines: &[],
            heap: &[
                ("A", "gs_m * gs_k"),
                ("B", "gs_k * gs_n"),
                ("C", "gs_m * gs_n"),
            ],
            globals: &[],
            call: "dgemm_ikj(gs_m, gs_n, gs_k, A, B, C);",
            outputs: &["C"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_idx_macro.c",
            ty: "float",
            defines: &[],
            heap: MNK_HEAP,
            globals: &[],
            // Leading dimensions larger than the row lengths.
            call: "sgemm_idx(gs_m, gs_n, gs_k, A, gs_k + 1, B, gs_n + 2, C, gs_n + 1);",
            outputs: &["C"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_jik_colmajor.c",
            ty: "float",
            defines: &[],
            heap: MNK_HEAP,
            globals: &[],
            call: "matmul_colmajor(gs_m, gs_n, gs_k, A, gs_m + 1, B, gs_k, C, gs_m + 1);",
            outputs: &["C"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_kji_transB.c",
            ty: "float",
            defines: &[],
            heap: &[
                ("X", "gs_m * gs_k"),
                ("W", "gs_n * gs_k"),
                ("out", "gs_m * gs_n"),
            ],
            globals: &[],
            call: "linear_forward(gs_m, gs_n, gs_k, X, W, out);",
            outputs: &["out"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_pointer_arith.c",
            ty: "float",
            defines: &[],
            heap: &[
                ("A", "gs_m * gs_k"),
                ("B", "gs_k * gs_n"),
                ("C", "gs_m * gs_n"),
            ],
            globals: &[],
            call: "mm_ptr(A, B, C, gs_m, gs_n, gs_k);",
            outputs: &["C"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_vla_param.c",
            ty: "float",
            defines: &[],
            heap: &[
                ("A", "gs_m * gs_k"),
                ("B", "gs_k * gs_n"),
                ("C", "gs_m * gs_n"),
            ],
            globals: &[],
            call: "gemm_vla(gs_m, gs_n, gs_k, (void *)C, (void *)A, (void *)B);",
            outputs: &["C"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_while_loop.c",
            ty: "double",
            defines: &[],
            heap: &[
                ("a", "gs_m * gs_m"),
                ("b", "gs_m * gs_m"),
                ("c", "gs_m * gs_m"),
            ],
            globals: &[],
            call: "matmul_while(a, b, c, gs_m);",
            outputs: &["c"],
            sizes: &[[1, 1, 1], [6, 6, 6], [23, 23, 23]],
        },
        CCase {
            file: "corpus/c/gemm_bound_macro_param.c",
            ty: "double",
            defines: &[],
            heap: &[
                ("X", "gs_m * gs_m"),
                ("Y", "gs_m * gs_m"),
                ("Z", "gs_m * gs_m"),
            ],
            globals: &[],
            call: "square_matmul(gs_m, X, Y, Z);",
            outputs: &["Z"],
            sizes: &[[1, 1, 1], [6, 6, 6], [23, 23, 23]],
        },
        CCase {
            file: "corpus/c/gemv_transposed.c",
            ty: "double",
            defines: &[],
            heap: &[("A", "gs_m * gs_k"), ("x", "gs_m"), ("y", "gs_k")],
            globals: &[],
            call: "gemv_t(gs_m, gs_k, A, x, y);",
            outputs: &["y"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_ijk_2d_define.c",
            ty: "float",
            defines: &["N"],
            heap: &[],
            globals: &["A", "B", "C"],
            call: "matmul();",
            outputs: &["C"],
            sizes: &[[1, 1, 1], [5, 5, 5], [31, 31, 31]],
        },
        CCase {
            file: "corpus/c/gemm_hoisted_aik.c",
            ty: "double",
            defines: &["M", "P", "Q"],
            heap: &[],
            globals: &["A", "B", "C"],
            call: "matmul_hoisted();",
            outputs: &["C"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_kij_transA.c",
            ty: "double",
            defines: &["NI", "NJ", "NK"],
            heap: &[],
            globals: &["At", "B", "C"],
            call: "gemm_at_b();",
            outputs: &["C"],
            sizes: SIZES,
        },
        CCase {
            file: "corpus/c/gemm_scalar_acc.c",
            ty: "float",
            defines: &["N"],
            heap: &[],
            globals: &["a", "b", "c"],
            call: "matmul(a, b, c);",
            outputs: &["c"],
            sizes: &[[1, 1, 1], [7, 7, 7], [29, 29, 29]],
        },
        CCase {
            file: "corpus/c/gemv.c",
            ty: "float",
            defines: &["ROWS", "COLS"],
            heap: &[],
            globals: &["A", "x", "y"],
            call: "matvec();",
            outputs: &["y"],
            sizes: SIZES,
        },
    ]
}

fn fixture_cases() -> Vec<CCase> {
    let mut v = Vec::new();
    let dir = root().join("fixes/c");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| (n.ends_with(".c") || n.ends_with(".cpp")) && !n.starts_with("neg_"))
        .collect();
    names.sort();
    for n in names {
        let ty = if n.starts_with("s_") {
            "float"
        } else {
            "double"
        };
        let file: &'static str = Box::leak(format!("fixes/c/{n}").into_boxed_str());
        v.push(uniform(file, ty));
    }
    v
}

fn compile_run(
    dir: &Path,
    tag: &str,
    case: &CCase,
    text: &str,
    size: [u32; 3],
) -> Result<Vec<f64>, String> {
    let d = CDriver {
        ty: case.ty,
        dims: &["gs_m", "gs_n", "gs_k"],
        heap: case
            .heap
            .iter()
            .map(|(n, c)| (n.to_string(), c.to_string()))
            .collect(),
        globals: case.globals.iter().map(|g| g.to_string()).collect(),
        call: case.call,
        outputs: case.outputs.iter().map(|o| o.to_string()).collect(),
    };
    let ext = if case.file.ends_with(".cpp") {
        "cpp"
    } else {
        "c"
    };
    let inc = root().join(case.file);
    let text = set_defines(text, case.defines, &size);
    compile_run_c(dir, tag, &d, &text, ext, inc.parent(), &size)
}

#[test]
fn c_rewrites_compute_what_the_loops_computed() {
    let dir = tempdir("c");
    if let Err(why) = c_toolchain(&dir) {
        gemmscope_microbench::testing::skip("c_rewrites_compute_what_the_loops_computed", &why);
        return;
    }
    let mut cases = corpus_cases();
    cases.extend(fixture_cases());
    let mut failures = Vec::new();
    let (mut files, mut runs) = (0, 0);
    for case in &cases {
        let path = root().join(case.file);
        let text = std::fs::read_to_string(&path).unwrap();
        let (fixed, rounds) = fix_until_stable(&path, &text, 5);
        if rounds == 0 || !(fixed.contains("cblas_sgem") || fixed.contains("cblas_dgem")) {
            failures.push(format!("{}: no cblas rewrite", case.file));
            continue;
        }
        files += 1;
        let tol = if case.ty == "float" { 1e-4 } else { 1e-10 };
        let run = |tag: &str, t: &str, size| compile_run(&dir, tag, case, t, size);
        runs += compare_sizes(
            case.file,
            case.sizes,
            tol,
            (&text, &fixed),
            run,
            &mut failures,
        );
    }
    println!("C differential: {files} files, {runs} size runs agree");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(files >= 35, "only {files} files rewritten");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn c_negatives_get_no_fix_and_a_reason() {
    let expect: BTreeMap<&str, &str> = [
        ("neg_bias_init.c", "starts at `B[j]`"),
        ("neg_extra_statement.c", "also assigns `gs_count`"),
        ("neg_index_read_after.c", "read after the nest"),
        ("neg_mixed_types.c", "mix element types"),
        ("neg_strided_start.c", "steps of 1"),
        ("neg_row_scale_loop_short.c", "loops over `j` twice"),
        ("neg_std_deque.cpp", "not one contiguous block"),
    ]
    .into_iter()
    .collect();
    for (file, why) in &expect {
        let path = root().join("fixes/c").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let v = analyse(&path, &text);
        assert_eq!(v.len(), 1, "{file}: {v:#?}");
        match &v[0].fixes {
            Ok(f) => panic!("{file}: unexpected fix {f:#?}"),
            Err(e) => assert!(e.reason.contains(why), "{file}: {}", e.reason),
        }
    }
    // Corpus shapes that must not be rewritten, each with its reason.
    for (file, why) in [
        ("corpus/c/gemm_double_ptr.c", "separate allocations"),
        ("corpus/c/vector_vector_double.cpp", "separate allocations"),
        (
            "corpus/python/dense_layer_class.py",
            "starts at `self.b[j]`",
        ),
        (
            "corpus/cuda/naive_colmajor_double.cu",
            "no launch in this file",
        ),
    ] {
        let path = root().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let v = analyse(&path, &text);
        assert!(
            v.iter().any(|f| f
                .fixes
                .as_ref()
                .err()
                .is_some_and(|e| e.reason.contains(why))),
            "{file}: no finding without a fix saying {why:?}: {v:#?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Python

fn py_cases() -> Vec<PyCase> {
    let lists =
        "[rng.uniform(-1, 1, (s[0], s[2])).tolist(), rng.uniform(-1, 1, (s[2], s[1])).tolist()]";
    vec![
        PyCase { file: "corpus/python/matmul_lists_ijk.py", func: "matmul", make: "setattr(mod, 'N', s[0]) or [rng.uniform(-1, 1, (s[0], s[0])).tolist(), rng.uniform(-1, 1, (s[0], s[0])).tolist()]" },
        PyCase { file: "corpus/python/matmul_lists_ikj.py", func: "matmul_ikj", make: "[rng.uniform(-1, 1, (s[0], s[2])).tolist(), rng.uniform(-1, 1, (s[2], s[1])).tolist(), s[0], s[2], s[1]]" },
        PyCase { file: "corpus/python/matmul_lists_jik.py", func: "matmul_jik", make: "[rng.integers(-5, 5, (s[0], s[2])).tolist(), rng.integers(-5, 5, (s[2], s[1])).tolist(), s[0], s[2], s[1]]" },
        PyCase { file: "corpus/python/matmul_lists_jki.py", func: "matmul_jki", make: "[rng.uniform(-1, 1, (s[0], s[2])).tolist(), rng.uniform(-1, 1, (s[2], s[1])).tolist(), s[0], s[1], s[2]]" },
        PyCase { file: "corpus/python/matmul_lists_kij.py", func: "outer_accumulate", make: "setattr(mod, 'SIZE', s[0]) or [rng.uniform(-1, 1, (s[0], s[0])).tolist(), rng.uniform(-1, 1, (s[0], s[0])).tolist()]" },
        PyCase { file: "corpus/python/matmul_lists_kji.py", func: "gemm_kji", make: "[rng.uniform(-1, 1, (s[0], s[2])).tolist(), rng.uniform(-1, 1, (s[2], s[1])).tolist(), rng.uniform(-1, 1, (s[0], s[1])).tolist(), s[0], s[1], s[2]]" },
        PyCase { file: "corpus/python/matmul_sum_generator.py", func: "matmul", make: "[rng.integers(-5, 5, (s[0], s[2])).tolist(), rng.integers(-5, 5, (s[2], s[1])).tolist(), s[0], s[1], s[2]]" },
        PyCase { file: "corpus/python/matmul_zip_comprehension.py", func: "matmul", make: lists },
        PyCase { file: "corpus/python/gemv_lists.py", func: "step", make: "[rng.uniform(-1, 1, (s[0], s[0])).tolist(), rng.uniform(-1, 1, s[0]).tolist(), s[0]]" },
        PyCase { file: "fixes/python/forms.py", func: "nd_accumulate_transposed", make: "[rng.uniform(-1, 1, (s[2], s[0])).astype(np.float32), rng.uniform(-1, 1, (s[2], s[1])).astype(np.float32), rng.uniform(-1, 1, (s[0] + 1, s[1] + 2)).astype(np.float32)]" },
        PyCase { file: "fixes/python/forms.py", func: "nd_overwrite_scaled", make: "[rng.uniform(-1, 1, (s[0], s[2])), rng.uniform(-1, 1, (s[2], s[1])), rng.uniform(-1, 1, (s[0], s[1])), 0.5, 2.0]" },
        PyCase { file: "fixes/python/forms.py", func: "list_in_place_int", make: "[rng.integers(-4, 4, (s[0], s[2])).tolist(), rng.integers(-4, 4, (s[2], s[1])).tolist(), rng.integers(-4, 4, (s[0] + 2, s[1] + 1)).tolist()]" },
        PyCase { file: "fixes/python/forms.py", func: "list_overwrite_float", make: "[rng.integers(-4, 4, (s[0], s[2])).tolist(), rng.integers(-4, 4, (s[2], s[1])).tolist(), rng.integers(-4, 4, (s[0], s[1])).tolist()]" },
        PyCase { file: "fixes/python/forms.py", func: "comprehension_range", make: lists },
        PyCase { file: "corpus/python/matmul_dot_slices.py", func: "mm_dot", make: "[rng.uniform(-1, 1, (s[0], s[2])), rng.uniform(-1, 1, (s[2], s[1])), rng.uniform(-1, 1, (s[0], s[1]))]" },
        PyCase { file: "corpus/python/matmul_dot_slices.py", func: "mm_sum", make: "[rng.uniform(-1, 1, (s[0], s[2])), rng.uniform(-1, 1, (s[2], s[1]))]" },
        PyCase { file: "corpus/python/matmul_dot_slices.py", func: "mm_matmul_row", make: "[rng.uniform(-1, 1, (s[0], s[2])).astype(np.float32), rng.uniform(-1, 1, (s[2], s[1])).astype(np.float32)]" },
        // float64 operands into a float32 output: the result keeps float32.
        PyCase { file: "corpus/python/matmul_dot_slices.py", func: "mm_matmul_row", make: "[rng.uniform(-1, 1, (s[0], s[2])), rng.uniform(-1, 1, (s[2], s[1]))]" },
        PyCase { file: "corpus/python/matmul_dot_slices.py", func: "gemv_dot", make: "[rng.uniform(-1, 1, (s[2], s[0])).astype(np.float32), rng.uniform(-1, 1, s[2]).astype(np.float32)]" },
        PyCase { file: "corpus/python/matmul_dot_slices.py", func: "gemv_dot", make: "[rng.uniform(-1, 1, (s[2], s[0])), rng.uniform(-1, 1, s[2])]" },
        PyCase { file: "fixes/python/forms.py", func: "gemv_nd_transposed", make: "[rng.uniform(-1, 1, (s[2], s[0])), rng.uniform(-1, 1, s[2]), rng.uniform(-1, 1, s[0])]" },
    ]
}

#[test]
fn python_rewrites_compute_what_the_loops_computed() {
    let py = match numpy_python() {
        Ok(p) => p,
        Err(why) => {
            gemmscope_microbench::testing::skip(
                "python_rewrites_compute_what_the_loops_computed",
                &why,
            );
            return;
        }
    };
    let cases = py_cases();
    let sizes = "[(1, 1, 1), (3, 5, 7), (8, 2, 5), (13, 11, 6)]";
    let (runs, failures) = py_differential(&py, "py", &cases, sizes, |case, _, rounds| {
        if rounds == 0 {
            Err(format!("{}: no rewrite", case.file))
        } else {
            Ok(())
        }
    });
    println!(
        "Python differential: {} cases, {runs} size runs agree",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// Convergence, parsing, CUDA

fn fixable_files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for sub in [
        "corpus/c",
        "corpus/cuda",
        "corpus/python",
        "fixes/c",
        "fixes/symmetric",
        "fixes/python",
        "fixes/cuda",
    ] {
        let Ok(rd) = std::fs::read_dir(root().join(sub)) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if Lang::from_path(&p.to_string_lossy()).is_some() {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}

#[test]
fn fixes_converge_parse_and_leave_no_fixable_finding() {
    let gcc = have("gcc", &["--version"]);
    let mut rewritten = 0;
    for path in fixable_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let (fixed, rounds) = fix_until_stable(&path, &text, 10);
        assert!(rounds < 10, "{}: did not converge", path.display());
        if rounds == 0 {
            continue;
        }
        rewritten += 1;
        // Applying again changes nothing, and nothing fixable is left.
        let (again, more) = fix_until_stable(&path, &fixed, 10);
        assert_eq!(more, 0, "{}", path.display());
        assert_eq!(again, fixed);
        let left = analyse(&path, &fixed);
        assert!(
            left.iter().all(|f| f.fixes.as_ref().map_or(true, |x| x
                .iter()
                .all(|x| x.applicability != Applicability::Exact))),
            "{}: still fixable: {left:#?}",
            path.display()
        );
        // The rewrite parses: no syntax problem that the original lacked.
        let before = gemmscope_analyzers::analyze(&path.to_string_lossy(), &text, &NoIncludes)
            .unwrap()
            .syntax_problems
            .len();
        let after = gemmscope_analyzers::analyze(&path.to_string_lossy(), &fixed, &NoIncludes)
            .unwrap()
            .syntax_problems
            .len();
        assert!(
            after <= before,
            "{}: new syntax problems\n{fixed}",
            path.display()
        );
        let ext = path.extension().unwrap().to_string_lossy().to_string();
        if gcc && ext == "c" && before == 0 {
            let dir = tempdir("syntax");
            let f = dir.join(path.file_name().unwrap());
            std::fs::write(&f, &fixed).unwrap();
            let out = Command::new("gcc")
                .arg("-fsyntax-only")
                .arg("-I")
                .arg(path.parent().unwrap())
                .arg(&f)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: gcc -fsyntax-only: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert!(rewritten >= 45, "only {rewritten} files rewritten");
}

#[test]
fn cublas_rewrites_type_check_against_a_stub_header() {
    // A syntax and type check with g++ and stub declarations of the cuBLAS
    // API (tests/fixes/cuda/shim): nvcc is not on this machine.
    if !have("g++", &["--version"]) {
        gemmscope_microbench::testing::skip(
            "cublas_rewrites_type_check_against_a_stub_header",
            "g++ not found",
        );
        return;
    }
    let dir = tempdir("cuda");
    let shim = root().join("fixes/cuda/shim");
    let mut checked = 0;
    for name in ["host_sgemm.cu", "host_gemmex_pedantic.cu"] {
        let path = root().join("fixes/cuda").join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let v = analyse(&path, &text);
        assert!(!v.is_empty(), "{name}: no finding");
        for f in &v {
            let fixes = f
                .fixes
                .as_ref()
                .unwrap_or_else(|e| panic!("{name}: {}", e.reason));
            for (n, fix) in fixes.iter().enumerate() {
                assert_eq!(fix.applicability, Applicability::ChangesPrecision);
                assert!(
                    fix.title.contains("1e-3") || fix.title.contains("rounding"),
                    "{}",
                    fix.title
                );
                let fixed = apply_edits(&text, &fix.edits).unwrap();
                for t in [&text, &fixed] {
                    let src = dir.join(format!("{n}_{name}.cpp"));
                    std::fs::write(&src, t).unwrap();
                    let out = Command::new("g++")
                        .args(["-fsyntax-only", "-x", "c++", "-I"])
                        .arg(&shim)
                        .arg(&src)
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{name}: {}\n{t}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
                // The finding is gone once the fix is in.
                let after = analyse(&path, &fixed);
                assert!(after.is_empty(), "{name}: {after:#?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 3);
    let _ = std::fs::remove_dir_all(&dir);
}
