//! `textDocument/codeAction`: the analyzers' rewrites
//! (`gemmscope_analyzers::fixes`) as quick fixes. For every finding whose
//! range meets the requested range, each fix becomes a `quickfix` action
//! with a `WorkspaceEdit` (the first exact one is preferred); a finding
//! without a fix gets one disabled action whose `disabled.reason` says why
//! (clients show it when the user asks for a fix). Precision-changing fixes
//! (TF32, bf16, tensor cores) say their accuracy cost in the title. A
//! finding with sizes that nothing gives also gets "assume a size for this
//! loop…", which writes a `gemmscope: size` comment above it
//! (docs/sizes.md).

use std::collections::HashMap;
use std::sync::Arc;

use gemmscope_analyzers::fixes::{Applicability, FixResult};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionDisabled, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionResponse, Diagnostic, NumberOrString, Range, TextEdit as LspTextEdit, Uri,
    WorkspaceEdit,
};

use super::analysis::{self, Outcome};
use super::documents::range_of;
use super::{guard, lock, path_of, Core};
use crate::file_check::Reported;

fn meets(a: &Range, b: &Range) -> bool {
    let key = |p: &tower_lsp_server::ls_types::Position| (p.line, p.character);
    key(&a.start) <= key(&b.end) && key(&b.start) <= key(&a.end)
}

/// The code actions for `range` of `text` (the document at `uri`) from
/// its shown findings; `fixes` computes the fixes of the finding at an
/// index of the analysis. `diagnostics` are the client's diagnostics in the
/// request's context, attached to the actions that resolve them.
pub fn actions(
    uri: &Uri,
    text: &str,
    starts: &[usize],
    findings: &[&Reported],
    fixes: &dyn Fn(usize) -> FixResult,
    range: Range,
    diagnostics: &[Diagnostic],
) -> Vec<CodeActionOrCommand> {
    let mut out = Vec::new();
    for r in findings {
        let f = &r.finding;
        let fr = range_of(text, starts, f.range.start_byte, f.range.end_byte);
        if !meets(&fr, &range) {
            continue;
        }
        let code = f.code;
        let diags: Vec<Diagnostic> = diagnostics
            .iter()
            .filter(|d| {
                d.code == Some(NumberOrString::String(code.to_string())) && meets(&d.range, &fr)
            })
            .cloned()
            .collect();
        let diags = (!diags.is_empty()).then_some(diags);
        match fixes(r.index) {
            Ok(fixes) => {
                let mut preferred_given = false;
                for fix in fixes {
                    let edits: Vec<LspTextEdit> = fix
                        .edits
                        .iter()
                        .map(|e| LspTextEdit {
                            range: range_of(text, starts, e.start, e.end),
                            new_text: e.new_text.clone(),
                        })
                        .collect();
                    let preferred = fix.applicability == Applicability::Exact && !preferred_given;
                    preferred_given |= preferred;
                    let mut title = format!("{code}: {}", fix.title);
                    if !fix.assumes.is_empty() {
                        title.push_str(&format!(" (assumes {})", fix.assumes.join("; ")));
                    }
                    out.push(CodeActionOrCommand::CodeAction(CodeAction {
                        title,
                        kind: Some(CodeActionKind::QUICKFIX),
                        diagnostics: diags.clone(),
                        edit: Some(WorkspaceEdit {
                            changes: Some(HashMap::from([(uri.clone(), edits)])),
                            ..Default::default()
                        }),
                        is_preferred: Some(preferred),
                        data: Some(serde_json::json!({
                            "code": code,
                            "applicability": fix.applicability,
                        })),
                        ..Default::default()
                    }));
                }
            }
            Err(no) => out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("{code}: no automatic rewrite"),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: diags,
                disabled: Some(CodeActionDisabled {
                    reason: no.reason.clone(),
                }),
                data: Some(serde_json::json!({ "code": code, "noFix": no.reason })),
                ..Default::default()
            })),
        }
        if let Some(a) = assume_size(uri, text, starts, f) {
            out.push(CodeActionOrCommand::CodeAction(a));
        }
    }
    out
}

/// The names in the dims without a value that a `gemmscope: size` comment
/// can give (plain identifiers, in M, N, K, batch order, each once).
fn unknown_names(f: &gemmscope_analyzers::Finding) -> Vec<String> {
    let d = &f.dims;
    let mut out: Vec<String> = Vec::new();
    for dim in [&d.m, &d.n, &d.k, &d.batch].into_iter().flatten() {
        if dim.value.is_some() {
            continue;
        }
        let e = dim.expr.as_str();
        // Only sums and products of names: not `A.shape[0]`, `len(A)`.
        if e.contains(['.', '(', '[']) {
            continue;
        }
        for w in e.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            let ident = w.starts_with(|c: char| c.is_alphabetic() || c == '_');
            if ident && !out.iter().any(|o| o == w) {
                out.push(w.to_string());
            }
        }
    }
    out
}

