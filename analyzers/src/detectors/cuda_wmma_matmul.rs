//! GS109: a hand-written tensor-core GEMM kernel (the warp matrix-multiply
//! API, `nvcuda::wmma`).

use std::collections::HashMap;

use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Backend, Dim, Dims, Finding, Idiom, Major, OperandLayout, Routine};
use crate::ir::{
    BinOp, ElemType, Expr, File, FnKind, Function, Loop, LoopKind, Poly, Stmt, StmtKind, UnOp,
};

declare_rule! {
    /// Hand-written tensor-core GEMM kernel (`nvcuda::wmma`).
    ///
    /// **What it finds.** A `__global__` kernel (or a `__device__` function)
    /// that multiplies matrices with the warp matrix-multiply API: it loads
    /// `wmma::fragment<matrix_a, …>` and `fragment<matrix_b, …>` fragments
    /// with `load_matrix_sync`, accumulates `mma_sync(acc, a, b, acc)` into
    /// an `accumulator` fragment inside a loop over K (a loop that loads new
    /// A and B fragments on every trip and does not reset the accumulator),
    /// and stores the accumulator with `store_matrix_sync`. The operands may
    /// come straight from global memory, from `__shared__` tiles (filled by
    /// stores, `cuda::memcpy_async` or `cp.async` pipelines: the rule reads
    /// only the fragment traffic, so the staging does not matter), and the
    /// warp may own one output tile or a grid of them (`c[i][j]`). The
    /// fragments' template arguments give the element types (`half` → f16,
    /// `__nv_bfloat16` → bf16, `double` → f64, `signed char` → i8,
    /// `unsigned char`/`uint8_t` → u8, `precision::tf32` → tf32; anything
    /// else is left unknown), the layouts (`row_major`/`col_major`, and the
    /// store's `mem_row_major`/`mem_col_major` for C) and the tile shape;
    /// K is the extent of the loops over K times the fragment's K where
    /// the code or its launch gives them. M and N are the launch's grid of
    /// tiles, which the kernel does not spell: they are left unknown.
    ///
    /// Not reported: fragments that are only filled and stored (no
    /// `mma_sync`); an `mma_sync` that is not inside a loop loading fresh A
    /// and B fragments (a single tile product: one 16×16×16 step of
    /// something larger, such as a fused kernel or a test of the
    /// instruction, not a GEMM a library call would replace); an
    /// `mma_sync(d, a, b, c)` whose result is not its own accumulator;
    /// host code and cuBLAS calls.
    ///
    /// **Why it matters, and why there is no speed-up number.** This code
    /// already runs on the tensor cores, so the usual "hand-written loop vs
    /// library" gap does not apply. cuBLAS/cuBLASLt (`cublasGemmEx` with a
    /// tensor-op compute type) or CUTLASS pick tile shapes, pipelining and
    /// the newer `mma`/`wgmma` instructions per GPU and are usually as fast
    /// or faster, with far less code to maintain; but no benchmark candidate
    /// stands for a hand-written `wmma` kernel, so gemmscope cannot measure
    /// or predict how far this one is from them. The finding is therefore a
    /// note, with no estimate and no speed-up: it is advice to consider the
    /// library, not a measured win.
    ///
    /// ```cuda
    /// wmma::fragment<wmma::matrix_a, 16, 16, 16, half, wmma::row_major> a;
    /// wmma::fragment<wmma::matrix_b, 16, 16, 16, half, wmma::col_major> b;
    /// wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    /// wmma::fill_fragment(acc, 0.0f);
    /// for (int k = 0; k < K; k += 16) {
    ///     wmma::load_matrix_sync(a, A + row * K + k, K);
    ///     wmma::load_matrix_sync(b, B + col * K + k, K);
    ///     wmma::mma_sync(acc, a, b, acc);
    /// }
    /// wmma::store_matrix_sync(C + row * N + col, acc, N, wmma::mem_row_major);
    /// // → cublasGemmEx(..., CUDA_R_16F, ..., CUBLAS_COMPUTE_32F, ...)
    /// ```
    ///
    /// **When the rewrite is safe.** As for any GEMM: non-overlapping
    /// arrays, the launch covering the whole output, and bit-level
    /// differences in the summation order accepted. No quick fix is
    /// offered: the kernel's tiling, staging and epilogue (`alpha`/`beta`
    /// applied to the fragment's elements, say) are not proven.
    pub struct CudaWmmaMatmul {
        code: "GS109",
        name: "cuda-wmma-matmul",
        idiom: Idiom::Gemm,
        fix: FixAvailability::None(
            "the kernel's tiling and epilogue are not proven; the cuBLAS call is written by hand",
        ),
    }
}

