//! FP32 CUDA matmuls in PyTorch (GS602) → two alternative actions, both
//! [`Applicability::ChangesPrecision`]:
//! - `torch.backends.cuda.matmul.allow_tf32 = True` once after the imports
//!   (TF32 tensor cores for every FP32 matmul: inputs rounded to a 10-bit
//!   mantissa, relative error about 1e-3, range unchanged);
//! - the statement under `with torch.autocast(device_type="cuda",
//!   dtype=torch.bfloat16):` (bf16: 7-bit mantissa, relative error about
//!   4e-3; the statement's results become bf16 tensors).

use crate::finding::Finding;
use crate::fixes::{indent_at, Applicability, Fix, FixResult, NoFix, Replacement};
use crate::ir::File;

/// After the last top-level `import`/`from` line (or at the top).
fn after_imports(text: &str) -> usize {
    let mut at = 0;
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        off += line.len();
        if (line.starts_with("import ") || line.starts_with("from "))
            && !line.trim_end().ends_with('\\')
            && !line.contains('(')
        {
            at = off;
        }
    }
    at
}

/// The fixes for a GS602 finding.
pub fn fix(_file: &File, text: &str, finding: &Finding) -> FixResult {
    let mut fixes = Vec::new();
    let at = after_imports(text);
    let mut setting = "torch.backends.cuda.matmul.allow_tf32 = True\n".to_string();
    if at > 0 && !text[..at].ends_with('\n') {
        setting.insert(0, '\n');
    }
    fixes.push(Fix {
        title: "Allow TF32 for CUDA matmuls (torch.backends.cuda.matmul.allow_tf32 = True): \
                inputs rounded to a 10-bit mantissa, relative error about 1e-3"
            .into(),
        edits: vec![Replacement {
            start: at,
            end: at,
            new_text: setting,
        }],
        applicability: Applicability::ChangesPrecision,
        assumes: vec!["applies to every FP32 CUDA matmul of the process".into()],
    });
    let r = finding.range;
    let (indent, own_line) = indent_at(text, r.start_byte);
    let stmt = &text[r.start_byte..r.end_byte];
    if own_line && !stmt.trim_start().starts_with(['@', '#']) {
        let body = stmt.replace('\n', "\n    ");
        fixes.push(Fix {
            title: "Run this statement under bf16 autocast: 7-bit mantissa, relative error \
                    about 4e-3, results become bf16"
                .into(),
            edits: vec![Replacement {
                start: r.start_byte,
                end: r.end_byte,
                new_text: format!(
                    "with torch.autocast(device_type=\"cuda\", dtype=torch.bfloat16):\n{indent}    {body}"
                ),
            }],
            applicability: Applicability::ChangesPrecision,
            assumes: vec!["names bound by the statement are used as bf16 tensors after it".into()],
        });
    }
    if fixes.is_empty() {
        return Err(NoFix::new("the statement does not start its own line"));
    }
    Ok(fixes)
}
