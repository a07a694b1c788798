//! Differential tests of the SYRK / SYR2K / SYMM / TRMM rewrites
//! (`gemmscope_analyzers::fixes::symmetric`): for each fixture a program is
//! generated around the original code and around the rewritten one (a
//! `cblas_?syrk/syr2k/symm/trmm` call), both are compiled with gcc against
//! OpenBLAS and fed the same random inputs at several sizes (non-square:
//! n ≠ k for the rank updates, m ≠ n for SYMM and TRMM). Every array is
//! random, the output included, and the WHOLE output is compared: the
//! triangle SYRK/SYR2K must leave alone, the padding past the leading
//! dimension, and for SYMM the triangle of A that neither code may read
//! (A is filled completely at random, not symmetric, so reading the
//! wrong triangle changes the result).
//!
//! Fixtures (`tests/fixes/symmetric/*.c`) say how to drive them in `// gs-`
//! lines: `gs-type`, `gs-heap: NAME COUNT` (a heap array of COUNT elements
//! in terms of `gs_m`, `gs_n`, `gs_k`), `gs-call`, `gs-out`, and
//! `gs-expect: TEXT` (the call the rewrite must produce, so that uplo,
//! trans, side and diag are asserted too). `neg_*.c` fixtures have
//! `gs-nofix: CODE REASON`: the finding must have no fix, and its reason
//! must contain REASON.
//!
//! Where gcc or OpenBLAS are missing the differential test prints why and
//! skips (CI installs them: .ci/run).

use std::path::Path;
use std::process::Command;

mod common;
use common::*;

/// gcc that can compile and link a CBLAS call, or why not.
fn c_toolchain(dir: &Path) -> Result<(), String> {
    let probe = dir.join("probe.c");
    std::fs::write(
        &probe,
        "#include <cblas.h>\nint main(void){double a=2,c=1;cblas_dsyrk(CblasRowMajor,CblasLower,CblasNoTrans,1,1,1.0,&a,1,0.0,&c,1);return c==4.0?0:1;}\n",
    )
    .unwrap();
    let exe = dir.join("probe");
    let built = Command::new("gcc")
        .arg(&probe)
        .arg("-o")
        .arg(&exe)
        .arg("-lopenblas")
        .output();
    match built {
        Err(e) => return Err(format!("gcc not found: {e}")),
        Ok(o) if !o.status.success() => {
            return Err("OpenBLAS (cblas.h, -lopenblas) not usable".into())
        }
        Ok(_) => {}
    }
    if Command::new(&exe).status().is_ok_and(|s| s.success()) {
        Ok(())
    } else {
        Err("the OpenBLAS probe did not run correctly".into())
    }
}

/// How to drive one C file.
#[derive(Debug, Default)]
struct Case {
    /// Relative to tests/.
    file: String,
    ty: String,
    /// `#define NAME ...` lines set to the size triple's entries, in order.
    defines: Vec<String>,
    /// Heap arrays: (name, element count in terms of gs_m, gs_n, gs_k).
    heap: Vec<(String, String)>,
    /// Global arrays, filled and printed by `sizeof`.
    globals: Vec<String>,
    call: String,
    outputs: Vec<String>,
    /// The call the rewrite must contain.
    expect: Option<String>,
    sizes: Vec<[u32; 3]>,
}

/// (m, n, k): non-square ones included.
const SIZES: &[[u32; 3]] = &[[1, 1, 1], [3, 5, 7], [17, 9, 33], [40, 24, 16]];

fn fixture(file: &str) -> Case {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let mut c = Case {
        file: file.into(),
        sizes: SIZES.to_vec(),
        ..Case::default()
    };
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("// gs-") else {
            continue;
        };
        let (key, val) = rest.split_once(':').unwrap();
        let val = val.trim().to_string();
        match key {
            "type" => c.ty = val,
            "heap" => {
                let (n, count) = val.split_once(' ').unwrap();
                c.heap.push((n.into(), count.into()));
            }
            "call" => c.call = val,
            "out" => c.outputs.push(val),
            "expect" => c.expect = Some(val),
            other => panic!("{file}: unknown directive gs-{other}"),
        }
    }
    c
}

fn fixture_files(neg: bool) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("fixes/symmetric"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".c") && n.starts_with("neg_") == neg)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| format!("fixes/symmetric/{n}"))
        .collect()
}

