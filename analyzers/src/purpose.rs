//! What a found nest is for, where the file says: a CPU **reference**, the
//! slow but obviously correct product that a test or sample computes to
//! check a GPU kernel's or a library's result (`computeGold`,
//! `matMultiplyOnHost`, `matrixMulCPU`). It is a real matrix product, but
//! not a hot one: the caller reports it at note level with this reason.
//!
//! A host function is a reference when the file also runs device or
//! library code (a CUDA kernel, a `cuda*`/`cu*`/`cublas*` call, or a CUDA
//! source) and either
//! - a caller in the file passes it an array for its output and compares
//!   that array with another one (`fabs(ref[i] - gpu[i])`, `ref[i] !=
//!   out[i]`, or a call named like `compare`/`check`/`verify`/`validate`
//!   that takes it), or
//! - its name says so: `gold` as a word of the name (`computeGold`) in
//!   any file; `reference` or `ref` only beside device code (a CPU-only
//!   `ref_sgemm` may be the implementation that runs).
//!
//! A host product whose result is used rather than compared
//! (`host_apply`, `matmul_forward_cpu` as a fallback) stays a warning.
//!
//! Hand-written **attention in a fallback branch** is marked too
//! ([`mark_fallbacks`]): the branch of an `if` whose other branch already
//! calls a fused attention kernel (`if self.flash: y =
//! F.scaled_dot_product_attention(...) else: ...by hand...`). The hand path
//! runs only where the fused one is missing (an old PyTorch), so it is a
//! note that says which condition chooses it.

use crate::finding::Finding;
use crate::ir::{BinOp, Expr, File, FnKind, Function, Lang, Stmt, StmtKind};

/// Sets [`Finding::purpose`] on the findings that are CPU references.
pub fn mark_references(findings: &mut [Finding], file: &File) {
    if findings.is_empty() {
        return;
    }
    let device = has_device_code(file);
    for f in findings.iter_mut() {
        if f.purpose.is_some() || !matches!(f.idiom, crate::finding::Idiom::Gemm) {
            continue;
        }
        let Some(name) = f.function.as_deref() else {
            continue;
        };
        let Some(func) = file
            .functions
            .iter()
            .find(|g| g.name == name && g.kind == FnKind::Host)
        else {
            continue;
        };
        let out = f
            .layouts
            .iter()
            .find(|l| l.role == "C")
            .map(|l| l.name.clone());
        let why = out
            .as_deref()
            .filter(|_| device)
            .and_then(|out| compared_by_caller(file, func, out))
            .or_else(|| named_reference(&func.name, device));
        if let Some(w) = &why {
            f.why = format!("{}; {w}, so it is reported as a note", f.why);
        }
        f.purpose = why;
    }
}

/// The fused attention calls that make a hand-written branch beside them a
/// fallback: PyTorch's SDPA, flash-attn's functions, xformers'.
fn is_fused_attention(func: &str) -> bool {
    let short = func.rsplit(['.', ':']).next().unwrap_or(func);
    short == "scaled_dot_product_attention"
        || short.starts_with("flash_attn")
        || short == "memory_efficient_attention"
}

/// Sets [`Finding::purpose`] on attention findings that lie in one branch
/// of an `if` whose other branch calls a fused attention kernel.
pub fn mark_fallbacks(findings: &mut [Finding], file: &File) {
    for f in findings.iter_mut() {
        if f.purpose.is_some() || !matches!(f.idiom, crate::finding::Idiom::Attention) {
            continue;
        }
        let Some(func) = f
            .function
            .as_deref()
            .and_then(|name| file.functions.iter().find(|g| g.name == name))
        else {
            continue;
        };
        let mut why = None;
        for s in &func.body {
            s.walk(&mut |s| {
                let StmtKind::If { cond, then, els } = &s.kind else {
                    return;
                };
                if why.is_some() {
                    return;
                }
                let inside = |b: &[Stmt]| match (b.first(), b.last()) {
                    (Some(first), Some(last)) => {
                        first.span.start_byte <= f.range.start_byte
                            && f.range.end_byte <= last.span.end_byte
                    }
                    _ => false,
                };
                let (other, taken) = if inside(els) {
                    (then, "false")
                } else if inside(then) && !els.is_empty() {
                    (els, "true")
                } else {
                    return;
                };
                if let Some(call) = fused_call(other) {
                    why = Some(format!(
                        "a fallback: this branch runs only when `{cond}` (line {}) is {taken}, and the other branch already calls `{call}`",
                        s.span.start_line
                    ));
                }
            });
        }
        if let Some(w) = &why {
            f.why = format!("{}; {w}, so it is reported as a note", f.why);
        }
        f.purpose = why;
    }
}

/// The first fused attention call in these statements.
fn fused_call(stmts: &[Stmt]) -> Option<String> {
    let mut found = None;
    for s in stmts {
        s.walk(&mut |s| {
            for e in s.exprs() {
                e.walk(&mut |x| {
                    if let Expr::Call { func, .. } = x {
                        if found.is_none() && is_fused_attention(func) {
                            found = Some(func.rsplit('.').next().unwrap_or(func).to_string());
                        }
                    }
                });
            }
        });
    }
    found
}

/// What a purpose text says the code is for: `reference` or `fallback`.
pub fn kind(purpose: &str) -> &'static str {
    if purpose.starts_with("a fallback") {
        "fallback"
    } else {
        "reference"
    }
}

