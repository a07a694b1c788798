//! cuBLAS GEMM calls on slow settings (GS601) → the tensor-core compute
//! type or math mode. These change precision (TF32 rounds the inputs to a
//! 10-bit mantissa: relative error about 1e-3 instead of 1e-7), so they are
//! [`Applicability::ChangesPrecision`] and their titles say so.
//!
//! - `cublasSgemm(h, ...)`: (a) this call alone → `cublasGemmEx(...,
//!   CUDA_R_32F, ..., CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT)`;
//!   (b) the handle → `cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH)`
//!   before the call (or the explicit pedantic/default mode set earlier
//!   changed to it).
//! - `cublasGemmEx` / `...BatchedEx` / `...StridedBatchedEx`: the compute
//!   type → `CUBLAS_COMPUTE_32F_FAST_TF32` on FP32 inputs, the pedantic
//!   FP16/FP32 compute type → its non-pedantic one on FP16/BF16 inputs; an
//!   explicit pedantic math mode set earlier is changed too.

use crate::finding::Finding;
use crate::fixes::{indent_at, Applicability, Fix, FixResult, NoFix, Replacement};
use crate::ir::File;

const TF32_COST: &str = "TF32 tensor cores: inputs rounded to a 10-bit mantissa, relative \
                         error about 1e-3 instead of 1e-7";

/// `name(args)` at `start..end`: the name, and each argument's byte range.
/// `r` without the whitespace around it.
fn trim_range(text: &str, r: (usize, usize)) -> (usize, usize) {
    let s = &text[r.0..r.1];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    (r.0 + lead, (r.1 - trail).max(r.0 + lead))
}

pub(crate) fn parse_call(
    text: &str,
    start: usize,
    end: usize,
) -> Option<(String, Vec<(usize, usize)>)> {
    let s = text.get(start..end)?;
    let open = s.find('(')?;
    let name = s[..open].trim().to_string();
    let mut args = Vec::new();
    let mut depth = 0i32;
    let mut arg_start = start + open + 1;
    for (i, c) in s[open..].char_indices() {
        let at = start + open + i;
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    args.push(trim_range(text, (arg_start, at)));
                    return Some((name, args));
                }
            }
            ',' if depth == 1 => {
                args.push(trim_range(text, (arg_start, at)));
                arg_start = at + 1;
            }
            _ => {}
        }
    }
    None
}

fn arg(text: &str, r: (usize, usize)) -> &str {
    text[r.0..r.1].trim()
}

/// The last `cublasSetMathMode(h, MODE)` before `before` whose mode is
/// pedantic or default: the mode argument's range and text.
fn slow_mode_set(text: &str, before: usize) -> Option<(usize, usize)> {
    let head = &text[..before];
    let mut from = head.len();
    while let Some(at) = head[..from].rfind("cublasSetMathMode") {
        let end = head[at..].find(')').map(|e| at + e + 1)?;
        if let Some((_, args)) = parse_call(text, at, end) {
            if args.len() == 2 {
                let mode = arg(text, args[1]);
                if mode.contains("PEDANTIC") || mode == "CUBLAS_DEFAULT_MATH" || mode == "0" {
                    return Some(args[1]);
                }
                // The nearest setting is a fast one: nothing to change.
                return None;
            }
        }
        from = at;
    }
    None
}

fn replace(r: (usize, usize), new_text: &str) -> Replacement {
    Replacement {
        start: r.0,
        end: r.1,
        new_text: new_text.to_string(),
    }
}

