//! GS601 cublas-slow-math: cuBLAS GEMM calls left on a math mode or compute
//! type that keeps them off the tensor cores.

use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Backend, Dim, Dims, Finding, Idiom, Major, OperandLayout, Routine};
use crate::fixes::{self, FixContext, FixResult};
use crate::ir::{BinOp, ElemType, Expr, File, Lang, Span, Stmt, UnOp};

declare_rule! {
    /// cuBLAS single-precision GEMM that cannot use the tensor cores.
    ///
    /// **What it finds.** In C/C++/CUDA host code:
    /// - `cublasSgemm`, `cublasSgemm_v2`, `cublasSgemmBatched`,
    ///   `cublasSgemmStridedBatched` (and `cublasSgemmEx` with `CUDA_R_32F`
    ///   inputs) in a file that never calls
    ///   `cublasSetMathMode(handle, CUBLAS_TF32_TENSOR_OP_MATH)` (or the older
    ///   `CUBLAS_TENSOR_OP_MATH`), or after an explicit
    ///   `cublasSetMathMode(handle, CUBLAS_PEDANTIC_MATH)` /
    ///   `CUBLAS_DEFAULT_MATH`;
    /// - `cublasGemmEx`, `cublasGemmBatchedEx`, `cublasGemmStridedBatchedEx`
    ///   with compute type `CUBLAS_COMPUTE_32F_PEDANTIC` or
    ///   `CUBLAS_COMPUTE_16F_PEDANTIC`; with `CUBLAS_COMPUTE_32F` (or the
    ///   legacy `CUDA_R_32F`) on `CUDA_R_32F` inputs and no TF32 math mode;
    ///   with the legacy compute type `CUDA_R_32F` and algorithm
    ///   `CUBLAS_GEMM_DEFAULT`/`CUBLAS_GEMM_DFALT` (before CUDA 11 that never
    ///   picked tensor cores); or any of them after an explicit pedantic math
    ///   mode.
    ///
    /// Not flagged: `GemmEx` on FP16/BF16 inputs with a tensor-op capable
    /// compute type (`CUBLAS_COMPUTE_32F`, `CUBLAS_COMPUTE_16F`), any
    /// `_FAST_TF32` / `_FAST_16F` / `_FAST_16BF` compute type, `Sgemm` when
    /// the file sets a TF32 / tensor-op math mode.
    ///
    /// **Why it is slow.** In the default math mode cuBLAS computes FP32 GEMM
    /// in full FP32 on the CUDA cores. Since Ampere the tensor cores run the
    /// same GEMM in TF32 at several times the FP32 peak (A100 datasheet:
    /// 19.5 TFLOPS FP32 vs 156 TFLOPS TF32; FP16/BF16 inputs: 312 TFLOPS).
    /// Pedantic modes and compute types additionally forbid any reduced
    /// precision step, so even FP16 inputs stay off the tensor cores.
    ///
    /// **Example.**
    ///
    /// ```c
    /// cublasCreate(&handle);
    /// cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N,   // GS601
    ///             &alpha, d_A, N, d_B, N, &beta, d_C, N);
    /// // instead, once after cublasCreate:
    /// cublasSetMathMode(handle, CUBLAS_TF32_TENSOR_OP_MATH);
    /// // or per call:
    /// cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, N, N, N, &alpha,
    ///              d_A, CUDA_R_32F, N, d_B, CUDA_R_32F, N, &beta,
    ///              d_C, CUDA_R_32F, N, CUBLAS_COMPUTE_32F_FAST_TF32,
    ///              CUBLAS_GEMM_DEFAULT);
    /// ```
    ///
    /// **When the rewrite is safe, and its accuracy cost.** TF32 keeps FP32's
    /// 8-bit exponent (same range) but rounds the inputs to a 10-bit mantissa
    /// and accumulates in FP32: the relative error of a product grows from
    /// about 1e-7 (FP32) to about 1e-3, usually fine for deep learning and
    /// iterative solvers, not for code that needs FP32-exact results
    /// (reference checks with tight tolerances, ill-conditioned linear
    /// algebra). `_FAST_16BF` / `_FAST_16F` (or FP16/BF16 inputs with FP32
    /// accumulate) are faster still at 7-bit / 10-bit mantissas with
    /// BF16/FP16 range. The math mode can also be set outside the source
    /// (the `NVIDIA_TF32_OVERRIDE` environment variable, or a handle
    /// configured in another file); the rule only sees this file.
    pub struct CublasSlowMath {
        code: "GS601",
        name: "cublas-slow-math",
        idiom: Idiom::SlowLibraryCall,
        fix: FixAvailability::Sometimes(
            "TF32 compute type or math mode · changes precision · `cublas.rs`",
        ),
    }
}