/// Sizes of the corpus files: their two `#define`s, in order (non-square).
const TWO: &[[u32; 3]] = &[[1, 1, 0], [5, 3, 0], [17, 33, 0], [40, 16, 0]];

fn corpus(
    file: &str,
    ty: &str,
    defines: &[&str],
    globals: &[&str],
    call: &str,
    out: &str,
    expect: &str,
) -> Case {
    Case {
        file: format!("corpus/c/{file}"),
        ty: ty.into(),
        defines: defines.iter().map(|s| s.to_string()).collect(),
        heap: vec![],
        globals: globals.iter().map(|s| s.to_string()).collect(),
        call: call.into(),
        outputs: vec![out.into()],
        expect: Some(expect.into()),
        sizes: TWO.to_vec(),
    }
}

fn corpus_cases() -> Vec<Case> {
    vec![
        corpus(
            "syrk.c",
            "double",
            &["N", "M"],
            &["C", "A"],
            "syrk_lower(1.5, 1.2);",
            "C",
            "cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, N, M, alpha, &A[0][0], M, \
             beta, &C[0][0], N);",
        ),
        corpus(
            "syr2k.c",
            "float",
            &["N", "M"],
            &["C", "A", "B"],
            "syr2k(0.75f, -1.25f);",
            "C",
            "cblas_ssyr2k(CblasRowMajor, CblasLower, CblasNoTrans, N, M, alpha, &A[0][0], M, \
             &B[0][0], M, beta, &C[0][0], N);",
        ),
        corpus(
            "symm_scaled.c",
            "double",
            &["M", "N"],
            &["A", "B", "C"],
            "symm(0.5, 1.5);",
            "C",
            "cblas_dsymm(CblasRowMajor, CblasLeft, CblasLower, M, N, alpha, &A[0][0], M, \
             &B[0][0], N, beta, &C[0][0], N);",
        ),
        corpus(
            "symm_lower_two_loops.c",
            "float",
            &["N", "P"],
            &["S", "B", "C"],
            "symm_lower();",
            "C",
            "cblas_ssymm(CblasRowMajor, CblasLeft, CblasLower, N, P, 1.0f, &S[0][0], N, \
             &B[0][0], P, 0.0f, &C[0][0], P);",
        ),
        corpus(
            "trmm.c",
            "double",
            &["M", "N"],
            &["A", "B"],
            "trmm_upper_unit(1.25);",
            "B",
            "cblas_dtrmm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasUnit, M, N, \
             alpha, &A[0][0], M, &B[0][0], N);",
        ),
    ]
}

fn compile_run(
    dir: &Path,
    tag: &str,
    case: &Case,
    text: &str,
    size: [u32; 3],
) -> Result<Vec<f64>, String> {
    let d = CDriver {
        ty: &case.ty,
        dims: &["gs_m", "gs_n", "gs_k"],
        heap: case.heap.clone(),
        globals: case.globals.clone(),
        call: &case.call,
        outputs: case.outputs.clone(),
    };
    let inc = root().join(&case.file);
    let text = set_defines(text, &case.defines, &size);
    compile_run_c(dir, tag, &d, &text, "c", inc.parent(), &size)
}

/// The rewrite of every positive fixture and corpus file is the expected
/// call, and it is stable (a second pass changes nothing).
fn rewritten(case: &Case) -> Result<(String, String), String> {
    let path = root().join(&case.file);
    let text = std::fs::read_to_string(&path).unwrap();
    let (fixed, rounds) = fix_until_stable(&path, &text, 5);
    if rounds != 1 {
        return Err(format!("{}: {rounds} rounds of fixes (want 1)", case.file));
    }
    let (_, more) = fix_until_stable(&path, &fixed, 5);
    if more != 0 {
        return Err(format!("{}: a second pass changed the rewrite", case.file));
    }
    if let Some(e) = &case.expect {
        if !fixed.contains(e.as_str()) {
            return Err(format!("{}: the rewrite lacks `{e}`:\n{fixed}", case.file));
        }
    }
    Ok((text, fixed))
}