/// "Assume a size for this loop…": a `gemmscope: size NAME=1024 ...`
/// comment above the finding's first line, for the names of its unknown
/// sizes (docs/sizes.md); the user edits the numbers.
fn assume_size(
    uri: &Uri,
    text: &str,
    starts: &[usize],
    f: &gemmscope_analyzers::Finding,
) -> Option<CodeAction> {
    let names = unknown_names(f);
    if names.is_empty() {
        return None;
    }
    let line_start = starts.get(f.range.start_line.checked_sub(1)?).copied()?;
    let indent: String = text
        .get(line_start..)?
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let marker = match f.backend {
        gemmscope_analyzers::Backend::PythonLoop | gemmscope_analyzers::Backend::PythonLibrary => {
            "#"
        }
        _ => "//",
    };
    let pairs: Vec<String> = names.iter().map(|n| format!("{n}=1024")).collect();
    let comment = format!("{indent}{marker} gemmscope: size {}\n", pairs.join(" "));
    let at = range_of(text, starts, line_start, line_start);
    Some(CodeAction {
        title: format!(
            "{}: assume a size for this loop ({}; edit the numbers)",
            f.code,
            pairs.join(" ")
        ),
        kind: Some(CodeActionKind::REFACTOR_REWRITE),
        edit: Some(WorkspaceEdit {
            changes: Some(HashMap::from([(
                uri.clone(),
                vec![LspTextEdit {
                    range: at,
                    new_text: comment,
                }],
            )])),
            ..Default::default()
        }),
        data: Some(serde_json::json!({ "code": f.code, "assumeSize": names })),
        ..Default::default()
    })
}

impl Core {
    /// The code actions for the document's current text: from its newest
    /// check where that is of this text, else from a check made now.
    pub(super) async fn code_action(&self, p: CodeActionParams) -> Option<CodeActionResponse> {
        let uri = p.text_document.uri;
        let text: Arc<String> = lock(&self.docs).get(&uri)?.text.clone();
        let (path, from_disk) = path_of(&uri);
        let range = p.range;
        let diags = p.context.diagnostics;
        let current = self
            .analysis_of(&uri)
            .filter(|a| Arc::ptr_eq(&a.text, &text) && a.analysis.is_some());
        let analysed = match current {
            Some(a) => a,
            None => {
                let flags = self.build_flags(&path, from_disk).await;
                let settings = self.file_settings(&path, from_disk).await;
                let limits = self.limits();
                let (t, pth) = (text.clone(), path.clone());
                let project = Some(lock(&self.index).clone());
                let outcome = tokio::task::spawn_blocking(move || {
                    analysis::run(
                        &pth, &t, None, from_disk, flags, &settings, limits, project, None,
                    )
                })
                .await
                .ok()?;
                let Outcome::Checked(c) = outcome else {
                    return Some(vec![]);
                };
                Arc::new(super::Analyzed {
                    version: None,
                    starts: super::documents::line_starts(&text),
                    text: text.clone(),
                    report: c.report,
                    analysis: Some(c.analysis),
                })
            }
        };
        tokio::task::spawn_blocking(move || {
            guard("codeAction", || {
                let a = &analysed;
                let findings: Vec<&Reported> = a.active().collect();
                let fixes = |i: usize| a.fixes(i);
                actions(&uri, &a.text, &a.starts, &findings, &fixes, range, &diags)
            })
        })
        .await
        .ok()
        .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::super::documents::{line_starts, offset_at};
    use super::*;
    use tower_lsp_server::ls_types::Position;

    /// Applies LSP text edits (as a client would) to `text`.
    fn apply(text: &str, edits: &[LspTextEdit]) -> String {
        let starts = line_starts(text);
        let mut es: Vec<(usize, usize, &str)> = edits
            .iter()
            .map(|e| {
                (
                    offset_at(text, &starts, e.range.start),
                    offset_at(text, &starts, e.range.end),
                    e.new_text.as_str(),
                )
            })
            .collect();
        es.sort();
        let mut out = text.to_string();
        for (s, e, t) in es.into_iter().rev() {
            out.replace_range(s..e, t);
        }
        out
    }

    /// The quick fixes of `text` for `range`, from the one per-file check
    /// ("assume a size" left out: `assume_size_is_offered_for_unknown_sizes_only`).
    fn actions_for(uri: &Uri, path: &str, text: &str, range: Range) -> Vec<CodeActionOrCommand> {
        let settings = std::sync::Arc::new(
            crate::config::Configs::new(crate::config::Overrides {
                no_config: true,
                ..Default::default()
            })
            .unwrap()
            .settings(None),
        );
        let c = crate::file_check::check_text(
            crate::file_check::Input {
                path,
                text,
                flags: None,
                from_disk: false,
                old_tree: None,
                project: None,
            },
            &settings,
            None,
        )
        .unwrap();
        let a = super::super::Analyzed {
            version: None,
            text: Arc::new(text.to_string()),
            starts: line_starts(text),
            report: c.report,
            analysis: Some(c.analysis),
        };
        let findings: Vec<&Reported> = a.active().collect();
        let fixes = |i| a.fixes(i);
        actions(uri, text, &a.starts, &findings, &fixes, range, &[])
            .into_iter()
            .filter(|a| {
                !matches!(a, CodeActionOrCommand::CodeAction(c)
                    if c.kind == Some(CodeActionKind::REFACTOR_REWRITE))
            })
            .collect()
    }

    #[test]
    fn a_quick_fix_yields_the_library_call_and_a_no_fix_says_why() {
        let uri: Uri = "file:///tmp/gemmscope-ca/a.c".parse().unwrap();
        let text = "#include <stdlib.h>\nvoid f(int n, const double *A, const double *B, double *C, double **E) {\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n + j] += A[i*n + k] * B[k*n + j];\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                E[i][j] += A[i*n + k] * B[k*n + j];\n}\n";
        let on_line = |l| Range::new(Position::new(l, 4), Position::new(l, 4));
        let acts = actions_for(&uri, "/tmp/gemmscope-ca/a.c", text, on_line(2));
        assert_eq!(acts.len(), 1, "{acts:#?}");
        let CodeActionOrCommand::CodeAction(a) = &acts[0] else {
            panic!()
        };
        assert_eq!(a.kind, Some(CodeActionKind::QUICKFIX));
        assert_eq!(a.is_preferred, Some(true));
        let edits = &a.edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri];
        let fixed = apply(text, edits);
        assert!(
            fixed.contains("#include <stdlib.h>\n#include <cblas.h>\n"),
            "{fixed}"
        );
        assert!(
            fixed.contains("    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, &A[0], n, &B[0], n, 1.0, &C[0], n);\n    for (int i"),
            "{fixed}"
        );
        // The jagged nest gets a disabled action that says why.
        let acts = actions_for(&uri, "/tmp/gemmscope-ca/a.c", text, on_line(6));
        assert_eq!(acts.len(), 1, "{acts:#?}");
        let CodeActionOrCommand::CodeAction(a) = &acts[0] else {
            panic!()
        };
        assert!(a.edit.is_none());
        let why = &a.disabled.as_ref().unwrap().reason;
        assert!(why.contains("separate allocations"), "{why}");
        // Nothing on a line without a finding.
        assert!(actions_for(&uri, "/tmp/gemmscope-ca/a.c", text, on_line(0)).is_empty());
    }

