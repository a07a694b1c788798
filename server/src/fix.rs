//! `gemmscope check --fix` / `--diff`: applies the analyzers' rewrites
//! (`gemmscope_analyzers::fixes`) to the findings `check` reports, re-analysing
//! and re-applying until no fix changes the file (ruff style, at most
//! [`MAX_ROUNDS`] rounds), then writes the file (`--fix`) or prints a unified
//! diff (`--diff`, nothing written). Only exact fixes are applied unless
//! `--unsafe-fixes` (which also applies the first precision-changing one:
//! TF32, bf16, tensor cores).

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use gemmscope_analyzers::fixes::{
    apply_edits, overlaps, Applicability, Fix, FixResult, Replacement,
};

use crate::check::{self, CheckOptions};
use crate::compdb::Flags;
use crate::config::Settings;
use crate::file_check::{check_text, Input};
use gemmscope_analyzers::ProjectIndex;

/// The most rounds of re-analysis and re-application per file.
pub const MAX_ROUNDS: usize = 10;

/// What to do with the fixed text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write the file.
    Apply,
    /// Print a unified diff on stdout; write nothing.
    Diff,
}

/// Which findings of a file may be fixed: those its settings select and
/// no comment suppresses, except
pub struct Filter {
    /// Fingerprints of findings that are in the baseline (not fixed).
    pub skip: HashSet<String>,
    pub unsafe_fixes: bool,
}

/// One finding left as it was, and why.
#[derive(Clone, Debug)]
pub struct NotFixed {
    pub line: usize,
    pub code: &'static str,
    pub reason: String,
}

/// The outcome for one file's text.
#[derive(Clone, Debug)]
pub struct Fixed {
    pub text: String,
    /// Titles of the fixes applied, in order.
    pub applied: Vec<String>,
    /// Rounds that changed the text.
    pub rounds: usize,
    /// Findings still there after the last round, with the reason.
    pub not_fixed: Vec<NotFixed>,
}

/// The fix to apply for one finding, or why none.
fn choose(fixes: FixResult, unsafe_fixes: bool) -> Result<Fix, String> {
    match fixes {
        Err(e) => Err(e.reason),
        Ok(fixes) => fixes
            .into_iter()
            .find(|x| x.applicability == Applicability::Exact || unsafe_fixes)
            .ok_or_else(|| {
                "only precision-changing fixes (TF32/bf16/tensor cores) are offered; \
                 use --unsafe-fixes to apply them"
                    .to_string()
            }),
    }
}

/// Applies fixes to `text` until it stops changing, checking each round
/// with the file's settings, build flags (`None`: no
/// compile_commands.json entry) and the run's project index (`None`: the
/// file alone), as `check` does.
pub fn fix_text(
    path: &str,
    text: &str,
    settings: &Arc<Settings>,
    filter: &Filter,
    flags: Option<Arc<Flags>>,
    project: Option<Arc<ProjectIndex>>,
) -> Fixed {
    let mut cur = text.to_string();
    let mut applied = Vec::new();
    let mut rounds = 0;
    let mut not_fixed = Vec::new();
    // Each round's edits (as applied), to map what is left back onto the
    // lines of the file as it was.
    let mut history: Vec<Vec<Replacement>> = Vec::new();
    let mut left_at: Vec<usize> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let mut input = Input::on_disk(path, &cur, flags.clone());
        input.project = project.clone();
        let Ok(checked) = check_text(input, settings, None) else {
            break;
        };
        let mut taken: Vec<Fix> = Vec::new();
        not_fixed.clear();
        left_at.clear();
        for r in &checked.report.findings {
            let fi = &r.finding;
            if r.suppressed.is_some() || filter.skip.contains(&r.fingerprint) {
                continue;
            }
            match choose(checked.analysis.fixes(r.index, &cur), filter.unsafe_fixes) {
                Ok(fix) if !taken.iter().any(|t| overlaps(t, &fix)) => taken.push(fix),
                Ok(_) => {}
                Err(reason) => {
                    left_at.push(fi.range.start_byte);
                    not_fixed.push(NotFixed {
                        line: fi.range.start_line,
                        code: fi.code,
                        reason,
                    })
                }
            }
        }
        let edits: Vec<_> = taken.iter().flat_map(|f| f.edits.iter().cloned()).collect();
        let next = match apply_edits(&cur, &edits) {
            Ok(t) => t,
            Err(e) => {
                left_at.push(usize::MAX);
                not_fixed.push(NotFixed {
                    line: 0,
                    code: "",
                    reason: format!("fixes not applied: {e}"),
                });
                break;
            }
        };
        if next == cur {
            break;
        }
        applied.extend(taken.into_iter().map(|f| f.title));
        history.push(normalized(&edits));
        cur = next;
        rounds += 1;
    }
    // Lines of what is left, in the file as it was (not as rewritten).
    for (n, at) in not_fixed.iter_mut().zip(left_at) {
        if at != usize::MAX && rounds > 0 {
            let orig = history.iter().rev().fold(at, |off, es| map_back(off, es));
            n.line = text[..orig.min(text.len())].matches('\n').count() + 1;
        }
    }
    Fixed {
        text: cur,
        applied,
        rounds,
        not_fixed,
    }
}