impl Rule for CublasSlowMath {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, finding: &Finding) -> FixResult {
        fixes::cublas::fix(cx.file, cx.text, finding)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        if !matches!(cx.file.lang, Lang::C | Lang::Cuda) {
            return;
        }
        let mut modes: Vec<ModeSet> = Vec::new();
        let mut calls: Vec<(usize, &Stmt, String, Vec<Expr>)> = Vec::new();
        for (fi, f) in cx.file.functions.iter().enumerate() {
            f.walk(&mut |s| {
                for e in s.exprs() {
                    e.walk(&mut |x| {
                        let Expr::Call {
                            func,
                            recv: None,
                            args,
                            ..
                        } = x
                        else {
                            return;
                        };
                        if func == "cublasSetMathMode" && args.len() >= 2 {
                            modes.push(ModeSet {
                                func: fi,
                                byte: s.span.start_byte,
                                mode: Mode::of(&args[1]),
                            });
                        } else if Api::of(func).is_some() {
                            calls.push((fi, s, func.clone(), args.clone()));
                        }
                    });
                }
            });
        }
        for (fi, stmt, func, args) in calls {
            let api = Api::of(&func).expect("filtered above");
            if args.len() < api.min_args() {
                continue;
            }
            let mode = effective_mode(&modes, fi, stmt.span.start_byte);
            if let Some(problem) = diagnose(&api, &args, mode) {
                out.push(finding(cx, fi, stmt, &func, &args, &api, &problem));
            }
        }
    }
}

/// A `cublasSetMathMode` call's setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// `CUBLAS_TF32_TENSOR_OP_MATH` or `CUBLAS_TENSOR_OP_MATH`.
    Tensor,
    Pedantic,
    Default,
    /// A variable we cannot resolve.
    Unknown,
}

impl Mode {
    fn of(e: &Expr) -> Mode {
        let names = e.vars();
        let has = |n: &str| names.contains(n);
        if has("CUBLAS_TF32_TENSOR_OP_MATH") || has("CUBLAS_TENSOR_OP_MATH") {
            return Mode::Tensor;
        }
        if has("CUBLAS_PEDANTIC_MATH") {
            return Mode::Pedantic;
        }
        if has("CUBLAS_DEFAULT_MATH") {
            return Mode::Default;
        }
        // Numeric values of cublasMath_t (the low bits; flags above them).
        let lit = match e {
            Expr::Binary(BinOp::BitOr, a, _) => a.as_ref(),
            other => other,
        };
        match lit {
            Expr::Int(v) => match v & 0xf {
                0 => Mode::Default,
                1 | 3 => Mode::Tensor,
                2 => Mode::Pedantic,
                _ => Mode::Unknown,
            },
            _ => Mode::Unknown,
        }
    }
}

struct ModeSet {
    func: usize,
    byte: usize,
    mode: Mode,
}

/// What the handle's math mode is at a call: `None` when the file never sets
/// it (cuBLAS's default), `Some(mode)` when it does. A set earlier in the same
/// function wins; otherwise any TF32/tensor-op set elsewhere in the file is
/// taken to configure the handle (for example in an init function).
fn effective_mode(modes: &[ModeSet], func: usize, byte: usize) -> Option<Mode> {
    if let Some(m) = modes
        .iter()
        .filter(|m| m.func == func && m.byte < byte)
        .max_by_key(|m| m.byte)
    {
        return Some(m.mode);
    }
    [Mode::Tensor, Mode::Unknown, Mode::Pedantic, Mode::Default]
        .into_iter()
        .find(|want| modes.iter().any(|m| m.mode == *want))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// `cublasSgemm*`: FP32 in, FP32 compute, math mode decides.
    Sgemm,
    /// `cublasSgemmEx`: typed inputs, FP32 compute, math mode decides.
    SgemmEx,
    /// `cublasGemm*Ex`: typed inputs and an explicit compute type.
    GemmEx,
}

