//! How a found nest runs as written, where the source says: an OpenMP
//! work-sharing directive on it (`#pragma omp parallel for`, `#pragma omp
//! for` inside a parallel region, with their clauses) on the line above
//! the nest's outer loop or above one of the loops inside it, comments and
//! blank lines between allowed. `Finding::parallel` then names it and its
//! line; the advice says the code as written is threaded (its candidates
//! are the one-thread loops, and it says so). C, C++ and CUDA host code
//! only; a directive elsewhere in the function (a `parallel` region
//! opened further up) is not read.

use crate::finding::{Backend, Finding};
use crate::ir::Lang;

/// Marks the CPU findings of `text` whose nest carries an OpenMP directive.
pub fn mark_parallel(findings: &mut [Finding], lang: Lang, text: &str) {
    if lang == Lang::Python || !text.contains("omp") {
        return;
    }
    let lines: Vec<&str> = text.lines().collect();
    for f in findings.iter_mut().filter(|f| f.backend == Backend::Cpu) {
        let (start, end) = (f.range.start_line, f.range.end_line.min(lines.len()));
        f.parallel = (start..=end).find_map(|l| directive_above(&lines, l));
    }
}

/// The OpenMP work-sharing directive right above line `line` (1-based),
/// if the line holds a `for` and the directive shares its iterations.
fn directive_above(lines: &[&str], line: usize) -> Option<String> {
    let here = lines.get(line.checked_sub(1)?)?.trim_start();
    if !here.starts_with("for") {
        return None;
    }
    let mut l = line - 1;
    while l > 0 {
        let t = lines[l - 1].trim();
        if t.is_empty() || t.starts_with("//") || (t.starts_with("/*") && t.ends_with("*/")) {
            l -= 1;
            continue;
        }
        let words: Vec<&str> = t
            .trim_start_matches('#')
            .split(|c: char| c.is_whitespace() || c == '(')
            .filter(|w| !w.is_empty())
            .collect();
        let omp =
            t.starts_with('#') && words.first() == Some(&"pragma") && words.get(1) == Some(&"omp");
        // `for` / `parallel for` (with `simd` or not) and `taskloop` share
        // the iterations among threads; `simd` alone does not.
        let shares = words.contains(&"for") || words.contains(&"taskloop");
        return (omp && shares).then(|| format!("`{}`, line {}", t, l));
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::{analyze, NoIncludes};

    fn parallel(src: &str) -> Vec<Option<String>> {
        analyze("a.c", src, &NoIncludes)
            .unwrap()
            .findings
            .into_iter()
            .map(|f| f.parallel)
            .collect()
    }

    const NEST: &str = "for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n+j] += A[i*n+k] * B[k*n+j];\n";

    #[test]
    fn a_work_sharing_directive_on_the_nest_is_read() {
        let src = format!("void f(int n, float *A, float *B, float *C) {{\n    #pragma omp parallel for schedule(static)\n    {NEST}}}\n");
        let got = parallel(&src);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].as_deref(),
            Some("`#pragma omp parallel for schedule(static)`, line 2")
        );
        // On an inner loop, with a comment between.
        let inner = "void f(int n, float *A, float *B, float *C) {\n    for (int i = 0; i < n; i++) {\n        // the columns\n        #pragma omp parallel for\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n+j] += A[i*n+k] * B[k*n+j];\n    }\n}\n";
        assert!(parallel(inner)[0].as_deref().unwrap().contains("line 4"));
    }

    #[test]
    fn other_directives_and_none_are_not() {
        for d in [
            "#pragma omp simd",
            "#pragma unroll",
            "#pragma omp critical",
            "// #pragma omp parallel for",
        ] {
            let src =
                format!("void f(int n, float *A, float *B, float *C) {{\n    {d}\n    {NEST}}}\n");
            assert_eq!(parallel(&src), vec![None], "{d}");
        }
    }
}