/// True for this rule's code: its findings are kernels that already run on
/// the tensor cores, for which no benchmark candidate stands (the server
/// gives them no estimate and reports them as notes).
pub fn already_on_tensor_cores(code: &str) -> bool {
    code == CudaWmmaMatmul::META.code
}

impl Rule for CudaWmmaMatmul {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for f in &cx.file.functions {
            if !matches!(f.kind, FnKind::CudaKernel | FnKind::CudaDevice) {
                continue;
            }
            if let Some(finding) = check_function(cx.file, f) {
                out.push(finding);
            }
        }
    }
}

/// What a fragment is for (its first template argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    A,
    B,
    Acc,
}

/// One `wmma::fragment<use, m, n, k, T, layout>` declaration.
#[derive(Clone, Debug)]
struct Frag {
    role: Use,
    m: Expr,
    n: Expr,
    k: Expr,
    /// The element type as written (`half`, `precision::tf32`).
    elem: String,
    layout: Option<Major>,
}

/// The last `::` segment of a name.
fn last_segment(s: &str) -> &str {
    s.rsplit("::").next().unwrap_or(s).trim()
}

/// Splits at the commas outside `<>`, `()` and `[]`.
fn split_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s.get(start..i).unwrap_or("").trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or("").trim());
    out
}

/// A template argument as an expression: an integer or a name.
fn arg_expr(s: &str) -> Expr {
    let s = s.trim();
    if let Ok(v) = s.parse::<i64>() {
        return Expr::Int(v);
    }
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Expr::Var(s.to_string());
    }
    Expr::Other(s.to_string())
}

/// Parses a fragment type (`wmma::fragment<wmma::matrix_a, 16, 16, 16,
/// half, wmma::row_major>`, any namespace spelling).
fn parse_fragment(ty: &str) -> Option<Frag> {
    let at = ty.find("fragment")?;
    let rest = ty.get(at + "fragment".len()..)?.trim_start();
    let inner = rest.strip_prefix('<')?.trim_end().strip_suffix('>')?;
    let args = split_args(inner);
    let role = match last_segment(args.first()?) {
        "matrix_a" => Use::A,
        "matrix_b" => Use::B,
        "accumulator" => Use::Acc,
        _ => return None,
    };
    let layout = args.get(5).and_then(|l| match last_segment(l) {
        "row_major" => Some(Major::Row),
        "col_major" => Some(Major::Col),
        _ => None,
    });
    Some(Frag {
        role,
        m: arg_expr(args.get(1)?),
        n: arg_expr(args.get(2)?),
        k: arg_expr(args.get(3)?),
        elem: args.get(4)?.to_string(),
        layout,
    })
}

/// The element type of a fragment's `T` argument, where it is one this
/// rule knows; `None` (unknown) otherwise.
fn frag_elem(file: &File, t: &str) -> Option<ElemType> {
    let t = t.trim();
    let last = last_segment(t);
    match last {
        "tf32" => return Some(ElemType::Named("tf32".into())),
        "uint8_t" | "u8" => return Some(ElemType::Named("u8".into())),
        "s4" | "u4" | "b1" => return Some(ElemType::Named(last.into())),
        _ => {}
    }
    if t.starts_with("unsigned") && t.ends_with("char") {
        return Some(ElemType::Named("u8".into()));
    }
    match file.elem_type(t) {
        Some(ElemType::Named(_)) | None => None,
        known => known,
    }
}

/// The fragment name an argument of a wmma call names: `a`, `a[i]`,
/// `c[i][j]`, `&a`, `*p` → the base variable.
fn frag_base(e: &Expr) -> Option<&str> {
    match e {
        Expr::Var(v) => Some(v),
        Expr::Index { base, .. } => frag_base(base),
        Expr::Unary(UnOp::AddrOf | UnOp::Deref, a) => frag_base(a),
        _ => None,
    }
}

/// `name(args)` where the call's last `::` segment is `op` (`wmma::mma_sync`,
/// `nvcuda::wmma::mma_sync`, `mma_sync`).
fn wmma_call<'e>(e: &'e Expr, op: &str) -> Option<&'e [Expr]> {
    match e {
        Expr::Call {
            func,
            recv: None,
            args,
            ..
        } if last_segment(func) == op => Some(args),
        _ => None,
    }
}