/// Argument positions of one cuBLAS GEMM entry point (after handle, transa,
/// transb, m, n, k, alpha).
struct Api {
    family: Family,
    beta: usize,
    a: usize,
    lda: usize,
    b: usize,
    ldb: usize,
    c: usize,
    ldc: usize,
    a_type: Option<usize>,
    compute: Option<usize>,
    algo: Option<usize>,
    batch: Option<usize>,
}

impl Api {
    fn of(func: &str) -> Option<Api> {
        let plain = |batch| Api {
            family: Family::Sgemm,
            beta: 11,
            a: 7,
            lda: 8,
            b: 9,
            ldb: 10,
            c: 12,
            ldc: 13,
            a_type: None,
            compute: None,
            algo: None,
            batch,
        };
        Some(match func {
            "cublasSgemm" | "cublasSgemm_v2" => plain(None),
            "cublasSgemmBatched" => plain(Some(14)),
            "cublasSgemmStridedBatched" => Api {
                family: Family::Sgemm,
                beta: 13,
                a: 7,
                lda: 8,
                b: 10,
                ldb: 11,
                c: 14,
                ldc: 15,
                a_type: None,
                compute: None,
                algo: None,
                batch: Some(17),
            },
            "cublasSgemmEx" => Api {
                family: Family::SgemmEx,
                beta: 13,
                a: 7,
                lda: 9,
                b: 10,
                ldb: 12,
                c: 14,
                ldc: 16,
                a_type: Some(8),
                compute: None,
                algo: None,
                batch: None,
            },
            "cublasGemmEx" => Api {
                family: Family::GemmEx,
                beta: 13,
                a: 7,
                lda: 9,
                b: 10,
                ldb: 12,
                c: 14,
                ldc: 16,
                a_type: Some(8),
                compute: Some(17),
                algo: Some(18),
                batch: None,
            },
            "cublasGemmBatchedEx" => Api {
                family: Family::GemmEx,
                beta: 13,
                a: 7,
                lda: 9,
                b: 10,
                ldb: 12,
                c: 14,
                ldc: 16,
                a_type: Some(8),
                compute: Some(18),
                algo: Some(19),
                batch: Some(17),
            },
            "cublasGemmStridedBatchedEx" => Api {
                family: Family::GemmEx,
                beta: 15,
                a: 7,
                lda: 9,
                b: 11,
                ldb: 13,
                c: 16,
                ldc: 18,
                a_type: Some(8),
                compute: Some(21),
                algo: Some(22),
                batch: Some(20),
            },
            _ => return None,
        })
    }

