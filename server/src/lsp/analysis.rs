//! One check of a snapshot, run on a blocking thread: the server's size
//! and nesting limits first (a skipped file says why), then the one
//! per-file check ([`crate::file_check::check_text`], which catches panics)
//! — incremental when the previous tree (edited to match the text) is
//! given, re-using the document's previously lowered functions when its
//! [`crate::file_check::Reuse`] is. Advice is added at publish time, not
//! here.

use std::sync::Arc;

use gemmscope_analyzers::{Lang, Parsed};

use crate::compdb::Flags;
use crate::config::Settings;
use crate::file_check::{check_text_reusing, Checked, Input, Reuse};

/// What bounds one analysis.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_nesting: usize,
}

pub enum Outcome {
    Checked(Box<Checked>),
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

/// Why `text` is not analysed under `limits`, if it is not.
pub fn over_limits(path: &str, text: &str, limits: Limits) -> Option<String> {
    let Some(lang) = Lang::from_path(path) else {
        return Some(format!(
            "{path}: not a C, CUDA/C++ or Python file; not analysed"
        ));
    };
    if text.len() > limits.max_bytes {
        return Some(format!(
            "{path}: {} bytes is over the limit of {} (maxFileBytes); not analysed",
            text.len(),
            limits.max_bytes
        ));
    }
    let depth = nesting_depth(text, lang == Lang::Python);
    (depth > limits.max_nesting).then(|| {
        format!(
            "{path}: nesting depth {depth} is over the limit of {} (maxNesting); not analysed",
            limits.max_nesting
        )
    })
}

/// Checks `text` as the file at `path` under `settings`, re-parsing from
/// `old` (the tree of an earlier text with every edit since applied) where
/// given. `from_disk`: resolve `#include "x.h"` next to it. `project`: the
/// workspace's call sites. `reuse`: what the document kept from its
/// previous check ([`crate::file_check::Reuse`]).
#[allow(clippy::too_many_arguments)]
pub fn run(
    path: &str,
    text: &str,
    old: Option<Parsed>,
    from_disk: bool,
    flags: Option<Arc<Flags>>,
    settings: &Arc<Settings>,
    limits: Limits,
    project: Option<Arc<gemmscope_analyzers::ProjectIndex>>,
    reuse: Option<&mut Reuse>,
) -> Outcome {
    if let Some(why) = over_limits(path, text, limits) {
        return Outcome::Skipped(why);
    }
    let input = Input {
        path,
        text,
        flags,
        from_disk,
        old_tree: old,
        project,
    };
    match check_text_reusing(input, settings, None, reuse) {
        Ok(c) => Outcome::Checked(Box::new(c)),
        Err(e) => Outcome::Skipped(format!("{path}: {e}; not analysed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Configs, Overrides};

    const L: Limits = Limits {
        max_bytes: 1 << 20,
        max_nesting: 50,
    };

    #[test]
    fn limits_skip_with_a_reason() {
        let s = Arc::new(
            Configs::new(Overrides {
                no_config: true,
                ..Overrides::default()
            })
            .unwrap()
            .settings(None),
        );
        let run = |p: &str, t: &str| run(p, t, None, false, None, &s, L, None, None);
        let deep = format!("void f(void){}{}", "{".repeat(60), "}".repeat(61));
        let Outcome::Skipped(why) = run("a.c", &deep) else {
            panic!()
        };
        assert!(why.contains("nesting depth 60"), "{why}");
        let big = "x".repeat(2 << 20);
        let Outcome::Skipped(why) = run("a.c", &big) else {
            panic!()
        };
        assert!(why.contains("maxFileBytes"), "{why}");
        assert!(matches!(run("a.txt", ""), Outcome::Skipped(_)));
        let py = (0..60)
            .map(|i| format!("{}if x:\n", " ".repeat(i)))
            .collect::<String>();
        assert!(nesting_depth(&py, true) >= 60);
        let Outcome::Checked(c) = run(
            "a.c",
            "#define N 8\nfloat A[N][N],B[N][N],C[N][N];\nvoid f(void){for(int i=0;i<N;i++)for(int j=0;j<N;j++)for(int k=0;k<N;k++)C[i][j]+=A[i][k]*B[k][j];}\n",
        ) else {
            panic!()
        };
        assert_eq!(c.report.findings.len(), 1);
    }
}
