//! `gemmscope check --diff` / `--fix` end to end on a temporary folder.

use std::process::Command;

const GEMM: &str = "#include <stdlib.h>\n\nvoid mm(int n, const float *A, const float *B, float *C)\n{\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n + j] += A[i*n + k] * B[k*n + j];\n}\n";

fn gemmscope(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn diff_prints_and_writes_nothing_then_fix_rewrites_and_converges() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mm.c");
    std::fs::write(&f, GEMM).unwrap();
    std::fs::write(dir.path().join("jagged.c"), "void g(int n, float **A, float **B, float **C)\n{\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i][j] += A[i][k] * B[k][j];\n}\n").unwrap();

    let (rc, out, err) = gemmscope(dir.path(), &["check", "--no-estimates", "--diff", "."]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(out.contains("--- a/./mm.c\n+++ b/./mm.c\n"), "{out}");
    assert!(out.contains("+#include <cblas.h>\n"), "{out}");
    assert!(out.contains("+    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, &A[0], n, &B[0], n, 1.0f, &C[0], n);\n"), "{out}");
    assert!(out.contains("-    for (int i = 0; i < n; i++)\n"), "{out}");
    assert!(
        err.contains("jagged.c:3: GS101 not fixed: `C`'s rows are separate allocations"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        GEMM,
        "--diff wrote the file"
    );

    let (rc, out, err) = gemmscope(dir.path(), &["check", "--no-estimates", "--fix", "."]);
    // The jagged nest is still reported: exit 1.
    assert_eq!(rc, 1, "{out}{err}");
    assert!(
        err.contains("mm.c: fixed: Replace the loop nest with cblas_sgemm"),
        "{err}"
    );
    assert!(err.contains("1 fixes applied in 1 files"), "{err}");
    assert!(!out.contains("mm.c"), "{out}");
    assert!(out.contains("jagged.c"), "{out}");
    let fixed = std::fs::read_to_string(&f).unwrap();
    assert!(fixed.contains("cblas_sgemm("), "{fixed}");

    // Nothing left to fix in mm.c: --diff prints no hunk for it.
    let (_, out, _) = gemmscope(
        dir.path(),
        &[
            "check",
            "--no-estimates",
            "--diff",
            "--select",
            "GS101",
            "mm.c",
        ],
    );
    assert_eq!(out, "");
}

/// `--fix` analyses with the file's compile_commands.json flags, as `check`
/// does: a `-D` that switches the element type to double must give
/// `cblas_dgemm`, not the `cblas_sgemm` of the default build.
#[test]
fn fix_uses_the_compile_commands_defines() {
    const TYPED: &str = "#ifdef USE_DOUBLE\ntypedef double real;\n#else\ntypedef float real;\n#endif\n\nvoid mm(int n, const real *A, const real *B, real *C)\n{\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n + j] += A[i*n + k] * B[k*n + j];\n}\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mm.c"), TYPED).unwrap();
    let (rc, out, err) = gemmscope(dir.path(), &["check", "--no-estimates", "--diff", "mm.c"]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(out.contains("+    cblas_sgemm("), "{out}");

    let root = dir.path().display().to_string();
    std::fs::write(
        dir.path().join("compile_commands.json"),
        format!(
            "[{{\"directory\": \"{root}\", \"file\": \"mm.c\", \
             \"command\": \"cc -O2 -DUSE_DOUBLE -c mm.c\"}}]"
        ),
    )
    .unwrap();
    let (rc, out, err) = gemmscope(dir.path(), &["check", "--no-estimates", "--diff", "mm.c"]);
    assert_eq!(rc, 1, "{out}{err}");
    assert!(out.contains("+    cblas_dgemm(CblasRowMajor"), "{out}");
    assert!(!out.contains("cblas_sgemm"), "{out}");
}