    fn min_args(&self) -> usize {
        [
            Some(self.ldc),
            self.a_type,
            self.compute,
            self.algo,
            self.batch,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
            + 1
    }
}

/// The `cudaDataType` of an operand type argument.
fn data_type(e: &Expr) -> Option<ElemType> {
    let Expr::Var(n) = e else { return None };
    Some(match n.as_str() {
        "CUDA_R_32F" => ElemType::F32,
        "CUDA_R_16F" => ElemType::F16,
        "CUDA_R_16BF" => ElemType::Bf16,
        "CUDA_R_64F" => ElemType::F64,
        "CUDA_R_8I" => ElemType::I8,
        "CUDA_R_32I" => ElemType::I32,
        _ => return None,
    })
}

fn name_of(e: &Expr) -> Option<&str> {
    match e {
        Expr::Var(n) => Some(n.as_str()),
        _ => None,
    }
}

/// Why a call stays off the tensor cores.
struct Problem {
    /// The setting to blame, as written (`CUBLAS_PEDANTIC_MATH`, ...).
    setting: String,
    /// A sentence on the setting.
    why: String,
    /// The tensor-core alternative.
    fix: String,
    confidence: f32,
}

const TF32_COST: &str =
    "TF32 keeps FP32 range but a 10-bit mantissa: relative error ~1e-3 instead of ~1e-7 for FP32";

fn diagnose(api: &Api, args: &[Expr], mode: Option<Mode>) -> Option<Problem> {
    let a_type = api.a_type.and_then(|i| data_type(&args[i]));
    let mode_fix = || {
        format!(
            "call `cublasSetMathMode(handle, CUBLAS_TF32_TENSOR_OP_MATH)` after `cublasCreate` to use \
             TF32 tensor cores ({TF32_COST}), or use `cublasGemmEx` with FP16/BF16 inputs and \
             `CUBLAS_COMPUTE_32F` (FP32 accumulate, 10-/7-bit input mantissas)"
        )
    };
    let mode_problem = |mode: Option<Mode>| -> Option<Problem> {
        Some(match mode {
            None => Problem {
                setting: "CUBLAS_DEFAULT_MATH".into(),
                why: "the handle's math mode is never set in this file, so it stays \
                      CUBLAS_DEFAULT_MATH, which computes FP32 GEMM on the CUDA cores"
                    .into(),
                fix: mode_fix(),
                confidence: 0.75,
            },
            Some(Mode::Default) => Problem {
                setting: "CUBLAS_DEFAULT_MATH".into(),
                why: "the handle is set to CUBLAS_DEFAULT_MATH, which computes FP32 GEMM on the \
                      CUDA cores"
                    .into(),
                fix: mode_fix(),
                confidence: 0.85,
            },
            Some(Mode::Pedantic) => Problem {
                setting: "CUBLAS_PEDANTIC_MATH".into(),
                why: "the handle is set to CUBLAS_PEDANTIC_MATH, which forbids tensor cores and \
                      any reduced-precision step"
                    .into(),
                fix: mode_fix(),
                confidence: 0.9,
            },
            Some(Mode::Tensor | Mode::Unknown) => return None,
        })
    };
    match api.family {
        Family::Sgemm => mode_problem(mode),
        Family::SgemmEx => {
            if a_type == Some(ElemType::F32) || mode == Some(Mode::Pedantic) {
                mode_problem(mode)
            } else {
                None
            }
        }
        Family::GemmEx => {
            let compute = name_of(&args[api.compute?]).unwrap_or("");
            let algo = api.algo.and_then(|i| name_of(&args[i])).unwrap_or("");
            match compute {
                "CUBLAS_COMPUTE_32F_PEDANTIC" => Some(Problem {
                    setting: compute.into(),
                    why: "compute type CUBLAS_COMPUTE_32F_PEDANTIC forces full FP32 on the CUDA cores"
                        .into(),
                    fix: format!(
                        "use `CUBLAS_COMPUTE_32F_FAST_TF32` ({TF32_COST}), or FP16/BF16 inputs with \
                         `CUBLAS_COMPUTE_32F`"
                    ),
                    confidence: 0.9,
                }),
                "CUBLAS_COMPUTE_16F_PEDANTIC" => Some(Problem {
                    setting: compute.into(),
                    why: "compute type CUBLAS_COMPUTE_16F_PEDANTIC forbids the tensor-core path".into(),
                    fix: "use `CUBLAS_COMPUTE_16F` (FP16 tensor cores, FP16 accumulate) or \
                          `CUBLAS_COMPUTE_32F` (tensor cores, FP32 accumulate: more accurate, \
                          usually as fast)"
                        .into(),
                    confidence: 0.9,
                }),
                "CUBLAS_COMPUTE_32F" | "CUDA_R_32F" if a_type == Some(ElemType::F32) => {
                    match mode {
                        Some(Mode::Tensor | Mode::Unknown) => None,
                        _ => Some(Problem {
                            setting: compute.into(),
                            why: format!(
                                "compute type {compute} on CUDA_R_32F inputs{} computes in full FP32 \
                                 on the CUDA cores",
                                if mode == Some(Mode::Pedantic) {
                                    " under CUBLAS_PEDANTIC_MATH"
                                } else {
                                    " without a TF32 math mode"
                                }
                            ),
                            fix: format!(
                                "use `CUBLAS_COMPUTE_32F_FAST_TF32` ({TF32_COST}); \
                                 `CUBLAS_COMPUTE_32F_FAST_16BF` / `_FAST_16F` are faster still \
                                 (7-/10-bit mantissas)"
                            ),
                            confidence: 0.85,
                        }),
                    }
                }
                _ if mode == Some(Mode::Pedantic) => Some(Problem {
                    setting: "CUBLAS_PEDANTIC_MATH".into(),
                    why: "the handle is set to CUBLAS_PEDANTIC_MATH, which forbids tensor cores \
                          for every GEMM on it"
                        .into(),
                    fix: "drop `cublasSetMathMode(handle, CUBLAS_PEDANTIC_MATH)` (use \
                          CUBLAS_DEFAULT_MATH or CUBLAS_TF32_TENSOR_OP_MATH)"
                        .into(),
                    confidence: 0.85,
                }),
                "CUDA_R_32F"
                    if matches!(algo, "CUBLAS_GEMM_DEFAULT" | "CUBLAS_GEMM_DFALT")
                        && mode != Some(Mode::Tensor)
                        && mode != Some(Mode::Unknown) =>
                {
                    Some(Problem {
                        setting: format!("CUDA_R_32F + {algo}"),
                        why: format!(
                            "the legacy compute type CUDA_R_32F with algorithm {algo}: before CUDA 11 \
                             this never used tensor cores unless the math mode was CUBLAS_TENSOR_OP_MATH"
                        ),
                        fix: "pass `CUBLAS_COMPUTE_32F` (CUDA 11+) for FP16/BF16 inputs, or \
                              `CUBLAS_GEMM_DEFAULT_TENSOR_OP` on older toolkits (tensor cores, FP32 \
                              accumulate)"
                            .into(),
                        confidence: 0.6,
                    })
                }
                _ => None,
            }
        }
    }
}

/// A host scalar argument as written, without the `&` (`&alpha` → `alpha`).
fn scalar(e: &Expr) -> String {
    match e {
        Expr::Unary(UnOp::AddrOf, inner) => inner.to_string(),
        other => other.to_string(),
    }
}

fn dim(file: &File, e: &Expr) -> Dim {
    Dim::of(file, e)
}

/// The span of `name(...)` inside the statement's text, if it is there
/// (macro-expanded calls are not): the call rather than the whole statement.
fn call_span(text: &str, stmt: Span, name: &str) -> Option<Span> {
    let body = text.get(stmt.start_byte..stmt.end_byte)?;
    let mut from = 0;
    let rel = loop {
        let at = from + body[from..].find(name)?;
        let before_ok = body[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = body[at + name.len()..].trim_start();
        if before_ok && after.starts_with('(') {
            break at;
        }
        from = at + name.len();
    };
    let open = rel + name.len() + body[rel + name.len()..].find('(')?;
    let mut depth = 0usize;
    let mut close = None;
    for (i, c) in body[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i + 1);
                    break;
                }
            }
            _ => {}
        }
    }
    let (start, end) = (stmt.start_byte + rel, stmt.start_byte + close?);
    let pos = |b: usize| {
        let before = &text[..b];
        let line = before.matches('\n').count() + 1;
        let col = b - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        (line, col)
    };
    let (start_line, start_col) = pos(start);
    let (end_line, end_col) = pos(end);
    Some(Span {
        start_byte: start,
        end_byte: end,
        start_line,
        start_col,
        end_line,
        end_col,
    })
}

