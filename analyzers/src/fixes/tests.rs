//! Unit tests of the rewrites on real source (the differential tests that
//! compile and run both versions are in `tests/tests/fixes.rs`).

use super::*;
use crate::NoIncludes;

fn fixes(path: &str, text: &str) -> Vec<FixedFinding> {
    let lang = Lang::from_path(path).unwrap();
    analyze_with_fixes(lang, path, text, &NoIncludes, &BuildContext::default())
}

fn only_fix(path: &str, text: &str) -> String {
    let v = fixes(path, text);
    assert_eq!(v.len(), 1, "{v:#?}");
    let f = v[0]
        .fixes
        .as_ref()
        .unwrap_or_else(|e| panic!("no fix: {}", e.reason));
    apply_edits(text, &f[0].edits).unwrap()
}

/// The text after the first fix of the one `code` finding in `text`, or
/// that finding's no-fix reason (for the rewrites' own unit tests).
pub(super) fn first_fix_of(code: &str, path: &str, text: &str) -> Result<String, String> {
    let v: Vec<_> = fixes(path, text)
        .into_iter()
        .filter(|f| f.finding.code == code)
        .collect();
    assert_eq!(v.len(), 1, "{v:#?}");
    match &v[0].fixes {
        Ok(f) => Ok(apply_edits(text, &f[0].edits).unwrap()),
        Err(e) => Err(e.reason.clone()),
    }
}

fn no_fix(path: &str, text: &str) -> String {
    let v = fixes(path, text);
    assert_eq!(v.len(), 1, "{v:#?}");
    match &v[0].fixes {
        Ok(f) => panic!("unexpected fix: {f:#?}"),
        Err(e) => e.reason.clone(),
    }
}

#[test]
fn flattened_row_major_sgemm() {
    let src = "#include <stdio.h>\nvoid f(int M, int N, int K, const float *A, const float *B, float *C) {\n    for (int i = 0; i < M; i++)\n        for (int j = 0; j < N; j++)\n            for (int k = 0; k < K; k++)\n                C[i*N + j] += A[i*K + k] * B[k*N + j];\n}\n";
    let out = only_fix("a.c", src);
    assert!(
        out.contains("#include <stdio.h>\n#include <cblas.h>\n"),
        "{out}"
    );
    assert!(
        out.contains("cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, &A[0], K, &B[0], N, 1.0f, &C[0], N);"),
        "{out}"
    );
}

#[test]
fn scaled_accumulator_keeps_alpha_and_beta() {
    let src = "void f(int M, int N, int K, float alpha, const float *A, const float *B, float beta, float *C) {\n    for (int i = 0; i < M; i++) {\n        for (int j = 0; j < N; j++) {\n            float s = 0.0f;\n            for (int k = 0; k < K; k++)\n                s += A[k*M + i] * B[j*K + k];\n            C[i*N + j] = alpha * s + beta * C[i*N + j];\n        }\n    }\n}\n";
    let out = only_fix("a.c", src);
    assert!(
        out.contains("cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, M, N, K, alpha, &A[0], M, &B[0], K, beta, &C[0], N);"),
        "{out}"
    );
}

#[test]
fn jagged_triangular_and_bias_have_reasons() {
    let jag = "void f(int n, double **A, double **B, double **C) {\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i][j] += A[i][k] * B[k][j];\n}\n";
    assert!(no_fix("a.c", jag).contains("separate allocations"));
    let other = "void f(int n, float *A, float *B, float *C, float *D) {\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++) {\n            for (int k = 0; k < n; k++)\n                C[i*n+j] += A[i*n+k] * B[k*n+j];\n            D[i*n+j] = 1.0f;\n        }\n}\n";
    assert!(
        no_fix("a.c", other).contains("also assigns"),
        "{}",
        no_fix("a.c", other)
    );
    let after = "float f(int n, float *A, float *B, float *C) {\n    int i, j, k;\n    for (i = 0; i < n; i++)\n        for (j = 0; j < n; j++)\n            for (k = 0; k < n; k++)\n                C[i*n+j] += A[i*n+k] * B[k*n+j];\n    return C[i - 1];\n}\n";
    assert!(
        no_fix("a.c", after).contains("read after"),
        "{}",
        no_fix("a.c", after)
    );
    let mixed = "void f(int n, float *A, double *B, double *C) {\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n+j] += A[i*n+k] * B[k*n+j];\n}\n";
    assert!(no_fix("a.c", mixed).contains("mix element types"));
}

