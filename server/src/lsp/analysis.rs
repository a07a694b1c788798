//! One analysis of a snapshot, run on a blocking thread: size and nesting
//! limits first (a skipped file says why), then the analyzers with any
//! panic caught. The parse is incremental when the previous tree (edited
//! to match the text) is given.

use std::panic::{catch_unwind, AssertUnwindSafe};

use gemmscope_analyzers::{
    analyze_parsed, parse, BuildContext, Finding, IncludeResolver, Lang, NoIncludes, Parsed,
};

use crate::compdb::{Flags, ProjectIncludes};

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
    run_incremental(path, text, None, from_disk, None, limits).0
}

/// [`run`], re-parsing from `old` — the tree of an earlier text with every
/// edit since applied, so that it matches `text` — instead of from
/// scratch. Also returns the new tree (`None` when the file was skipped or
/// the analyzer panicked) for the next edit.
pub fn run_incremental(
    path: &str,
    text: &str,
    old: Option<Parsed>,
    from_disk: bool,
    flags: Option<&Flags>,
    limits: Limits,
) -> (Outcome, Option<Parsed>) {
    let skipped = |why: String| (Outcome::Skipped(why), None);
    let Some(lang) = Lang::from_path(path) else {
        return skipped(format!(
            "{path}: not a C, CUDA/C++ or Python file; not analysed"
        ));
    };
    if text.len() > limits.max_bytes {
        return skipped(format!(
            "{path}: {} bytes is over the limit of {} (maxFileBytes); not analysed",
            text.len(),
            limits.max_bytes
        ));
    }
    let depth = nesting_depth(text, lang == Lang::Python);
    if depth > limits.max_nesting {
        return skipped(format!(
            "{path}: nesting depth {depth} is over the limit of {} (maxNesting); not analysed",
            limits.max_nesting
        ));
    }
    let disk = ProjectIncludes { flags };
    let includes: &dyn IncludeResolver = if from_disk { &disk } else { &NoIncludes };
    let empty = BuildContext::default();
    let build = flags.map(|f| &f.build).unwrap_or(&empty);
    let work = || {
        let parsed = parse(lang, text, old.as_ref());
        let a = analyze_parsed(path, text, &parsed, includes, build);
        (a, parsed)
    };
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok((a, parsed)) => (Outcome::Findings(a.findings), Some(parsed)),
        Err(p) => skipped(format!(
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