fn finding(
    cx: &Context<'_>,
    fi: usize,
    stmt: &Stmt,
    func: &str,
    args: &[Expr],
    api: &Api,
    p: &Problem,
) -> Finding {
    let file = cx.file;
    let dims = Dims {
        m: Some(dim(file, &args[3])),
        n: Some(dim(file, &args[4])),
        k: Some(dim(file, &args[5])),
        batch: api.batch.map(|i| dim(file, &args[i])),
    };
    let dtype = match api.a_type {
        None => Some(ElemType::F32),
        Some(i) => data_type(&args[i]),
    };
    // cuBLAS is column-major: op N means the operand is stored column-major,
    // op T/C means its transpose is, i.e. it is row-major.
    let op_major = |e: &Expr| match name_of(e) {
        Some("CUBLAS_OP_N") => Some(Major::Col),
        Some("CUBLAS_OP_T" | "CUBLAS_OP_C" | "CUBLAS_OP_HERMITAN") => Some(Major::Row),
        _ => None,
    };
    let operand = |role: &str, major: Option<Major>, arr: usize, ld: usize| {
        major.map(|major| OperandLayout {
            role: role.into(),
            name: args[arr].to_string(),
            major,
            ld: Some(args[ld].to_string()),
            jagged: false,
        })
    };
    let layouts = [
        operand("C", Some(Major::Col), api.c, api.ldc),
        operand("A", op_major(&args[1]), api.a, api.lda),
        operand("B", op_major(&args[2]), api.b, api.ldb),
    ]
    .into_iter()
    .flatten()
    .collect();
    let batched = api.batch.is_some();
    let routine = if batched {
        Routine::GemmBatched
    } else {
        Routine::Gemm
    };
    let dtype_txt = dtype
        .as_ref()
        .map(|t| format!(" {}", t.short()))
        .unwrap_or_default();
    let message = format!(
        "`{func}` {}{dtype_txt} runs without tensor cores ({}): {}",
        dims.display(),
        p.setting,
        p.fix
    );
    let key_range = call_span(cx.text, stmt.span, func).unwrap_or(stmt.span);
    Finding {
        code: CublasSlowMath::META.code,
        rule: CublasSlowMath::META.name,
        idiom: Idiom::SlowLibraryCall,
        routine,
        backend: Backend::Cublas,
        range: stmt.span,
        key_range,
        function: Some(file.functions[fi].name.clone()),
        dims,
        dtype,
        layouts,
        loop_order: None,
        alpha: Some(scalar(&args[6])),
        beta: Some(scalar(&args[api.beta])),
        confidence: p.confidence,
        why: format!("`{func}`: {}", p.why),
        message,
        purpose: None,
        parallel: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil_lib::*;
    use crate::ir::{FnKind, Function};

    const CONSTS: &[(&str, i64)] = &[("N", 1024), ("M", 512), ("K", 256)];

    fn sgemm(name: &str, ta: &str) -> Expr {
        call(
            name,
            vec![
                v("handle"),
                v(ta),
                v("CUBLAS_OP_N"),
                v("M"),
                v("N"),
                v("K"),
                addr(v("alpha")),
                v("d_A"),
                v("M"),
                v("d_B"),
                v("K"),
                addr(v("beta")),
                v("d_C"),
                v("M"),
            ],
        )
    }

    fn gemm_ex(a_type: &str, compute: &str, algo: &str) -> Expr {
        call(
            "cublasGemmEx",
            vec![
                v("handle"),
                v("CUBLAS_OP_N"),
                v("CUBLAS_OP_N"),
                v("n"),
                v("n"),
                v("n"),
                addr(v("alpha")),
                v("d_A"),
                v(a_type),
                v("n"),
                v("d_B"),
                v(a_type),
                v("n"),
                addr(v("beta")),
                v("d_C"),
                v("CUDA_R_32F"),
                v("n"),
                v(compute),
                v(algo),
            ],
        )
    }

    fn set_mode(line: usize, mode: &str) -> Stmt {
        expr(line, call("cublasSetMathMode", vec![v("handle"), v(mode)]))
    }

    fn host(name: &str, body: Vec<Stmt>) -> Function {
        func(name, FnKind::Host, vec![("d_A", ptr(ElemType::F32))], body)
    }

    fn run601(fns: Vec<Function>, text: &str) -> Vec<Finding> {
        run(&CublasSlowMath, &file(Lang::Cuda, fns, CONSTS), text)
    }

    #[test]
    fn sgemm_without_math_mode() {
        let body = vec![
            expr(2, call("cublasCreate", vec![addr(v("handle"))])),
            expr(3, sgemm("cublasSgemm", "CUBLAS_OP_N")),
        ];
        let got = run601(vec![host("main", body)], "");
        assert_eq!(got.len(), 1, "{got:#?}");
        let g = &got[0];
        assert_eq!(g.code, "GS601");
        assert_eq!(g.rule, "cublas-slow-math");
        assert_eq!(g.idiom, Idiom::SlowLibraryCall);
        assert_eq!(g.routine, Routine::Gemm);
        assert_eq!(g.backend, Backend::Cublas);
        assert_eq!(dims_str(g), "512x1024x256");
        assert_eq!(g.dims.m.as_ref().unwrap().expr, "M");
        assert_eq!(g.dtype, Some(ElemType::F32));
        assert_eq!(g.range.start_line, 3);
        assert_eq!(g.function.as_deref(), Some("main"));
        assert!(g.message.contains("CUBLAS_TF32_TENSOR_OP_MATH"));
        assert!(g.message.contains("1e-3"));
        assert!(g.why.contains("never set"));
        assert_eq!(g.layouts.len(), 3);
        assert_eq!(g.layouts[1].role, "A");
        assert_eq!(g.layouts[1].major, Major::Col);
        assert_eq!(g.layouts[1].ld.as_deref(), Some("M"));
        assert_eq!(g.alpha.as_deref(), Some("alpha"));
        assert_eq!(g.beta.as_deref(), Some("beta"));
    }

    #[test]
    fn tf32_math_mode_in_init_function_silences_sgemm() {
        let init = host("init", vec![set_mode(2, "CUBLAS_TF32_TENSOR_OP_MATH")]);
        let run_fn = host("run", vec![expr(6, sgemm("cublasSgemm_v2", "CUBLAS_OP_T"))]);
        assert!(run601(vec![init, run_fn], "").is_empty());
        let legacy = host(
            "main",
            vec![
                set_mode(2, "CUBLAS_TENSOR_OP_MATH"),
                expr(3, sgemm("cublasSgemm", "CUBLAS_OP_N")),
            ],
        );
        assert!(run601(vec![legacy], "").is_empty());
    }

    #[test]
    fn explicit_pedantic_mode_before_sgemm() {
        let body = vec![
            set_mode(2, "CUBLAS_PEDANTIC_MATH"),
            expr(3, sgemm("cublasSgemm", "CUBLAS_OP_T")),
        ];
        let got = run601(vec![host("main", body)], "");
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(got[0].message.contains("CUBLAS_PEDANTIC_MATH"));
        assert_eq!(got[0].layouts[1].major, Major::Row);
        assert!(got[0].confidence >= 0.85);
        // A later TF32 set in the same function does not help the earlier call,
        // and an explicit default mode is flagged too.
        let body = vec![
            set_mode(2, "CUBLAS_DEFAULT_MATH"),
            expr(3, sgemm("cublasSgemm", "CUBLAS_OP_N")),
            set_mode(4, "CUBLAS_TF32_TENSOR_OP_MATH"),
            expr(5, sgemm("cublasSgemm", "CUBLAS_OP_N")),
        ];
        let got = run601(vec![host("main", body)], "");
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].range.start_line, 3);
    }

    #[test]
    fn strided_batched_sgemm_dims_and_batch() {
        let args = vec![
            v("handle"),
            v("CUBLAS_OP_N"),
            v("CUBLAS_OP_N"),
            int(64),
            int(64),
            int(32),
            addr(v("alpha")),
            v("d_A"),
            int(64),
            v("sA"),
            v("d_B"),
            int(32),
            v("sB"),
            addr(v("beta")),
            v("d_C"),
            int(64),
            v("sC"),
            v("batch"),
        ];
        let body = vec![expr(4, call("cublasSgemmStridedBatched", args))];
        let f = run(
            &CublasSlowMath,
            &file(Lang::C, vec![host("f", body)], &[("batch", 8)]),
            "",
        );
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].routine, Routine::GemmBatched);
        assert_eq!(dims_str(&f[0]), "8x(64x64x32)");
        assert_eq!(f[0].layouts[0].name, "d_C");
        assert_eq!(f[0].beta.as_deref(), Some("beta"));
    }

    #[test]
    fn gemm_ex_pedantic_and_fp32_compute() {
        for (a, compute, algo) in [
            (
                "CUDA_R_32F",
                "CUBLAS_COMPUTE_32F_PEDANTIC",
                "CUBLAS_GEMM_DEFAULT",
            ),
            (
                "CUDA_R_16F",
                "CUBLAS_COMPUTE_16F_PEDANTIC",
                "CUBLAS_GEMM_DEFAULT",
            ),
            ("CUDA_R_32F", "CUBLAS_COMPUTE_32F", "CUBLAS_GEMM_DEFAULT"),
            ("CUDA_R_32F", "CUDA_R_32F", "CUBLAS_GEMM_DFALT"),
            ("CUDA_R_16F", "CUDA_R_32F", "CUBLAS_GEMM_DFALT"),
        ] {
            let body = vec![expr(3, gemm_ex(a, compute, algo))];
            let got = run(
                &CublasSlowMath,
                &file(Lang::Cuda, vec![host("g", body)], &[("n", 4096)]),
                "",
            );
            assert_eq!(got.len(), 1, "{a} {compute} {algo}: {got:#?}");
            assert_eq!(dims_str(&got[0]), "4096x4096x4096");
            assert!(got[0].message.contains(compute), "{}", got[0].message);
            assert_eq!(got[0].dtype, data_type(&v(a)));
        }
    }

    #[test]
    fn gemm_ex_tensor_core_settings_are_not_flagged() {
        for (a, compute, algo) in [
            ("CUDA_R_16F", "CUBLAS_COMPUTE_32F", "CUBLAS_GEMM_DEFAULT"),
            (
                "CUDA_R_16BF",
                "CUBLAS_COMPUTE_32F",
                "CUBLAS_GEMM_DEFAULT_TENSOR_OP",
            ),
            ("CUDA_R_16F", "CUBLAS_COMPUTE_16F", "CUBLAS_GEMM_DEFAULT"),
            (
                "CUDA_R_32F",
                "CUBLAS_COMPUTE_32F_FAST_TF32",
                "CUBLAS_GEMM_DEFAULT",
            ),
            (
                "CUDA_R_32F",
                "CUBLAS_COMPUTE_32F_FAST_16BF",
                "CUBLAS_GEMM_DEFAULT",
            ),
        ] {
            let body = vec![expr(3, gemm_ex(a, compute, algo))];
            let got = run601(vec![host("g", body)], "");
            assert!(got.is_empty(), "{a} {compute} {algo}: {got:#?}");
        }
        // FP32 compute on FP32 inputs is fine once the handle is in TF32 mode.
        let body = vec![
            set_mode(2, "CUBLAS_TF32_TENSOR_OP_MATH"),
            expr(
                3,
                gemm_ex("CUDA_R_32F", "CUBLAS_COMPUTE_32F", "CUBLAS_GEMM_DEFAULT"),
            ),
        ];
        assert!(run601(vec![host("g", body)], "").is_empty());
    }

    #[test]
    fn wrapped_call_and_key_range_from_text() {
        // CHECK_CUBLAS(cublasSgemm(...)); with the macro not defined in the file.
        let text = "\n  CHECK_CUBLAS(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, M, N, K, &alpha, d_A, M, d_B, K, &beta, d_C, M));\n";
        let start = text.find("CHECK").unwrap();
        let stmt = Stmt {
            kind: crate::ir::StmtKind::Expr(call(
                "CHECK_CUBLAS",
                vec![sgemm("cublasSgemm", "CUBLAS_OP_N")],
            )),
            span: Span {
                start_byte: start,
                end_byte: text.len() - 1,
                start_line: 2,
                start_col: 3,
                end_line: 2,
                end_col: text.len() - start + 2,
            },
        };
        let got = run601(vec![host("main", vec![stmt])], text);
        assert_eq!(got.len(), 1, "{got:#?}");
        let k = got[0].key_range;
        assert_eq!(&text[k.start_byte..k.end_byte], {
            let s = text.find("cublasSgemm").unwrap();
            &text[s..text.len() - 3]
        });
        assert_eq!(k.start_line, 2);
        assert_eq!(k.start_col, 16);
        assert_eq!(got[0].range.start_col, 3);
    }

    #[test]
    fn unknown_mode_variable_and_python_are_not_flagged() {
        let body = vec![
            expr(2, call("cublasSetMathMode", vec![v("handle"), v("mode")])),
            expr(3, sgemm("cublasSgemm", "CUBLAS_OP_N")),
        ];
        assert!(run601(vec![host("main", body)], "").is_empty());
        let body = vec![expr(3, sgemm("cublasSgemm", "CUBLAS_OP_N"))];
        assert!(run(
            &CublasSlowMath,
            &file(Lang::Python, vec![host("m", body)], &[]),
            ""
        )
        .is_empty());
    }

    #[test]
    fn numeric_math_mode_values() {
        assert_eq!(Mode::of(&int(3)), Mode::Tensor);
        assert_eq!(Mode::of(&int(2)), Mode::Pedantic);
        assert_eq!(
            Mode::of(&bin(
                BinOp::BitOr,
                v("CUBLAS_DEFAULT_MATH"),
                v("CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION")
            )),
            Mode::Default
        );
    }
}
