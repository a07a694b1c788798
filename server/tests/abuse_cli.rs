//! `gemmscope check` on hostile files, through the real binary (its
//! analysis threads have the default 2 MiB stacks, and it has no nesting
//! guard of its own: the analyzers' depth caps must hold): 10,000-deep
//! nesting in every language, invalid UTF-8, NUL bytes, binary garbage, a
//! 20 MB file, odd line endings, a self-including header. Each run ends
//! with exit 0 or 1 (never 2 or a signal) and valid JSON.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const GEMM: &str = "#define N 32\nfloat A[N][N], B[N][N], C[N][N];\nvoid mm(void) {\n    for (int i = 0; i < N; i++)\n        for (int j = 0; j < N; j++)\n            for (int k = 0; k < N; k++)\n                C[i][j] += A[i][k] * B[k][j];\n}\n";

fn check(dir: &Path) -> (Option<i32>, Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_gemmscope"))
        .args(["check", "--format", "json", "."])
        .current_dir(dir)
        .env("GEMMSCOPE_CACHE_DIR", dir.join(".cache"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let doc = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("output is not JSON ({e}): {err}"));
    (o.status.code(), doc, err)
}

fn findings_in(doc: &Value, file: &str) -> usize {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with(file)))
        .count()
}

#[test]
fn hostile_files_are_checked_without_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let w = |name: &str, bytes: &[u8]| std::fs::write(d.path().join(name), bytes).unwrap();
    let deep = 10_000;
    w(
        "deep_braces.c",
        format!(
            "void f(void) {}{}\n{GEMM}",
            "{".repeat(deep),
            "}".repeat(deep)
        )
        .as_bytes(),
    );
    w(
        "deep_parens.cu",
        format!(
            "__global__ void k(float *A) {{ A[0] = {}1{}; }}\n{GEMM}",
            "(".repeat(deep),
            ")".repeat(deep)
        )
        .as_bytes(),
    );
    w(
        "deep_lists.py",
        format!("x = {}1{}\n", "[".repeat(deep), "]".repeat(deep)).as_bytes(),
    );
    // Indentation 2,000 levels deep (10,000 would be a 50 MB file).
    let indented: String = (0..2_000)
        .map(|i| format!("{}if x:\n", " ".repeat(i)))
        .chain(std::iter::once(format!("{}pass\n", " ".repeat(2_000))))
        .collect();
    w("deep_indent.py", indented.as_bytes());
    w(
        "deep_unclosed.c",
        format!("int x = {}", "(".repeat(deep)).as_bytes(),
    );
    let mut bad_utf8 = GEMM.as_bytes().to_vec();
    bad_utf8.splice(40..40, [0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82]);
    w("invalid_utf8.c", &bad_utf8);
    let mut nul = GEMM.as_bytes().to_vec();
    nul.splice(10..10, [0u8; 64]);
    w("nul_bytes.c", &nul);
    let garbage: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    w("garbage.cu", &garbage);
    w("empty.py", b"");
    w(
        "bom_crlf.c",
        format!("\u{feff}{}", GEMM.replace('\n', "\r\n")).as_bytes(),
    );
    w("lone_cr.c", GEMM.replace('\n', "\r").as_bytes());
    w(
        "self.h",
        b"#include \"self.h\"\n#include \"self.h\"\n#define N 8\n",
    );
    w(
        "includes_self.c",
        format!(
            "#include \"self.h\"\n{}",
            GEMM.replace("#define N 32\n", "")
        )
        .as_bytes(),
    );
    let mut big = String::with_capacity(21 << 20);
    let mut i = 0;
    while big.len() < 20 << 20 {
        big.push_str(&format!("static int filler_{i} = {i};\n"));
        i += 1;
    }
    big.push_str(GEMM);
    w("big.c", big.as_bytes());

    let (code, doc, err) = check(d.path());
    assert!(matches!(code, Some(0) | Some(1)), "exit {code:?}: {err}");
    assert!(doc["errors"].as_array().unwrap().is_empty(), "{doc}");
    // The GEMMs after the deep parts and in the odd encodings are found.
    for f in [
        "deep_braces.c",
        "deep_parens.cu",
        "invalid_utf8.c",
        "bom_crlf.c",
        "big.c",
    ] {
        assert_eq!(findings_in(&doc, f), 1, "{f}: {doc}");
    }
    assert_eq!(findings_in(&doc, "includes_self.c"), 1, "{doc}");
    assert_eq!(doc["files_checked"], 14, "{doc}");
}