/// The wmma call of an expression statement.
fn stmt_call<'s>(s: &'s Stmt, op: &str) -> Option<&'s [Expr]> {
    match &s.kind {
        StmtKind::Expr(e) => wmma_call(e, op),
        _ => None,
    }
}

/// The fragments declared in `f`: its locals' declarations first (a
/// fragment may shadow a parameter's name), then its parameters.
fn fragments(f: &Function) -> HashMap<String, Frag> {
    let mut out = HashMap::new();
    f.walk(&mut |s| {
        if let StmtKind::Decl {
            name,
            elem: Some(ElemType::Named(t)),
            ..
        } = &s.kind
        {
            if let Some(fr) = parse_fragment(t) {
                out.entry(name.clone()).or_insert(fr);
            }
        }
    });
    for (name, vi) in &f.vars {
        if let Some(ElemType::Named(t)) = &vi.elem {
            if let Some(fr) = parse_fragment(t) {
                out.entry(name.clone()).or_insert(fr);
            }
        }
    }
    out
}

/// True if some statement in `body` (nested ones included) calls `op` with
/// a first (`arg` = 0) or second argument naming fragment `frag`.
fn calls_on(body: &[Stmt], op: &str, arg: usize, frag: &str) -> bool {
    let mut found = false;
    for s in body {
        s.walk(&mut |s| {
            if let Some(args) = stmt_call(s, op) {
                if args.get(arg).and_then(frag_base) == Some(frag) {
                    found = true;
                }
            }
        });
    }
    found
}

/// True if `e` reads fragment `frag` or one of its members (`acc.x[t]`).
fn reads_frag(e: &Expr, frag: &str) -> bool {
    let mut found = false;
    e.walk(&mut |e| {
        if let Expr::Var(v) = e {
            if v == frag || v.strip_prefix(frag).is_some_and(|r| r.starts_with('.')) {
                found = true;
            }
        }
    });
    found
}

/// The `store_matrix_sync` that takes accumulator `acc` to memory: one
/// storing it, else one storing an accumulator fragment that an assignment
/// fills from `acc`'s elements.
fn stored<'f>(
    f: &'f Function,
    frags: &HashMap<String, Frag>,
    acc: &str,
) -> Option<(&'f [Expr], &'f [Stmt])> {
    if let Some(s) = call_in_block(&f.body, "store_matrix_sync", 1, acc, 0) {
        return Some(s);
    }
    let mut found = None;
    f.walk(&mut |s| {
        if found.is_some() {
            return;
        }
        let StmtKind::Assign { target, value, .. } = &s.kind else {
            return;
        };
        if !reads_frag(value, acc) {
            return;
        }
        for (name, fr) in frags {
            if fr.role == Use::Acc && name != acc && reads_frag(target, name) {
                if let Some(st) = call_in_block(&f.body, "store_matrix_sync", 1, name, 0) {
                    found = Some(st);
                    return;
                }
            }
        }
    });
    found
}

/// One `mma_sync` statement with the loops around it, outermost first.
struct Site<'f> {
    stmt: &'f Stmt,
    loops: Vec<&'f Loop>,
}

fn mma_sites<'f>(
    stmts: &'f [Stmt],
    loops: &mut Vec<&'f Loop>,
    out: &mut Vec<Site<'f>>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    for s in stmts {
        if stmt_call(s, "mma_sync").is_some() {
            out.push(Site {
                stmt: s,
                loops: loops.clone(),
            });
        }
        match &s.kind {
            StmtKind::Loop(l) => {
                loops.push(l);
                mma_sites(&l.body, loops, out, depth + 1);
                loops.pop();
            }
            _ => {
                for c in s.children() {
                    mma_sites(std::slice::from_ref(c), loops, out, depth + 1);
                }
            }
        }
    }
}

/// The loops over K around one `mma_sync`, outermost first: walking out
/// from the call, each loop whose variable does not index the accumulator
/// and that loads both operands' fragments, until one that (re)sets the
/// accumulator (a loop over output tiles).
fn k_loops<'f>(site: &Site<'f>, acc: &str, acc_arg: &Expr, a: &str, b: &str) -> Vec<&'f Loop> {
    let mut out = Vec::new();
    for l in site.loops.iter().rev() {
        if calls_on(&l.body, "fill_fragment", 0, acc)
            || calls_on(&l.body, "load_matrix_sync", 0, acc)
        {
            break;
        }
        if l.kind != LoopKind::Serial || acc_arg.mentions(&l.var) {
            continue;
        }
        if calls_on(&l.body, "load_matrix_sync", 0, a)
            && calls_on(&l.body, "load_matrix_sync", 0, b)
        {
            out.push(*l);
        }
    }
    out.reverse();
    out
}