#[test]
fn python_lists_and_arrays() {
    let src = "def mm(A, B, n):\n    C = [[0.0] * n for _ in range(n)]\n    for i in range(n):\n        for j in range(n):\n            for k in range(n):\n                C[i][j] += A[i][k] * B[k][j]\n    return C\n";
    let out = only_fix("a.py", src);
    assert!(out.starts_with("import numpy as np\n"), "{out}");
    assert!(
        out.contains("    C = np.matmul(np.asarray(A, dtype=float)[:n, :n], np.asarray(B)[:n, :n]).tolist()\n    return C"),
        "{out}"
    );
    let nd = "import numpy as np\n\ndef mm(a, b, M, N, K):\n    c = np.zeros((M, N))\n    for i in range(M):\n        for k in range(K):\n            for j in range(N):\n                c[i, j] += a[i, k] * b[k, j]\n    return c\n";
    let out = only_fix("a.py", nd);
    assert!(out.contains("    c += a[:M, :K] @ b[:K, :N]\n"), "{out}");
}

#[test]
fn cublas_sgemm_offers_two_precision_changing_fixes() {
    let src = "#include <cublas_v2.h>\nvoid f(cublasHandle_t h, int n, const float *a, const float *b, float *c) {\n    const float one = 1.0f, zero = 0.0f;\n    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n);\n}\n";
    let v = fixes("a.cu", src);
    assert_eq!(v.len(), 1);
    let f = v[0].fixes.as_ref().unwrap();
    assert_eq!(f.len(), 2);
    assert!(f
        .iter()
        .all(|x| x.applicability == Applicability::ChangesPrecision));
    let one = apply_edits(src, &f[0].edits).unwrap();
    assert!(one.contains("cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, CUDA_R_32F, n, b, CUDA_R_32F, n, &zero, c, CUDA_R_32F, n, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT);"), "{one}");
    let two = apply_edits(src, &f[1].edits).unwrap();
    assert!(
        two.contains("    cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH);\n    cublasSgemm("),
        "{two}"
    );
    // Either way the finding is gone.
    for t in [one, two] {
        assert!(fixes("a.cu", &t).is_empty(), "{t}");
    }
}

#[test]
fn apply_edits_rejects_overlap_and_dedups() {
    let e = |s, e, t: &str| Replacement {
        start: s,
        end: e,
        new_text: t.into(),
    };
    assert_eq!(
        apply_edits("abcdef", &[e(0, 0, "x"), e(0, 0, "x"), e(2, 4, "Y")]).unwrap(),
        "xabYef"
    );
    assert!(apply_edits("abcdef", &[e(0, 3, "x"), e(2, 4, "Y")]).is_err());
}

#[test]
fn identical_edits_count_once_wherever_they_are() {
    use crate::fixes::{apply_edits, Replacement};
    let ins = |at: usize, t: &str| Replacement {
        start: at,
        end: at,
        new_text: t.into(),
    };
    // Two fixes insert the same helper at 0; one also inserts a second part
    // there. The helper appears once, before the second part.
    let edits = [ins(0, "H;"), ins(0, "T;"), ins(3, "x"), ins(0, "H;")];
    assert_eq!(apply_edits("abc", &edits).unwrap(), "H;T;abcx");
    // Overlapping replacements are an error.
    let r = |s: usize, e: usize| Replacement {
        start: s,
        end: e,
        new_text: String::new(),
    };
    assert!(apply_edits("abcdef", &[r(0, 3), r(2, 4)]).is_err());
}