/// True when the file runs device or GPU-library code.
fn has_device_code(file: &File) -> bool {
    if file.lang == Lang::Cuda
        || file
            .functions
            .iter()
            .any(|f| matches!(f.kind, FnKind::CudaKernel | FnKind::CudaDevice))
    {
        return true;
    }
    file.functions.iter().any(|f| {
        let mut found = false;
        for s in &f.body {
            s.walk(&mut |s| {
                for e in s.exprs() {
                    e.walk(&mut |x| {
                        if let Expr::Call { func, .. } = x {
                            let short = func.rsplit("::").next().unwrap_or(func);
                            if short.starts_with("cuda")
                                || short.starts_with("cublas")
                                || short.starts_with("cuLaunch")
                                || short.starts_with("cuMemcpy")
                                || short.starts_with("hipblas")
                            {
                                found = true;
                            }
                        }
                    });
                }
            });
        }
        found
    })
}

/// The words of an identifier: `matMultiplyOnHost` → mat, multiply, on,
/// host; `matmul_forward_cpu` → matmul, forward, cpu.
fn words(name: &str) -> Vec<String> {
    let short = name.rsplit(['.', ':']).next().unwrap_or(name);
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = short.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let boundary = c.is_uppercase()
            && !cur.is_empty()
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if boundary {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn named_reference(name: &str, device: bool) -> Option<String> {
    let w = words(name);
    let has = |x: &str| w.iter().any(|y| y == x);
    (has("gold") || device && (has("reference") || has("ref"))).then(|| {
        format!(
            "a CPU reference: its name (`{name}`) says it computes the expected result that another implementation is checked against"
        )
    })
}

/// A caller of `func` that compares the array it passed for `out` with
/// another array: the reason, naming the caller and the other array.
fn compared_by_caller(file: &File, func: &Function, out: &str) -> Option<String> {
    let pos = func.params.iter().position(|p| p == out)?;
    let short = func.name.rsplit("::").next().unwrap_or(&func.name);
    for g in &file.functions {
        if g.name == func.name {
            continue;
        }
        let mut args: Vec<String> = Vec::new();
        for s in &g.body {
            s.walk(&mut |s| {
                for e in s.exprs() {
                    e.walk(&mut |x| {
                        if let Expr::Call {
                            func: called,
                            args: a,
                            recv: None,
                            ..
                        } = x
                        {
                            let c = called.rsplit("::").next().unwrap_or(called);
                            if c == short && a.len() == func.params.len() {
                                if let Some(v) = a.get(pos).and_then(base_name) {
                                    args.push(v);
                                }
                            }
                        }
                    });
                }
            });
        }
        for x in args {
            if let Some(other) = compared_with(&g.body, &x) {
                return Some(format!(
                    "a CPU reference: `{}` compares the `{x}` it computes with `{other}`",
                    g.name
                ));
            }
        }
    }
    None
}

/// The array an argument names: `h_C`, `&C[0]`, `C.data()`, `(float *)C`.
fn base_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Var(v) => Some(v.clone()),
        Expr::Unary(_, x) => base_name(x),
        Expr::Index { base, .. } => base_name(base),
        Expr::Call {
            recv: Some(r),
            func,
            ..
        } if func == "data" => base_name(r),
        _ => None,
    }
}

fn reads_of(e: &Expr) -> Option<String> {
    match e {
        Expr::Index { base, .. } => base_name(base),
        Expr::Unary(crate::ir::UnOp::Deref, x) => base_name(x),
        _ => None,
    }
}

/// Another array that `x` is compared with somewhere in `body`.
fn compared_with(body: &[Stmt], x: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for s in body {
        s.walk(&mut |s| {
            if found.is_some() {
                return;
            }
            let exprs: Vec<&Expr> = match &s.kind {
                StmtKind::Loop(_) => Vec::new(),
                _ => s.exprs(),
            };
            for e in exprs {
                e.walk(&mut |n| {
                    if found.is_some() {
                        return;
                    }
                    match n {
                        Expr::Binary(
                            BinOp::Sub | BinOp::Ne | BinOp::Eq | BinOp::Gt | BinOp::Lt,
                            a,
                            b,
                        ) => {
                            let (ra, rb) = (reads_of(a), reads_of(b));
                            match (ra.as_deref(), rb.as_deref()) {
                                (Some(p), Some(q)) if p == x && q != x => found = Some(q.into()),
                                (Some(p), Some(q)) if q == x && p != x => found = Some(p.into()),
                                _ => {}
                            }
                        }
                        Expr::Call { func, args, .. } => {
                            let w = words(func);
                            let checks = w.iter().any(|y| {
                                matches!(
                                    y.as_str(),
                                    "compare" | "check" | "verify" | "validate" | "equal" | "l2fe"
                                )
                            });
                            let names: Vec<String> = args.iter().filter_map(base_name).collect();
                            if checks && names.iter().any(|n| n == x) {
                                if let Some(o) = names.iter().find(|n| *n != x) {
                                    found = Some(o.clone());
                                }
                            }
                        }
                        _ => {}
                    }
                });
            }
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn identifier_words() {
        assert_eq!(
            words("matMultiplyOnHost"),
            ["mat", "multiply", "on", "host"]
        );
        assert_eq!(words("matmul_forward_cpu"), ["matmul", "forward", "cpu"]);
        assert_eq!(words("computeGold"), ["compute", "gold"]);
        assert_eq!(words("matrixMulCPU"), ["matrix", "mul", "cpu"]);
        assert_eq!(words("sdkCompareL2fe"), ["sdk", "compare", "l2fe"]);
    }
}
