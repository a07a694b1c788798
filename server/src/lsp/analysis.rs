//! One analysis of a snapshot, run on a blocking thread: size and nesting
//! limits first (a skipped file says why), then the analyzers with any
//! panic caught.

use std::panic::{catch_unwind, AssertUnwindSafe};

use gemmscope_analyzers::{analyze, Finding, IncludeResolver, Lang, NoIncludes};

use crate::check::FsIncludes;

/// What bounds one analysis.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_nesting: usize,
}

#[derive(Debug)]
pub enum Outcome {
    Findings(Vec<Finding>),
    /// Not analysed; the reason is logged.
    Skipped(String),
}

/// The deepest nesting in `text`: brackets (`{ ( [`) plus, for Python,
/// indentation levels. Strings and comments are not skipped: this is a
/// cheap guard against pathological input, not a parser.
pub fn nesting_depth(text: &str, python: bool) -> usize {
    let mut depth = 0usize;
    let mut max = 0usize;
    for b in text.bytes() {
        match b {
            b'{' | b'(' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if python {
        let mut stack: Vec<usize> = Vec::new();
        for line in text.lines() {
            let body = line.trim_start_matches([' ', '\t']);
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            let w: usize = line[..line.len() - body.len()]
                .bytes()
                .map(|b| if b == b'\t' { 8 } else { 1 })
                .sum();
            while stack.last().is_some_and(|&t| t >= w) {
                stack.pop();
            }
            stack.push(w);
            max = max.max(stack.len() + depth);
        }
    }
    max
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Analyses `text` as the file at `path`. `from_disk`: resolve
/// `#include "x.h"` next to it.
pub fn run(path: &str, text: &str, from_disk: bool, limits: Limits) -> Outcome {
    let Some(lang) = Lang::from_path(path) else {
        return Outcome::Skipped(format!(
            "{path}: not a C, CUDA/C++ or Python file; not analysed"
        ));
    };
    if text.len() > limits.max_bytes {
        return Outcome::Skipped(format!(
            "{path}: {} bytes is over the limit of {} (maxFileBytes); not analysed",
            text.len(),
            limits.max_bytes
        ));
    }
    let depth = nesting_depth(text, lang == Lang::Python);
    if depth > limits.max_nesting {
        return Outcome::Skipped(format!(
            "{path}: nesting depth {depth} is over the limit of {} (maxNesting); not analysed",
            limits.max_nesting
        ));
    }
    let includes: &dyn IncludeResolver = if from_disk { &FsIncludes } else { &NoIncludes };
    match catch_unwind(AssertUnwindSafe(|| analyze(path, text, includes))) {
        Ok(Ok(a)) => Outcome::Findings(a.findings),
        Ok(Err(e)) => Outcome::Skipped(e.to_string()),
        Err(p) => Outcome::Skipped(format!(
            "{path}: the analyzer panicked ({}); not analysed",
            panic_text(p.as_ref())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        max_bytes: 1 << 20,
        max_nesting: 50,
    };

    #[test]
    fn limits_skip_with_a_reason() {
        let deep = format!("void f(void){}{}", "{".repeat(60), "}".repeat(61));
        let Outcome::Skipped(why) = run("a.c", &deep, false, L) else {
            panic!()
        };
        assert!(why.contains("nesting depth 60"), "{why}");
        let big = "x".repeat(2 << 20);
        let Outcome::Skipped(why) = run("a.c", &big, false, L) else {
            panic!()
        };
        assert!(why.contains("maxFileBytes"), "{why}");
        assert!(matches!(run("a.txt", "", false, L), Outcome::Skipped(_)));
        let py = (0..60)
            .map(|i| format!("{}if x:\n", " ".repeat(i)))
            .collect::<String>();
        assert!(nesting_depth(&py, true) >= 60);
        let Outcome::Findings(f) = run(
            "a.c",
            "#define N 8\nfloat A[N][N],B[N][N],C[N][N];\nvoid f(void){for(int i=0;i<N;i++)for(int j=0;j<N;j++)for(int k=0;k<N;k++)C[i][j]+=A[i][k]*B[k][j];}\n",
            false,
            L,
        ) else {
            panic!()
        };
        assert_eq!(f.len(), 1);
    }
}