    #[test]
    fn assume_size_is_offered_for_unknown_sizes_only() {
        let f = |dims: &str| {
            let text = format!("void f(int n, const float *A, const float *B, float *C) {{\n{dims}    for (int i = 0; i < n; i++)\n        for (int j = 0; j < N; j++)\n            for (int k = 0; k < n; k++)\n                C[i*N + j] += A[i*n + k] * B[k*N + j];\n}}\n");
            let a = gemmscope_analyzers::analyze("a.c", &text, &gemmscope_analyzers::NoIncludes)
                .unwrap();
            let uri: Uri = "file:///a.c".parse().unwrap();
            let starts = line_starts(&text);
            assume_size(&uri, &text, &starts, &a.findings[0]).map(|a| a.title)
        };
        assert_eq!(
            f("").as_deref(),
            Some("GS101: assume a size for this loop (n=1024 N=1024; edit the numbers)")
        );
        assert_eq!(f("    // gemmscope: size n=8 N=8\n"), None);
    }

    #[test]
    fn precision_changing_fixes_are_not_preferred_and_say_their_cost() {
        let uri: Uri = "file:///tmp/gemmscope-ca/b.cu".parse().unwrap();
        let text = "#include <cublas_v2.h>\nvoid f(cublasHandle_t h, int n, const float *a, const float *b, float *c, const float *one, const float *zero) {\n    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, one, a, n, b, n, zero, c, n);\n}\n";
        let r = Range::new(Position::new(2, 0), Position::new(2, 10));
        let acts = actions_for(&uri, "/tmp/gemmscope-ca/b.cu", text, r);
        assert_eq!(acts.len(), 2);
        for a in &acts {
            let CodeActionOrCommand::CodeAction(a) = a else {
                panic!()
            };
            assert_eq!(a.is_preferred, Some(false));
            assert!(a.title.contains("1e-3"), "{}", a.title);
        }
    }
}