/// The edits as `apply_edits` applies them: identical ones once, by start.
fn normalized(edits: &[Replacement]) -> Vec<Replacement> {
    let mut es: Vec<Replacement> = Vec::new();
    for e in edits {
        if !es.contains(e) {
            es.push(e.clone());
        }
    }
    es.sort_by_key(|e| (e.start, e.end));
    es
}

/// The offset in the text before `edits` of offset `off` in the text after
/// them (inside an edit's new text: where that edit started).
fn map_back(off: usize, edits: &[Replacement]) -> usize {
    let mut delta: isize = 0;
    for e in edits {
        let new_start = (e.start as isize + delta) as usize;
        if off < new_start {
            break;
        }
        if off < new_start + e.new_text.len() {
            return e.start;
        }
        delta += e.new_text.len() as isize - (e.end - e.start) as isize;
    }
    (off as isize - delta).max(0) as usize
}

/// What `run` did.
#[derive(Debug, Default)]
pub struct Summary {
    pub files_changed: usize,
    pub fixes_applied: usize,
    pub errors: usize,
}

/// Runs `check` for the selection, then fixes each file with active
/// findings. Diffs go to `out`; notes (applied, not fixed and why) to `err`.
pub fn run(
    opts: &CheckOptions,
    mode: Mode,
    unsafe_fixes: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Summary, String> {
    let outcome = check::collect_all(opts)?;
    let mut summary = Summary::default();
    for e in &outcome.summary.errors {
        let _ = writeln!(err, "gemmscope: error: {}: {}", e.path, e.message);
        summary.errors += 1;
    }
    for report in &outcome.files {
        if report.active().next().is_none() {
            continue;
        }
        let skip: HashSet<String> = report
            .findings
            .iter()
            .filter(|r| r.suppressed.is_none() && !r.is_active())
            .map(|r| r.fingerprint.clone())
            .collect();
        let bytes = match std::fs::read(&report.path) {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(err, "gemmscope: error: {}: cannot read: {e}", report.path);
                summary.errors += 1;
                continue;
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            let _ = writeln!(
                err,
                "gemmscope: warning: {}: not UTF-8; not fixed",
                report.path
            );
            continue;
        };
        let filter = Filter { skip, unsafe_fixes };
        let path = report.path.clone();
        let fixed = match crate::panic_guard::catch(|| {
            fix_text(
                &path,
                &text,
                &report.settings,
                &filter,
                report.flags.clone(),
                report.project.clone(),
            )
        }) {
            Ok(f) => f,
            Err(why) => {
                let _ = writeln!(
                    err,
                    "gemmscope: error: {path}: internal error while fixing ({why}; a bug in gemmscope)"
                );
                summary.errors += 1;
                continue;
            }
        };
        for n in &fixed.not_fixed {
            let _ = writeln!(err, "{path}:{}: {} not fixed: {}", n.line, n.code, n.reason);
        }
        if fixed.text == text {
            continue;
        }
        summary.files_changed += 1;
        summary.fixes_applied += fixed.applied.len();
        match mode {
            Mode::Diff => {
                let _ = out.write_all(unified_diff(&path, &text, &fixed.text).as_bytes());
            }
            Mode::Apply => {
                if let Err(e) = std::fs::write(&path, &fixed.text) {
                    let _ = writeln!(err, "gemmscope: error: {path}: cannot write: {e}");
                    summary.errors += 1;
                    continue;
                }
                for t in &fixed.applied {
                    let _ = writeln!(err, "{path}: fixed: {t}");
                }
            }
        }
    }
    Ok(summary)
}

/// A unified diff (`--- a/path`, `+++ b/path`, hunks with 3 lines of context).
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = diff_lines(&a, &b);
    // Group into hunks.
    const CTX: usize = 3;
    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| !matches!(o, Op::Same(..)))
        .map(|(i, _)| i)
        .collect();
    let mut i = 0;
    while i < changed.len() {
        let start = changed[i].saturating_sub(CTX);
        let mut end = changed[i];
        while i < changed.len() && changed[i] <= end + 2 * CTX + 1 {
            end = changed[i];
            i += 1;
        }
        let end = (end + CTX + 1).min(ops.len());
        let (mut la, mut lb) = (0, 0);
        for o in &ops[..start] {
            match o {
                Op::Same(..) => {
                    la += 1;
                    lb += 1;
                }
                Op::Del(_) => la += 1,
                Op::Add(_) => lb += 1,
            }
        }
        let (mut na, mut nb) = (0, 0);
        let mut body = String::new();
        for o in &ops[start..end] {
            let (prefix, line) = match o {
                Op::Same(x) => {
                    na += 1;
                    nb += 1;
                    (' ', a[*x])
                }
                Op::Del(x) => {
                    na += 1;
                    ('-', a[*x])
                }
                Op::Add(y) => {
                    nb += 1;
                    ('+', b[*y])
                }
            };
            body.push(prefix);
            body.push_str(line);
            if !line.ends_with('\n') {
                body.push_str("\n\\ No newline at end of file\n");
            }
        }
        let first = |l: usize, n: usize| if n == 0 { l } else { l + 1 };
        out.push_str(&format!(
            "@@ -{},{na} +{},{nb} @@\n",
            first(la, na),
            first(lb, nb)
        ));
        out.push_str(&body);
    }
    out
}

