//! `textDocument/codeAction`: the analyzers' rewrites
//! (`gemmscope_analyzers::fixes`) as quick fixes. For every finding whose
//! range meets the requested range, each fix becomes a `quickfix` action
//! with a `WorkspaceEdit` (the first exact one is preferred); a finding
//! without a fix gets one disabled action whose `disabled.reason` says why
//! (clients show it when the user asks for a fix). Precision-changing fixes
//! (TF32, bf16, tensor cores) say their accuracy cost in the title.

use std::collections::HashMap;
use std::sync::Arc;

use gemmscope_analyzers::fixes::{analyze_with_fixes, Applicability};
use gemmscope_analyzers::{BuildContext, IncludeResolver, Lang, NoIncludes};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionDisabled, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionResponse, Diagnostic, NumberOrString, Range, TextEdit as LspTextEdit, Uri,
    WorkspaceEdit,
};

use super::analysis::nesting_depth;
use super::documents::{line_starts, range_of};
use super::{guard, lock, path_of, Core};
use crate::compdb::{Flags, ProjectIncludes};

fn meets(a: &Range, b: &Range) -> bool {
    let key = |p: &tower_lsp_server::ls_types::Position| (p.line, p.character);
    key(&a.start) <= key(&b.end) && key(&b.start) <= key(&a.end)
}

/// The code actions for `range` of `text` (the document at `uri`).
/// `diagnostics` are the client's diagnostics in the request's context,
/// attached to the actions that resolve them.
pub fn actions(
    uri: &Uri,
    path: &str,
    text: &str,
    from_disk: bool,
    flags: Option<&Flags>,
    range: Range,
    diagnostics: &[Diagnostic],
) -> Vec<CodeActionOrCommand> {
    let Some(lang) = Lang::from_path(path) else {
        return vec![];
    };
    let disk = ProjectIncludes { flags };
    let includes: &dyn IncludeResolver = if from_disk { &disk } else { &NoIncludes };
    let empty = BuildContext::default();
    let build = flags.map(|f| &f.build).unwrap_or(&empty);
    let starts = line_starts(text);
    let mut out = Vec::new();
    for f in analyze_with_fixes(lang, path, text, includes, build) {
        let fr = range_of(
            text,
            &starts,
            f.finding.range.start_byte,
            f.finding.range.end_byte,
        );
        if !meets(&fr, &range) {
            continue;
        }
        let code = f.finding.code;
        let diags: Vec<Diagnostic> = diagnostics
            .iter()
            .filter(|d| {
                d.code == Some(NumberOrString::String(code.to_string())) && meets(&d.range, &fr)
            })
            .cloned()
            .collect();
        let diags = (!diags.is_empty()).then_some(diags);
        match f.fixes {
            Ok(fixes) => {
                let mut preferred_given = false;
                for fix in fixes {
                    let edits: Vec<LspTextEdit> = fix
                        .edits
                        .iter()
                        .map(|e| LspTextEdit {
                            range: range_of(text, &starts, e.start, e.end),
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
    }
    out
}

impl Core {
    /// The code actions for the document's current text (analysed afresh:
    /// fixes need the lowered file, which analyses do not keep).
    pub(super) async fn code_action(&self, p: CodeActionParams) -> Option<CodeActionResponse> {
        let uri = p.text_document.uri;
        let text: Arc<String> = lock(&self.docs).get(&uri)?.text.clone();
        let limits = self.limits();
        let (path, from_disk) = path_of(&uri);
        if text.len() > limits.max_bytes
            || nesting_depth(&text, Lang::from_path(&path) == Some(Lang::Python))
                > limits.max_nesting
        {
            return Some(vec![]);
        }
        let range = p.range;
        let diags = p.context.diagnostics;
        let flags = self.build_flags(&path, from_disk).await;
        tokio::task::spawn_blocking(move || {
            guard("codeAction", || {
                actions(
                    &uri,
                    &path,
                    &text,
                    from_disk,
                    flags.as_deref(),
                    range,
                    &diags,
                )
            })
        })
        .await
        .ok()
        .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::super::documents::offset_at;
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

    #[test]
    fn a_quick_fix_yields_the_library_call_and_a_no_fix_says_why() {
        let uri: Uri = "file:///tmp/gemmscope-ca/a.c".parse().unwrap();
        let text = "#include <stdlib.h>\nvoid f(int n, const double *A, const double *B, double *C, double **E) {\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                C[i*n + j] += A[i*n + k] * B[k*n + j];\n    for (int i = 0; i < n; i++)\n        for (int j = 0; j < n; j++)\n            for (int k = 0; k < n; k++)\n                E[i][j] += A[i*n + k] * B[k*n + j];\n}\n";
        let on_line = |l| Range::new(Position::new(l, 4), Position::new(l, 4));
        let acts = actions(
            &uri,
            "/tmp/gemmscope-ca/a.c",
            text,
            false,
            None,
            on_line(2),
            &[],
        );
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
        let acts = actions(
            &uri,
            "/tmp/gemmscope-ca/a.c",
            text,
            false,
            None,
            on_line(6),
            &[],
        );
        assert_eq!(acts.len(), 1, "{acts:#?}");
        let CodeActionOrCommand::CodeAction(a) = &acts[0] else {
            panic!()
        };
        assert!(a.edit.is_none());
        let why = &a.disabled.as_ref().unwrap().reason;
        assert!(why.contains("separate allocations"), "{why}");
        // Nothing on a line without a finding.
        assert!(actions(
            &uri,
            "/tmp/gemmscope-ca/a.c",
            text,
            false,
            None,
            on_line(0),
            &[]
        )
        .is_empty());
    }

    #[test]
    fn precision_changing_fixes_are_not_preferred_and_say_their_cost() {
        let uri: Uri = "file:///tmp/gemmscope-ca/b.cu".parse().unwrap();
        let text = "#include <cublas_v2.h>\nvoid f(cublasHandle_t h, int n, const float *a, const float *b, float *c, const float *one, const float *zero) {\n    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, one, a, n, b, n, zero, c, n);\n}\n";
        let r = Range::new(Position::new(2, 0), Position::new(2, 10));
        let acts = actions(&uri, "/tmp/gemmscope-ca/b.cu", text, false, None, r, &[]);
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
