//! End-to-end tests of `gemmscope check`: the real binary, real files.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const GEMM_C: &str = "#define N 256\n\
static float A[N][N], B[N][N], C[N][N];\n\
void mm(void) {\n\
    for (int i = 0; i < N; i++)\n\
        for (int k = 0; k < N; k++)\n\
            for (int j = 0; j < N; j++)\n\
                C[i][j] += A[i][k] * B[k][j];\n\
}\n";

const NOT_GEMM_C: &str = "void fw(int n, float d[n][n]) {\n\
    for (int k = 0; k < n; k++)\n\
        for (int i = 0; i < n; i++)\n\
            for (int j = 0; j < n; j++)\n\
                if (d[i][k] + d[k][j] < d[i][j]) d[i][j] = d[i][k] + d[k][j];\n\
}\n";

fn gemmscope(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run gemmscope")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn text_output_points_at_the_nest_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mm.c"), GEMM_C).unwrap();
    let o = gemmscope(&["check", "mm.c"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("mm.c:4:1: GS101 "), "{out}");
    assert!(out.contains("256×256×256"), "{out}");
    assert!(out.contains("C[i][j] += A[i][k] * B[k][j];"), "{out}");
    assert!(
        out.contains("Found 1 finding (GS101 ×1) in 1 file."),
        "{out}"
    );
    // No colour codes when not on a terminal.
    assert!(!out.contains('\x1b'), "{out}");
    let o = gemmscope(&["check", "--color", "always", "mm.c"], dir.path());
    assert!(stdout(&o).contains("\x1b["));
}

#[test]
fn json_output_has_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mm.c"), GEMM_C).unwrap();
    let o = gemmscope(&["check", "--format", "json", "."], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["files_checked"], 1);
    let f = &doc["findings"][0];
    for key in [
        "path",
        "line",
        "end_line",
        "function",
        "code",
        "idiom",
        "routine",
        "dims",
        "dtype",
        "message",
        "loop_order",
        "layouts",
        "why",
        "confidence",
    ] {
        assert!(f.get(key).is_some(), "missing {key} in {f}");
    }
    assert_eq!(f["path"], "./mm.c");
    assert_eq!(f["line"], 4);
    assert_eq!(f["end_line"], 7);
    assert_eq!(f["function"], "mm");
    assert_eq!(f["code"], "GS101");
    assert_eq!(f["idiom"], "gemm");
    assert_eq!(f["routine"], "gemm");
    assert_eq!(f["dtype"], "f32");
    assert_eq!(f["loop_order"], "ikj");
    assert_eq!(f["dims"]["m"]["expr"], "N");
    assert_eq!(f["dims"]["m"]["value"], 256);
}

#[test]
fn no_findings_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fw.c"), NOT_GEMM_C).unwrap();
    let o = gemmscope(&["check", "fw.c"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("No findings in 1 file."));
}

#[test]
fn missing_path_is_an_error_with_exit_2_and_other_paths_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mm.c"), GEMM_C).unwrap();
    let o = gemmscope(&["check", "nope.c", "mm.c"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.c: cannot read"), "{}", stderr(&o));
    assert!(stdout(&o).contains("GS101"));
    // A usage error is 2 as well.
    let o = gemmscope(&["check", "--format", "yaml", "mm.c"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = gemmscope(&["check"], dir.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn gitignore_is_honoured_and_unknown_extensions_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("build")).unwrap();
    std::fs::write(dir.path().join(".gitignore"), "build/\n").unwrap();
    std::fs::write(dir.path().join("build/gen.c"), GEMM_C).unwrap();
    std::fs::write(dir.path().join("notes.txt"), GEMM_C).unwrap();
    std::fs::write(dir.path().join("fw.c"), NOT_GEMM_C).unwrap();
    let o = gemmscope(&["check", "--format", "json", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["files_checked"], 1);
    // Naming an unsupported file explicitly warns and skips it.
    let o = gemmscope(&["check", "notes.txt"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("notes.txt: skipped"), "{}", stderr(&o));
}

#[test]
fn syntax_errors_elsewhere_do_not_hide_the_finding() {
    let dir = tempfile::tempdir().unwrap();
    let broken = format!("{GEMM_C}\nint broken( {{ return 1 +;\n");
    std::fs::write(dir.path().join("b.c"), broken).unwrap();
    let invalid_utf8: Vec<u8> = [GEMM_C.as_bytes(), b"\n// \xff\xfe bytes\n"].concat();
    std::fs::write(dir.path().join("u.c"), invalid_utf8).unwrap();
    let o = gemmscope(&["check", "--format", "json", "b.c", "u.c"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{doc}");
    assert!(!doc["syntax_problems"].as_array().unwrap().is_empty());
}

#[test]
fn accessor_macros_in_a_sibling_include_folder_are_read_without_a_database() {
    // `src/gemm.c` includes "acc.h", kept in `include/` as a makefile's
    // `-I../include` would find it; no compile_commands.json anywhere.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::create_dir_all(dir.path().join("include")).unwrap();
    std::fs::write(
        dir.path().join("include/acc.h"),
        "#define AE(i, j) a[(j) * lda + (i)]\n#define BE(i, j) b[(j) * ldb + (i)]\n#define CE(i, j) c[(j) * ldc + (i)]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/gemm.c"),
        "#include \"acc.h\"\n\
         void gemm_cm(int m, int n, int k, const double *a, int lda, const double *b, int ldb, double *c, int ldc) {\n\
             for (int j = 0; j < n; j++)\n\
                 for (int p = 0; p < k; p++)\n\
                     for (int i = 0; i < m; i++)\n\
                         CE(i, j) += AE(i, p) * BE(p, j);\n\
         }\n",
    )
    .unwrap();
    let o = gemmscope(
        &["check", "--bench", "off", "--format", "json", "src"],
        dir.path(),
    );
    let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
    let f = &v["findings"][0];
    assert_eq!(f["code"], "GS101", "{}", stdout(&o));
    assert_eq!(f["function"], "gemm_cm");
    // Without the header the same file has no finding.
    std::fs::remove_file(dir.path().join("include/acc.h")).unwrap();
    let o = gemmscope(
        &["check", "--bench", "off", "--format", "json", "src"],
        dir.path(),
    );
    let v: Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(
        v["findings"].as_array().map(Vec::len),
        Some(0),
        "{}",
        stdout(&o)
    );
}