#[derive(Debug)]
enum Op {
    Same(usize),
    Del(usize),
    Add(usize),
}

/// Line diff: common prefix and suffix, then an LCS of the middle (or a
/// plain replacement when the middle is too large for the table).
fn diff_lines(a: &[&str], b: &[&str]) -> Vec<Op> {
    let mut pre = 0;
    while pre < a.len() && pre < b.len() && a[pre] == b[pre] {
        pre += 1;
    }
    let mut suf = 0;
    while suf < a.len() - pre && suf < b.len() - pre && a[a.len() - 1 - suf] == b[b.len() - 1 - suf]
    {
        suf += 1;
    }
    let (ma, mb) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let mut ops: Vec<Op> = (0..pre).map(Op::Same).collect();
    if ma.len().saturating_mul(mb.len()) > 4_000_000 {
        ops.extend((0..ma.len()).map(|i| Op::Del(pre + i)));
        ops.extend((0..mb.len()).map(|j| Op::Add(pre + j)));
    } else {
        let (n, m) = (ma.len(), mb.len());
        let mut t = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * (m + 1) + j] = if ma[i] == mb[j] {
                    t[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && ma[i] == mb[j] {
                ops.push(Op::Same(pre + i));
                i += 1;
                j += 1;
            } else if j < m && (i == n || t[i * (m + 1) + j + 1] > t[(i + 1) * (m + 1) + j]) {
                ops.push(Op::Add(pre + j));
                j += 1;
            } else {
                ops.push(Op::Del(pre + i));
                i += 1;
            }
        }
    }
    let ea = a.len() - suf;
    ops.extend((0..suf).map(|k| Op::Same(ea + k)));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_of_a_replaced_block() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nX\nY\nf\ng\nh\n";
        let d = unified_diff("p.c", old, new);
        assert_eq!(
            d,
            "--- a/p.c\n+++ b/p.c\n@@ -1,8 +1,8 @@\n a\n b\n c\n-d\n-e\n+X\n+Y\n f\n g\n h\n"
        );
        assert_eq!(unified_diff("p.c", old, old), "--- a/p.c\n+++ b/p.c\n");
    }

    fn settings(select: &[&str]) -> Arc<Settings> {
        let o = crate::config::Overrides {
            no_config: true,
            select: Some(select.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        };
        Arc::new(crate::config::Configs::new(o).unwrap().settings(None))
    }

    fn all() -> Filter {
        Filter {
            skip: HashSet::new(),
            unsafe_fixes: false,
        }
    }

    #[test]
    fn fix_text_converges_and_keeps_unselected_codes() {
        let src = "void f(int n, const float *A, const float *B, float *C) {\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n + j] += A[i*n + k] * B[k*n + j];\n}\n";
        let gs101 = settings(&["GS101"]);
        let f = fix_text("x.c", src, &gs101, &all(), None, None);
        assert_eq!(f.rounds, 1);
        assert!(f.text.contains("cblas_sgemm("), "{}", f.text);
        assert!(f.text.starts_with("#include <cblas.h>\n"));
        let again = fix_text("x.c", &f.text, &gs101, &all(), None, None);
        assert_eq!(again.rounds, 0);
        assert_eq!(again.text, f.text);
        let other = settings(&["GS2"]);
        assert_eq!(fix_text("x.c", src, &other, &all(), None, None).text, src);
    }

    /// What is left is reported at its line in the file as it was, not in
    /// the text the earlier fixes (an `#include`, a shorter nest) produced.
    #[test]
    fn not_fixed_lines_are_the_original_ones() {
        let src = "void f(int n, const float *A, const float *B, float *C) {\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n + j] += A[i*n + k] * B[k*n + j];\n}\n\nvoid g(int n, float **A, float **B, float **C) {\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i][j] += A[i][k] * B[k][j];\n}\n";
        let f = fix_text("x.c", src, &settings(&["GS101"]), &all(), None, None);
        assert_eq!(f.rounds, 1);
        assert_eq!(f.not_fixed.len(), 1, "{:?}", f.not_fixed);
        assert_eq!(f.not_fixed[0].line, 9, "{}", f.text);
    }

    #[test]
    fn offsets_map_back_through_edits() {
        let e = |start, end, t: &str| Replacement {
            start,
            end,
            new_text: t.into(),
        };
        // "abcdef" → "XYabZf": insert "XY" at 0, replace "cde" by "Z".
        let es = [e(0, 0, "XY"), e(2, 5, "Z")];
        assert_eq!(apply_edits("abcdef", &es).unwrap(), "XYabZf");
        assert_eq!(map_back(0, &es), 0); // inside the insert
        assert_eq!(map_back(2, &es), 0); // 'a'
        assert_eq!(map_back(3, &es), 1); // 'b'
        assert_eq!(map_back(4, &es), 2); // 'Z' → where "cde" was
        assert_eq!(map_back(5, &es), 5); // 'f'
    }
}