/// `end - start` of a loop, simplified where it is polynomial.
fn span_of_loop(l: &Loop) -> Expr {
    match &l.start {
        Expr::Int(0) => l.end.clone(),
        s => match (Poly::from_expr(&l.end), Poly::from_expr(s)) {
            (Some(e), Some(s)) => e.sub(&s).to_expr(),
            _ => Expr::bin(BinOp::Sub, l.end.clone(), s.clone()),
        },
    }
}

/// True if two expressions are the same amount (the same polynomial, or the
/// same value through the file's constants).
fn same_amount(file: &File, x: &Expr, y: &Expr) -> bool {
    if let (Some(p), Some(q)) = (Poly::from_expr(x), Poly::from_expr(y)) {
        if p == q {
            return true;
        }
    }
    matches!((file.eval(x), file.eval(y)), (Some(a), Some(b)) if a == b)
}

fn is_one(file: &File, e: &Expr) -> bool {
    file.eval(e) == Some(1)
}

/// K: the loops over K (outermost first) and the fragment's K. A loop
/// stepping by the fragment's K covers `end - start` of K; a loop stepping
/// by `S` around a loop `0..S` by one counts `end - start` trips; any other
/// loop counts `(end - start) / step` trips of the fragment's K.
fn k_extent(file: &File, loops: &[&Loop], frag_k: &Expr) -> Expr {
    let mut factors: Vec<Expr> = Vec::new();
    let mut frag_used = false;
    let mut skip = false;
    for (i, l) in loops.iter().enumerate() {
        if skip {
            skip = false;
            continue;
        }
        let ext = span_of_loop(l);
        let split = loops.get(i + 1).is_some_and(|inner| {
            is_one(file, &inner.step) && same_amount(file, &span_of_loop(inner), &l.step)
        });
        if is_one(file, &l.step) {
            factors.push(ext);
        } else if split {
            factors.push(ext);
            skip = true;
        } else if !frag_used && same_amount(file, &l.step, frag_k) {
            factors.push(ext);
            frag_used = true;
        } else {
            factors.push(Expr::bin(BinOp::Div, ext, l.step.clone()));
        }
    }
    if !frag_used {
        factors.push(frag_k.clone());
    }
    let mut it = factors.into_iter();
    let first = it.next().unwrap_or_else(|| frag_k.clone());
    it.fold(first, |acc, f| Expr::bin(BinOp::Mul, acc, f))
}