#[test]
fn fixtures_rewrite_to_the_expected_call() {
    let mut cases = corpus_cases();
    cases.extend(fixture_files(false).iter().map(|f| fixture(f)));
    let mut failures = Vec::new();
    for case in &cases {
        if case.expect.is_none() {
            failures.push(format!("{}: no gs-expect line", case.file));
        }
        if let Err(e) = rewritten(case) {
            failures.push(e);
        }
    }
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn symmetric_rewrites_compute_what_the_loops_computed() {
    let dir = tempdir("c");
    if let Err(why) = c_toolchain(&dir) {
        gemmscope_microbench::testing::skip(
            "symmetric_rewrites_compute_what_the_loops_computed",
            &why,
        );
        return;
    }
    let mut cases = corpus_cases();
    cases.extend(fixture_files(false).iter().map(|f| fixture(f)));
    let mut failures = Vec::new();
    let (mut files, mut runs) = (0, 0);
    for case in &cases {
        let (text, fixed) = match rewritten(case) {
            Ok(x) => x,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        files += 1;
        let tol = if case.ty == "float" { 1e-4 } else { 1e-10 };
        let run = |tag: &str, t: &str, size| compile_run(&dir, tag, case, t, size);
        runs += compare_sizes(
            &case.file,
            &case.sizes,
            tol,
            (&text, &fixed),
            run,
            &mut failures,
        );
    }
    println!("symmetric differential: {files} files, {runs} size runs agree");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The differential harness can fail: a rewrite that reads the wrong
/// triangle, or writes the triangle SYRK must leave alone, is caught.
#[test]
fn the_comparison_catches_a_wrong_triangle() {
    let dir = tempdir("wrong");
    if let Err(why) = c_toolchain(&dir) {
        gemmscope_microbench::testing::skip("the_comparison_catches_a_wrong_triangle", &why);
        return;
    }
    for (file, right, wrong) in [
        (
            "fixes/symmetric/d_syrk_lower_flat.c",
            "CblasLower",
            "CblasUpper",
        ),
        (
            "fixes/symmetric/d_symm_left_upper.c",
            "CblasUpper",
            "CblasLower",
        ),
        (
            "fixes/symmetric/d_trmm_right_lower.c",
            "CblasUnit",
            "CblasNonUnit",
        ),
    ] {
        let case = fixture(file);
        let (text, fixed) = rewritten(&case).unwrap();
        assert!(fixed.contains(right), "{file}");
        // The last occurrence is the call (the first may be the gs-expect line).
        let at = fixed.rfind(right).unwrap();
        let broken = format!("{}{wrong}{}", &fixed[..at], &fixed[at + right.len()..]);
        let size = [17, 9, 33];
        let tag = file.replace(['/', '.'], "_");
        let a = compile_run(&dir, &format!("{tag}_orig"), &case, &text, size).unwrap();
        let b = compile_run(&dir, &format!("{tag}_broken"), &case, &broken, size).unwrap();
        assert!(
            agree(&a, &b, 1e-10).is_err(),
            "{file}: {wrong} instead of {right} went unnoticed"
        );
    }
}

#[test]
fn negatives_get_no_fix_and_the_reason() {
    let files = fixture_files(true);
    assert!(files.len() >= 12, "{files:?}");
    for file in files {
        let path = root().join(&file);
        let text = std::fs::read_to_string(&path).unwrap();
        let want = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("// gs-nofix:"))
            .unwrap_or_else(|| panic!("{file}: no gs-nofix line"))
            .trim();
        let (code, why) = want.split_once(' ').unwrap();
        let v = analyse(&path, &text);
        let f = v
            .iter()
            .find(|f| f.finding.code == code)
            .unwrap_or_else(|| panic!("{file}: no {code} finding: {v:#?}"));
        match &f.fixes {
            Ok(x) => panic!("{file}: unexpected fix {x:#?}"),
            Err(e) => assert!(
                e.reason.contains(why),
                "{file}: reason {:?} lacks {why:?}",
                e.reason
            ),
        }
    }
}

/// Python nests of these shapes are not rewritten, and say so.
#[test]
fn python_symmetric_nests_say_why_not() {
    let text = "def syrk(C, A, n, m):\n    for i in range(n):\n        for j in range(i + 1):\n            for k in range(m):\n                C[i][j] += A[i][k] * A[j][k]\n";
    let v = analyse(Path::new("syrk.py"), text);
    let f = v
        .iter()
        .find(|f| f.finding.code == "GS105")
        .unwrap_or_else(|| panic!("no GS105: {v:#?}"));
    let e = f.fixes.as_ref().unwrap_err();
    assert!(e.reason.contains("C/C++ only"), "{}", e.reason);
}