/// The fixes for a GS601 finding.
pub fn fix(_file: &File, text: &str, finding: &Finding) -> FixResult {
    let k = finding.key_range;
    let (name, args) = parse_call(text, k.start_byte, k.end_byte)
        .ok_or_else(|| NoFix::new("the cuBLAS call's arguments were not found in the text"))?;
    let mode = slow_mode_set(text, k.start_byte);
    let mode_edit = mode.map(|r| {
        let old = arg(text, r).to_string();
        (replace(r, "CUBLAS_TF32_TENSOR_OP_MATH"), old)
    });
    let mut fixes = Vec::new();
    match name.as_str() {
        "cublasSgemm" | "cublasSgemm_v2" if args.len() == 14 => {
            let a: Vec<&str> = args.iter().map(|r| arg(text, *r)).collect();
            if mode_edit.is_none() {
                let call = format!(
                    "cublasGemmEx({}, {}, {}, {}, {}, {}, {}, {}, CUDA_R_32F, {}, {}, CUDA_R_32F, {}, {}, {}, CUDA_R_32F, {}, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT)",
                    a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13]
                );
                fixes.push(Fix {
                    title: format!("Use cublasGemmEx with CUBLAS_COMPUTE_32F_FAST_TF32 for this call ({TF32_COST})"),
                    edits: vec![Replacement {
                        start: k.start_byte,
                        end: k.end_byte,
                        new_text: call,
                    }],
                    applicability: Applicability::ChangesPrecision,
                    assumes: vec!["CUDA 11 or later (cublasComputeType_t)".into()],
                });
            }
            let edit = match &mode_edit {
                Some((e, _)) => e.clone(),
                None => {
                    let stmt = finding.range.start_byte;
                    let (indent, own_line) = indent_at(text, stmt);
                    if !own_line {
                        return if fixes.is_empty() {
                            Err(NoFix::new("the call does not start its own line"))
                        } else {
                            Ok(fixes)
                        };
                    }
                    Replacement {
                        start: stmt,
                        end: stmt,
                        new_text: format!(
                            "cublasSetMathMode({}, CUBLAS_TF32_TENSOR_OP_MATH);\n{indent}",
                            a[0]
                        ),
                    }
                }
            };
            fixes.push(Fix {
                title: format!(
                    "Set the handle's math mode to CUBLAS_TF32_TENSOR_OP_MATH (every later FP32 call on `{}`; {TF32_COST})",
                    a[0]
                ),
                edits: vec![edit],
                applicability: Applicability::ChangesPrecision,
                assumes: vec![],
            });
        }
        "cublasGemmEx" | "cublasGemmBatchedEx" | "cublasGemmStridedBatchedEx"
            if args.len() >= 19 =>
        {
            let n = args.len();
            let compute = arg(text, args[n - 2]);
            let a_type = arg(text, args[8]);
            let fp32_in = a_type == "CUDA_R_32F";
            let new_compute = match compute {
                "CUBLAS_COMPUTE_32F_PEDANTIC" | "CUBLAS_COMPUTE_32F" | "CUDA_R_32F" if fp32_in => {
                    "CUBLAS_COMPUTE_32F_FAST_TF32"
                }
                "CUBLAS_COMPUTE_32F_PEDANTIC" => "CUBLAS_COMPUTE_32F",
                "CUBLAS_COMPUTE_16F_PEDANTIC" => "CUBLAS_COMPUTE_16F",
                c if mode_edit.is_some() => c,
                c => {
                    return Err(NoFix::new(format!(
                        "no tensor-core compute type is known for `{c}` on `{a_type}` inputs"
                    )))
                }
            };
            let mut edits = Vec::new();
            let mut what = Vec::new();
            if let Some((e, old)) = &mode_edit {
                edits.push(e.clone());
                what.push(format!("the math mode {old} → CUBLAS_TF32_TENSOR_OP_MATH"));
            }
            if new_compute != compute {
                edits.push(replace(args[n - 2], new_compute));
                what.push(format!("the compute type → {new_compute}"));
            }
            let cost = if fp32_in {
                TF32_COST.to_string()
            } else {
                format!(
                    "tensor cores on {a_type} inputs with the rounding the pedantic type forbade"
                )
            };
            fixes.push(Fix {
                title: format!("Change {} ({cost})", what.join(" and ")),
                edits,
                applicability: Applicability::ChangesPrecision,
                assumes: vec![],
            });
        }
        _ => {
            return Err(NoFix::new(format!(
                "`{name}` with {} arguments is not rewritten",
                args.len()
            )))
        }
    }
    Ok(fixes)
}