/// The first call of `op` with argument `arg` naming `frag` in `stmts`
/// (nested ones included), with the statements before it in its block.
fn call_in_block<'s>(
    stmts: &'s [Stmt],
    op: &str,
    arg: usize,
    frag: &str,
    depth: usize,
) -> Option<(&'s [Expr], &'s [Stmt])> {
    if depth > 64 {
        return None;
    }
    for (i, s) in stmts.iter().enumerate() {
        if let Some(args) = stmt_call(s, op) {
            if args.get(arg).and_then(frag_base) == Some(frag) {
                return Some((args, stmts.get(..i).unwrap_or(&[])));
            }
        }
        let found = match &s.kind {
            StmtKind::Loop(l) => call_in_block(&l.body, op, arg, frag, depth + 1),
            StmtKind::If { then, els, .. } => call_in_block(then, op, arg, frag, depth + 1)
                .or_else(|| call_in_block(els, op, arg, frag, depth + 1)),
            StmtKind::Opaque(b) => call_in_block(b, op, arg, frag, depth + 1),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The array a load or store pointer reads (`A + row*K + k`, `&tile[r][c]`,
/// a local pointer declared just before or defined once): its base name,
/// followed through such locals.
fn pointer_base(f: &Function, before: &[Stmt], e: &Expr, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    match e {
        Expr::Var(v) => {
            let init = before
                .iter()
                .rev()
                .find_map(|s| match &s.kind {
                    StmtKind::Decl {
                        name,
                        init: Some(i),
                        ..
                    } if name == v => Some(i),
                    _ => None,
                })
                .or_else(|| single_init(f, v));
            if let Some(init) = init {
                if let Some(b) = pointer_base(f, before, init, depth + 1) {
                    return Some(b);
                }
            }
            f.is_array(v).then(|| v.clone())
        }
        Expr::Binary(BinOp::Add | BinOp::Sub, a, b) => {
            pointer_base(f, before, a, depth + 1).or_else(|| pointer_base(f, before, b, depth + 1))
        }
        Expr::Unary(UnOp::AddrOf, a) => pointer_base(f, before, a, depth + 1),
        Expr::Index { base, .. } => pointer_base(f, before, base, depth + 1),
        Expr::Call { func, args, .. } if func == "vector" || func.ends_with("_cast") => args
            .first()
            .and_then(|a| pointer_base(f, before, a, depth + 1)),
        _ => None,
    }
}

/// The initialiser of a local declared and set exactly once.
fn single_init<'f>(f: &'f Function, name: &str) -> Option<&'f Expr> {
    if Stmt::defs_of(&f.body, name) != 1 {
        return None;
    }
    let mut init = None;
    f.walk(&mut |s| {
        if let StmtKind::Decl {
            name: n,
            init: Some(e),
            ..
        } = &s.kind
        {
            if n == name {
                init = Some(e);
            }
        }
    });
    init
}

/// The store's memory layout argument (`wmma::mem_row_major`, or a macro
/// naming it).
fn mem_layout(file: &File, e: &Expr) -> Option<Major> {
    let mut name = match e {
        Expr::Var(v) => v.clone(),
        Expr::Other(s) => s.clone(),
        _ => return None,
    };
    for _ in 0..8 {
        match last_segment(&name) {
            "mem_row_major" => return Some(Major::Row),
            "mem_col_major" => return Some(Major::Col),
            _ => {}
        }
        match file.consts.get(&name) {
            Some(Expr::Var(v)) | Some(Expr::Other(v)) => name = v.clone(),
            _ => return None,
        }
    }
    None
}

fn check_function(file: &File, f: &Function) -> Option<Finding> {
    let frags = fragments(f);
    if frags.is_empty() {
        return None;
    }
    let mut sites = Vec::new();
    mma_sites(&f.body, &mut Vec::new(), &mut sites, 0);
    for site in &sites {
        let Some(args) = stmt_call(site.stmt, "mma_sync") else {
            continue;
        };
        let (Some(d), Some(a), Some(b), Some(c)) =
            (args.first(), args.get(1), args.get(2), args.get(3))
        else {
            continue;
        };
        let (Some(dn), Some(an), Some(bn)) = (frag_base(d), frag_base(a), frag_base(b)) else {
            continue;
        };
        let (Some(fa), Some(fb), Some(facc)) = (frags.get(an), frags.get(bn), frags.get(dn)) else {
            continue;
        };
        if fa.role != Use::A || fb.role != Use::B || facc.role != Use::Acc {
            continue;
        }
        // Accumulates into itself: `mma_sync(acc, a, b, acc)`.
        if c.to_string() != d.to_string() {
            continue;
        }
        let kl = k_loops(site, dn, d, an, bn);
        if kl.is_empty() {
            continue;
        }
        // The accumulator reaches memory: stored itself, or its elements
        // copied into a fragment that is (`c.x[t] = alpha * acc.x[t] + ...`).
        let Some(store) = stored(f, &frags, dn) else {
            continue;
        };
        return Some(finding(file, f, site, &kl, (an, fa), (bn, fb), facc, store));
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn finding(
    file: &File,
    f: &Function,
    site: &Site<'_>,
    kl: &[&Loop],
    (an, fa): (&str, &Frag),
    (bn, fb): (&str, &Frag),
    facc: &Frag,
    (store, store_before): (&[Expr], &[Stmt]),
) -> Finding {
    let outermost = kl.first().copied();
    let operand = |role: &str, frag: &str, fr: &Frag| -> Option<OperandLayout> {
        let (args, before) =
            outermost.and_then(|l| call_in_block(&l.body, "load_matrix_sync", 0, frag, 0))?;
        let name = args
            .get(1)
            .and_then(|p| pointer_base(f, before, p, 0))
            .unwrap_or_else(|| frag.to_string());
        Some(OperandLayout {
            role: role.into(),
            name,
            major: fr.layout?,
            ld: args.get(2).map(|e| e.to_string()),
            jagged: false,
        })
    };
    let c_layout = store
        .get(3)
        .and_then(|e| mem_layout(file, e))
        .map(|major| OperandLayout {
            role: "C".into(),
            name: store
                .first()
                .and_then(|p| pointer_base(f, store_before, p, 0))
                .unwrap_or_else(|| "C".into()),
            major,
            ld: store.get(2).map(|e| e.to_string()),
            jagged: false,
        });
    let layouts: Vec<OperandLayout> = c_layout
        .into_iter()
        .chain(operand("A", an, fa))
        .chain(operand("B", bn, fb))
        .collect();
    let staged: Vec<String> = layouts
        .iter()
        .filter(|l| l.role != "C" && f.vars.get(&l.name).is_some_and(|v| v.shared))
        .map(|l| l.name.clone())
        .collect();
    let k_expr = k_extent(file, kl, &fa.k);
    let dims = Dims {
        m: None,
        n: None,
        k: Some(Dim::of(file, &k_expr)),
        batch: None,
    };
    let in_t = frag_elem(file, &fa.elem);
    let acc_t = frag_elem(file, &facc.elem);
    let name = |t: &Option<ElemType>| t.as_ref().map_or("unknown".to_string(), |t| t.short());
    let tile = format!(
        "{}×{}×{}",
        Dim::of(file, &fa.m).display(),
        Dim::of(file, &fa.n).display(),
        Dim::of(file, &fa.k).display()
    );
    let loops: Vec<String> = kl.iter().map(|l| l.var.clone()).collect();
    let why = format!(
        "{} accumulates `{an}` × `{bn}` fragments ({} tiles, {} inputs) into `{}` ({} accumulate) over K in the loop{} over {}{}, and stores it",
        site.stmt_text(),
        tile,
        name(&in_t),
        frag_base_text(site),
        name(&acc_t),
        if loops.len() > 1 { "s" } else { "" },
        loops.join(" × "),
        if staged.is_empty() {
            String::new()
        } else {
            format!(", staged through __shared__ {}", staged.join(" and "))
        },
    );
    let message = format!(
        "hand-written tensor-core GEMM (wmma, {} inputs, {} accumulate, K = {}; M and N set by the launch, not known): it already uses the tensor cores; cuBLAS/cuBLASLt (`cublasGemmEx` with a tensor-op compute type) or CUTLASS is usually as fast or faster and less code to maintain (not measured: no speed-up is claimed)",
        name(&in_t),
        name(&acc_t),
        dims.k.as_ref().map_or("?".into(), Dim::display),
    );
    Finding {
        code: CudaWmmaMatmul::META.code,
        rule: CudaWmmaMatmul::META.name,
        idiom: CudaWmmaMatmul::META.idiom,
        routine: Routine::Gemm,
        backend: Backend::CudaKernel,
        range: f.span,
        key_range: site.stmt.span,
        function: Some(f.name.clone()),
        dims,
        dtype: in_t,
        layouts,
        loop_order: Some("wmma".into()),
        alpha: None,
        beta: None,
        confidence: 0.9,
        why,
        message,
        purpose: None,
        parallel: None,
    }
}

impl Site<'_> {
    /// `mma_sync(acc, a, b, acc)` as lowered.
    fn stmt_text(&self) -> String {
        match &self.stmt.kind {
            StmtKind::Expr(e) => e.to_string(),
            _ => "mma_sync".into(),
        }
    }
}

/// The accumulator argument of the site's call, as written.
fn frag_base_text(site: &Site<'_>) -> String {
    stmt_call(site.stmt, "mma_sync")
        .and_then(|a| a.first())
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Lang;
    use crate::NoIncludes;

    fn findings(src: &str) -> Vec<Finding> {
        crate::analyze_as(Lang::Cuda, "k.cu", src, &NoIncludes).findings
    }

    /// A kernel with the fragment declarations of `types` (A, B, acc) and
    /// `body` after them.
    fn kernel(types: [&str; 3], body: &str) -> String {
        format!(
            "#include <mma.h>\nusing namespace nvcuda;\n\
             __global__ void g(const half *a, const half *b, float *c, int K, int N) {{\n\
             wmma::fragment<wmma::matrix_a, 16, 16, 16, {}> fa;\n\
             wmma::fragment<wmma::matrix_b, 16, 16, 16, {}> fb;\n\
             wmma::fragment<wmma::accumulator, 16, 16, 16, {}> fc;\n\
             wmma::fill_fragment(fc, 0.0f);\n{body}\n}}\n",
            types[0], types[1], types[2]
        )
    }

    const HALF: [&str; 3] = ["half, wmma::row_major", "half, wmma::col_major", "float"];

    const LOOP: &str = "for (int k = 0; k < K; k += 16) {\n\
        wmma::load_matrix_sync(fa, a + k, K);\n\
        wmma::load_matrix_sync(fb, b + k, K);\n\
        wmma::mma_sync(fc, fa, fb, fc);\n}\n\
        wmma::store_matrix_sync(c, fc, N, wmma::mem_row_major);";

    #[test]
    fn fragment_types_parse() {
        let f = parse_fragment(
            "nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 8, 8, 4, double, nvcuda::wmma::col_major>",
        )
        .unwrap();
        assert_eq!(f.role, Use::B);
        assert_eq!((f.m.clone(), f.k.clone()), (Expr::Int(8), Expr::Int(4)));
        assert_eq!(f.elem, "double");
        assert_eq!(f.layout, Some(Major::Col));
        let acc = parse_fragment("fragment<accumulator, M, N, K, int>").unwrap();
        assert_eq!(acc.role, Use::Acc);
        assert_eq!(acc.layout, None);
        assert_eq!(acc.n, Expr::var("N"));
        // Not fragments, or cut short: nothing (and no panic).
        for t in [
            "fragment<matrix_a, 16>",
            "fragment<",
            "fragment>",
            "std::vector<float>",
            "fragment<other, 1, 2, 3, half>",
            "fragment",
        ] {
            assert!(parse_fragment(t).is_none(), "{t}");
        }
    }

    #[test]
    fn element_types_from_the_template_arguments() {
        let file = crate::frontend::lower(Lang::Cuda, "k.cu", "", &NoIncludes);
        let t = |s: &str| frag_elem(&file, s).map(|e| e.short());
        assert_eq!(t("half").as_deref(), Some("f16"));
        assert_eq!(t("__nv_bfloat16").as_deref(), Some("bf16"));
        assert_eq!(t("double").as_deref(), Some("f64"));
        assert_eq!(t("signed char").as_deref(), Some("i8"));
        assert_eq!(t("unsigned char").as_deref(), Some("u8"));
        assert_eq!(t("uint8_t").as_deref(), Some("u8"));
        assert_eq!(t("wmma::precision::tf32").as_deref(), Some("tf32"));
        assert_eq!(
            t("wmma::experimental::precision::u4").as_deref(),
            Some("u4")
        );
        assert_eq!(t("float").as_deref(), Some("f32"));
        assert_eq!(t("int").as_deref(), Some("i32"));
        // Unknown stays unknown.
        assert_eq!(t("T"), None);
        assert_eq!(t("my_type"), None);
    }

    #[test]
    fn simple_kernel() {
        let v = findings(&kernel(HALF, LOOP));
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.code, "GS109");
        assert_eq!(x.routine, Routine::Gemm);
        assert_eq!(x.backend, Backend::CudaKernel);
        assert_eq!(x.dtype, Some(ElemType::F16));
        assert_eq!(x.loop_order.as_deref(), Some("wmma"));
        assert_eq!(x.dims.k.as_ref().unwrap().expr, "K");
        assert!(x.dims.m.is_none() && x.dims.n.is_none());
        let l: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.name.as_str(), l.major))
            .collect();
        assert_eq!(
            l,
            vec![
                ("C", "c", Major::Row),
                ("A", "a", Major::Row),
                ("B", "b", Major::Col)
            ]
        );
        assert!(already_on_tensor_cores(x.code));
        // The message claims no speed-up number.
        assert!(
            x.message.contains("no speed-up is claimed"),
            "{}",
            x.message
        );
        assert!(!x.message.contains("faster than"), "{}", x.message);
    }

    #[test]
    fn unknown_element_types_are_unknown() {
        let v = findings(&kernel(
            ["T, wmma::row_major", "T, wmma::col_major", "float"],
            LOOP,
        ));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].dtype, None);
        assert!(v[0].message.contains("unknown inputs"), "{}", v[0].message);
    }

    #[test]
    fn k_from_the_loops() {
        // Steps of one over fragment steps: K is the count times 16.
        let body = LOOP
            .replace("k < K; k += 16", "k < K / 16; k++")
            .replace("a + k", "a + k * 16")
            .replace("b + k", "b + k * 16");
        let v = findings(&kernel(HALF, &body));
        assert_eq!(v[0].dims.k.as_ref().unwrap().expr, "K/16*16");
        // A chunk loop around a loop over the chunk.
        let body = LOOP
            .replace(
                "for (int k = 0; k < K; k += 16) {",
                "for (int t = 0; t < KT; t += 4) { for (int s = 0; s < 4; s++) { int k = (t + s) * 16;",
            )
            .replace("wmma::mma_sync(fc, fa, fb, fc);\n}", "wmma::mma_sync(fc, fa, fb, fc);\n} }");
        let src = format!("#define KT 64\n{}", kernel(HALF, &body));
        let v = findings(&src);
        assert_eq!(v.len(), 1, "{v:#?}");
        let k = v[0].dims.k.as_ref().unwrap();
        assert_eq!((k.expr.as_str(), k.value), ("KT*16", Some(1024)));
    }

    #[test]
    fn near_misses_are_quiet() {
        // No loop: one tile.
        let one = "wmma::load_matrix_sync(fa, a, 16);\nwmma::load_matrix_sync(fb, b, 16);\n\
                   wmma::mma_sync(fc, fa, fb, fc);\nwmma::store_matrix_sync(c, fc, N, wmma::mem_row_major);";
        assert!(findings(&kernel(HALF, one)).is_empty());
        // Loads outside the loop: the same tiles again and again.
        let reps = "wmma::load_matrix_sync(fa, a, 16);\nwmma::load_matrix_sync(fb, b, 16);\n\
                    for (int r = 0; r < K; r++) wmma::mma_sync(fc, fa, fb, fc);\n\
                    wmma::store_matrix_sync(c, fc, N, wmma::mem_row_major);";
        assert!(findings(&kernel(HALF, reps)).is_empty());
        // The accumulator is reset inside the loop: one product per trip.
        let reset = LOOP.replace(
            "wmma::mma_sync(fc, fa, fb, fc);",
            "wmma::fill_fragment(fc, 0.0f); wmma::mma_sync(fc, fa, fb, fc);",
        );
        assert!(findings(&kernel(HALF, &reset)).is_empty());
        // Never stored.
        let unstored = LOOP.replace(
            "wmma::store_matrix_sync(c, fc, N, wmma::mem_row_major);",
            "",
        );
        assert!(findings(&kernel(HALF, &unstored)).is_empty());
        // Operands swapped in the call: a `matrix_b` fragment as A.
        let swapped = LOOP.replace("mma_sync(fc, fa, fb, fc)", "mma_sync(fc, fb, fa, fc)");
        assert!(findings(&kernel(HALF, &swapped)).is_empty());
        // No fragments at all: a function that happens to be named so.
        let src = "__global__ void g(float *c, int K) { for (int k = 0; k < K; k++) mma_sync(c, c, c, c); }";
        assert!(findings(src).is_empty());
        // Host code.
        let host = kernel(HALF, LOOP).replace("__global__ ", "");
        assert!(findings(&host).is_empty());
    }

    #[test]
    fn device_helper_is_reported() {
        let src = kernel(HALF, LOOP).replace("__global__", "__device__");
        let v = findings(&src);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].function.as_deref(), Some("g"));
    }

    #[test]
    fn malformed_code_does_not_panic() {
        for body in [
            "wmma::mma_sync();",
            "wmma::mma_sync(fc);",
            "for (;;) { wmma::mma_sync(fc, fa, fb, fc); }",
            "for (int k = 0; k < K; k += 0) { wmma::load_matrix_sync(fa); wmma::load_matrix_sync(fb); wmma::mma_sync(fc, fa, fb, fc); } wmma::store_matrix_sync();",
            "for (int k = 0; k < K; k += 16) { wmma::load_matrix_sync(fa, a, K); wmma::load_matrix_sync(fb, b, K); wmma::mma_sync(fc, fa, fb, fc); } wmma::store_matrix_sync(c, fc);",
            "for (int k = 0; k < K; k += 16) { wmma::load_matrix_sync(fa, a, K); wmma::load_matrix_sync(fb, b, K); wmma::mma_sync(fc[, fa, fb, fc); }",
        ] {
            let _ = findings(&kernel(HALF, body));
        }
        let _ = findings("wmma::fragment<wmma::matrix_a, 16, 16, 16, half");
        // Every prefix of a whole kernel (cut mid-token, mid-template).
        let src = kernel(HALF, LOOP);
        for end in (0..src.len()).step_by(5) {
            if let Some(prefix) = src.get(..end) {
                let _ = findings(prefix);
            }
        }
        let _ = findings("__global__ void g() { wmma::fragment<> f; wmma::mma_sync(f, f, f, f); }");
    }
}
