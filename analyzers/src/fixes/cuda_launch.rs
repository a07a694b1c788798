//! CUDA matmul kernels (GS102 naive, GS103 shared-memory tiled) → every
//! launch of the kernel in the same file (`k<<<grid, block[, smem[,
//! stream]]>>>(args);`, also `k<T><<<...>>>`) replaced with one
//! `cublasGemmEx` call, plus `#include <cublas_v2.h>` and a small helper
//! block (a file-static handle created on first use and set to the launch's
//! stream; a `float`/`double` → cuBLAS type trait for templated kernels)
//! inserted once after the includes. The kernel definition goes with its
//! launches when nothing else in the file names it; otherwise it stays.
//!
//! The GEMM is read off the kernel's analysed nest: the output's and the
//! operands' flattened accesses give each operand's offset, leading
//! dimension and row/column-major layout; the thread-loop bounds (the
//! kernel's `row < M && col < N` guard) and the reduction loop give M, N,
//! K; the accumulator's store gives alpha and beta. The kernel's
//! parameters in those expressions are replaced by the launch's argument
//! expressions, position by position. Row-major output is computed as
//! `Cᵀ = Bᵀ·Aᵀ` (cuBLAS is column-major: B first, m = N, n = M); an operand
//! stored the other way round from the output is passed transposed.
//!
//! What cannot be seen from the kernel is stated in `assumes`: the launch
//! grid covers the whole M×N output, and the arrays do not overlap.

use crate::contraction::{is_zero, same_access, Nest};
use crate::fixes::{
    factor_text, indent_at, printable, prove, store_parts, Applicability, Beta, Fix, FixResult,
    NoFix, Replacement,
};
use crate::ir::{
    Access, AssignOp, BinOp, ElemType, Expr, File, FnKind, Function, LoopKind, Poly, Stmt, StmtKind,
};

const TF32_COST: &str = "TF32 tensor cores: inputs rounded to a 10-bit mantissa, relative \
                         error about 1e-3 instead of 1e-7";

/// The GEMM a kernel computes, in the kernel's own names.
struct Gemm {
    m: Expr,
    n: Expr,
    k: Expr,
    alpha: Vec<Expr>,
    negate: bool,
    beta: Beta,
    c: Operand,
    a: Operand,
    b: Operand,
    tiled_block: Option<i64>,
}

/// A flattened operand: base pointer parameter, element offset, leading
/// dimension, and whether it is stored column-major.
struct Operand {
    base: String,
    off: Poly,
    ld: Poly,
    col_major: bool,
}

/// A thread loop with no bounds guard: its end is what the launch covers
/// (`gridDim.y * 16`, or unknown), not a size the kernel is told.
fn unguarded(end: &Expr) -> bool {
    matches!(end, Expr::Other(_)) || end.vars().iter().any(|v| v.starts_with("gridDim."))
}

/// The fix for a GS102/GS103 finding: the kernel's launches in this file.
pub fn fix(file: &File, text: &str, nest: &Nest<'_>) -> FixResult {
    let kernel = nest.func;
    if kernel.kind != FnKind::CudaKernel {
        return Err(NoFix::new("the nest is not in a __global__ kernel"));
    }
    let g = if nest.tiled {
        tiled(file, nest)?
    } else {
        naive(nest)?
    };
    only_writes_output(kernel, &g.c.base)?;
    let elem = elem_type(kernel, &[&g.c.base, &g.a.base, &g.b.base])?;
    let launches = find_launches(file, text, &kernel.name)?;
    if launches.is_empty() {
        return Err(NoFix::new(format!(
            "`{}` has no launch in this file (none is left, or the kernel is launched from \
             another file: replace that launch); a launch is what becomes the cuBLAS call, \
             the kernel definition is kept",
            kernel.name
        )));
    }
    let symbols_ok = |e: &Expr, what: &str| -> Result<(), NoFix> {
        for v in e.vars() {
            let param = kernel.params.contains(&v) && !kernel.is_array(&v);
            if !param && !file.consts.contains_key(&v) {
                return Err(NoFix::new(format!(
                    "the {what} `{e}` uses `{v}`, which is computed inside the kernel (not \
                     a parameter or a file constant)"
                )));
            }
        }
        if !printable(e, false) {
            return Err(NoFix::new(format!(
                "the {what} `{e}` cannot be printed as C"
            )));
        }
        Ok(())
    };
    for (e, what) in [(&g.m, "M bound"), (&g.n, "N bound"), (&g.k, "K bound")] {
        symbols_ok(e, what)?;
    }
    for o in [&g.c, &g.a, &g.b] {
        symbols_ok(&o.off.to_expr(), "offset")?;
        symbols_ok(&o.ld.to_expr(), "leading dimension")?;
    }
    for f in g.alpha.iter().chain(match &g.beta {
        Beta::Scaled(s) => s.iter(),
        _ => [].iter(),
    }) {
        symbols_ok(f, "scale factor")?;
    }

    // Two alternatives for float, one for double.
    let mut variants: Vec<(bool, Applicability)> = Vec::new();
    match &elem {
        Elem::F32 | Elem::Generic(_) => {
            variants.push((true, Applicability::ChangesPrecision));
            variants.push((false, Applicability::Exact));
        }
        Elem::F64 => variants.push((false, Applicability::Exact)),
    }
    let (helper, type_trait) = helper_edits(file, text);
    // Once its launches are rewritten, a kernel nothing else in the file
    // names is dead code: it goes with them (else `check` would go on
    // reporting it). Were it launched from another file, the link fails
    // loudly; it never computes a wrong result.
    let delete = unused_after(text, &kernel.name, launches.len())
        .then(|| definition_span(text, kernel.span.start_byte, kernel.span.end_byte));
    let mut out = Vec::new();
    for (fast, applicability) in variants {
        let mut edits: Vec<Replacement> = helper.iter().cloned().collect();
        if let Some((start, end)) = delete {
            edits.push(Replacement {
                start,
                end,
                new_text: String::new(),
            });
        }
        for l in &launches {
            let ty = match (&elem, &l.targ) {
                (Elem::Generic(p), Some(t)) if p == &kernel.template_params[0] => {
                    match file.elem_type(t) {
                        Some(ElemType::F32) => Elem::F32,
                        Some(ElemType::F64) => Elem::F64,
                        Some(other) => {
                            return Err(NoFix::new(format!(
                                "the launch at line {} instantiates the kernel for {} \
                                 (cublasGemmEx is rewritten for float and double)",
                                l.line,
                                other.short()
                            )))
                        }
                        None => Elem::Generic(t.clone()),
                    }
                }
                (Elem::Generic(_), _) => {
                    return Err(NoFix::new(format!(
                        "the launch at line {} does not name the kernel's element type \
                         (`{}<float><<<...>>>`)",
                        l.line, kernel.name
                    )))
                }
                (e, _) => e.clone(),
            };
            let call = call_text(&g, &ty, fast, kernel, l)?;
            let (indent, _) = indent_at(text, l.start);
            let body = format!(
                "{{\n{indent}    {}\n{indent}    {}\n{indent}}}",
                call.0, call.1
            );
            edits.push(Replacement {
                start: l.start,
                end: l.end,
                new_text: body,
            });
        }
        if let Some(t) = &type_trait {
            if edits
                .iter()
                .any(|e| e.new_text.contains("gemmscope_cuda_type<"))
            {
                // After the handle helper (edits at one offset keep their order).
                let pos = usize::from(helper.is_some());
                edits.insert(pos, t.clone());
            }
        }
        let (what, cost) = match (&elem, fast) {
            (Elem::F64, _) => ("cublasGemmEx (FP64)".to_string(), String::new()),
            (_, true) => (
                "cublasGemmEx with TF32 tensor cores (CUBLAS_COMPUTE_32F_FAST_TF32)".into(),
                format!("; {TF32_COST}"),
            ),
            (_, false) => (
                "cublasGemmEx in exact FP32 (CUBLAS_COMPUTE_32F, CUDA cores)".into(),
                String::new(),
            ),
        };
        let n = launches.len();
        let title = format!(
            "Replace {} of `{}` with {what}{cost} ({})",
            if n == 1 {
                "the launch".to_string()
            } else {
                format!("the {n} launches")
            },
            kernel.name,
            if delete.is_some() {
                "and delete the kernel, used nowhere else in this file"
            } else {
                "the kernel definition stays: the file names it elsewhere"
            }
        );
        let mut assumes = vec![
            format!(
                "each launch's grid covers the whole {}×{} output (a thread for every row < {} \
                 and column < {}); cuBLAS always computes all of it",
                g.m, g.n, g.m, g.n
            ),
            format!(
                "`{}` does not overlap `{}` or `{}`",
                g.c.base, g.a.base, g.b.base
            ),
            "link with -lcublas; the call is asynchronous on the launch's stream like the \
             kernel; results differ in the last bits (summation order)"
                .into(),
        ];
        if delete.is_some() {
            assumes.push(format!(
                "`{}` is not launched from another file (its definition is deleted; such a \
                 launch would fail to link)",
                kernel.name
            ));
        }
        if let Some(t) = g.tiled_block {
            assumes.push(format!(
                "the launch's block is {t}×{t} threads (the kernel indexes its tiles with \
                 the tile size, not blockDim)"
            ));
        }
        out.push(Fix {
            title,
            edits,
            applicability,
            assumes,
        });
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq)]
enum Elem {
    F32,
    F64,
    /// A template parameter (as written at the launch, or the kernel's).
    Generic(String),
}

fn elem_type(kernel: &Function, names: &[&str]) -> Result<Elem, NoFix> {
    let mut ty: Option<ElemType> = None;
    for n in names {
        let t = kernel
            .vars
            .get(*n)
            .and_then(|v| v.elem.clone())
            .ok_or_else(|| NoFix::new(format!("`{n}`'s element type is not known")))?;
        match &ty {
            None => ty = Some(t),
            Some(a) if *a == t => {}
            Some(a) => {
                return Err(NoFix::new(format!(
                    "the operands mix element types ({} and {}); cublasGemmEx is rewritten \
                     for one type",
                    a.short(),
                    t.short()
                )))
            }
        }
    }
    match ty {
        Some(ElemType::F32) => Ok(Elem::F32),
        Some(ElemType::F64) => Ok(Elem::F64),
        Some(ElemType::Named(n))
            if kernel.template_params.len() == 1 && kernel.template_params[0] == n =>
        {
            Ok(Elem::Generic(n))
        }
        Some(t) => Err(NoFix::new(format!(
            "element type {} is not rewritten (float → CUDA_R_32F, double → CUDA_R_64F)",
            t.short()
        ))),
        None => Err(NoFix::new("no operands")),
    }
}

// ---------------------------------------------------------------------------
// The kernel side: what GEMM it computes.

fn naive(nest: &Nest<'_>) -> Result<Gemm, NoFix> {
    // The structure proof of a host nest applies to the thread loops as
    // loops over the output: the guard bounds them.
    let mut serial = nest.clone();
    for l in &mut serial.loops {
        l.kind = LoopKind::Serial;
    }
    let p = prove(&serial)?;
    let n_var = p.n.clone().ok_or_else(|| NoFix::new("no N loop"))?;
    let ext = |v: &str| -> Result<Expr, NoFix> {
        let e = p.extent[v].clone();
        if unguarded(&e) {
            return Err(NoFix::new(format!(
                "`{v}` has no bounds guard (`if ({v} < ...)`): the output's extent is the \
                 launch grid, which gemmscope does not evaluate"
            )));
        }
        Ok(e)
    };
    let (m, n, k) = (ext(&p.m)?, ext(&n_var)?, ext(&p.k)?);
    let vars = [p.m.clone(), n_var.clone(), p.k.clone()];
    let c = operand(&nest.out, &p.m, &n_var, &vars, None)?;
    let a = operand(&nest.operands[0], &p.m, &p.k, &vars, None)?;
    let b = operand(&nest.operands[1], &p.k, &n_var, &vars, None)?;
    Ok(Gemm {
        m,
        n,
        k,
        alpha: p.alpha,
        negate: p.negate,
        beta: p.beta,
        c,
        a,
        b,
        tiled_block: None,
    })
}

/// A flattened access `base[r*sr + c*sc + off]` as an operand with logical
/// (row, col); `tile` = (tile loop variable, tile size) folds `t*TILE + k`
/// into the column (or row) index `k`.
fn operand(
    a: &Access,
    row: &str,
    col: &str,
    vars: &[String],
    tile: Option<(&str, i64)>,
) -> Result<Operand, NoFix> {
    let name = &a.base;
    if a.idx.len() != 1 {
        return Err(NoFix::new(format!(
            "`{name}` is not a flattened pointer access"
        )));
    }
    let mut p = Poly::from_expr(&a.idx[0])
        .ok_or_else(|| NoFix::new(format!("`{name}`'s index is not affine")))?;
    let (cr, cc) = match (p.coeff(row), p.coeff(col)) {
        (Some(r), Some(c)) => (r, c),
        _ => return Err(NoFix::new(format!("`{name}`'s index is not affine"))),
    };
    if let Some((t, size)) = tile {
        let ct = p
            .coeff(t)
            .ok_or_else(|| NoFix::new(format!("`{name}`'s index is not affine")))?;
        let kc = if tile_role_is(row, vars) { &cr } else { &cc };
        if ct != kc.scale(size) {
            return Err(NoFix::new(format!(
                "`{name}`'s tile index is not `{t}*{size} + k`"
            )));
        }
        p = p.sub(&ct.mul(&Poly::symbol(t)));
    }
    let off = p
        .sub(&cr.mul(&Poly::symbol(row)))
        .sub(&cc.mul(&Poly::symbol(col)));
    let all: Vec<String> = vars
        .iter()
        .cloned()
        .chain(tile.map(|t| t.0.to_string()))
        .collect();
    if [&off, &cr, &cc]
        .iter()
        .any(|x| x.symbols().iter().any(|s| all.contains(s)))
    {
        return Err(NoFix::new(format!(
            "`{name}`'s index is not affine in the loops"
        )));
    }
    let one = Poly::constant(1);
    let (ld, col_major) = if cc == one && cr != one {
        (cr, false)
    } else if cr == one && cc != one {
        (cc, true)
    } else {
        return Err(NoFix::new(format!(
            "`{name}` has no unit-stride dimension (strides {cr} and {cc})"
        )));
    };
    if ld.is_zero() || ld.as_const().is_some_and(|c| c < 1) {
        return Err(NoFix::new(format!("`{name}` is read as a vector")));
    }
    Ok(Operand {
        base: name.clone(),
        off,
        ld,
        col_major,
    })
}

/// True when `row` is the reduction variable (the last of `vars`).
fn tile_role_is(row: &str, vars: &[String]) -> bool {
    vars.last().is_some_and(|k| k == row)
}

/// A tiled kernel: two thread loops over the output, then (in the inner
/// one's body) the accumulator, the tile loop and the store.
fn tiled(file: &File, nest: &Nest<'_>) -> Result<Gemm, NoFix> {
    let f = nest.func;
    let role_vars = |c: char| -> Vec<&str> {
        nest.loops
            .iter()
            .filter(|l| l.role == c)
            .map(|l| l.var.as_str())
            .collect()
    };
    let (is, js, ks) = (role_vars('i'), role_vars('j'), role_vars('k'));
    if is.len() != 1 || js.len() != 1 || ks.len() != 2 {
        return Err(NoFix::new(
            "the tiled kernel is not one output element per thread with one tile loop and \
             one in-tile loop",
        ));
    }
    let (iv, jv, tv, kv) = (is[0], js[0], ks[0], ks[1]);
    let outer = crate::fixes::find_stmt(f, nest.range)
        .ok_or_else(|| NoFix::new("the kernel's thread loops were not found"))?;
    let mut ext = std::collections::HashMap::new();
    let mut s = outer;
    for depth in 0..2 {
        let StmtKind::Loop(l) = &s.kind else {
            return Err(NoFix::new("the thread loops are not directly nested"));
        };
        if !matches!(l.kind, LoopKind::CudaThread { .. }) {
            return Err(NoFix::new("the output loops are not both thread indices"));
        }
        if unguarded(&l.end) {
            return Err(NoFix::new(format!(
                "`{}` has no bounds guard (`if ({} < ...)`): the output's extent is the \
                 launch grid, which gemmscope does not evaluate",
                l.var, l.var
            )));
        }
        if !matches!(l.start, Expr::Int(0)) || !matches!(l.step, Expr::Int(1)) {
            return Err(NoFix::new(format!("`{}` does not start at 0", l.var)));
        }
        ext.insert(l.var.clone(), l.end.clone());
        if depth == 1 {
            return tiled_body(file, nest, &l.body, &ext, [iv, jv, tv, kv]);
        }
        if l.body.len() != 1 {
            return Err(NoFix::new("the thread loops are not directly nested"));
        }
        s = &l.body[0];
    }
    Err(NoFix::new("the thread loops were not found"))
}

/// `e` with the file's integer constants (`#define TILE 16`) replaced by
/// their values.
fn resolve(file: &File, e: &Expr) -> Expr {
    e.clone().map(&mut |x| match x {
        Expr::Var(ref v) => file.const_value(v).map_or(x.clone(), Expr::Int),
        other => other,
    })
}

fn resolve_access(file: &File, a: &Access) -> Access {
    Access {
        base: a.base.clone(),
        idx: a.idx.iter().map(|e| resolve(file, e)).collect(),
    }
}

#[allow(clippy::too_many_arguments)]
fn tiled_body(
    file: &File,
    nest: &Nest<'_>,
    body: &[Stmt],
    ext: &std::collections::HashMap<String, Expr>,
    [iv, jv, tv, kv]: [&str; 4],
) -> Result<Gemm, NoFix> {
    let f = nest.func;
    let is_array = |b: &str| f.is_array(b);
    let access = |e: &Expr| Access::of(e, &is_array);
    let (m, n) = match (ext.get(iv), ext.get(jv)) {
        (Some(m), Some(n)) => (m.clone(), n.clone()),
        _ => {
            return Err(NoFix::new(
                "the thread loops are not the output's rows and columns",
            ))
        }
    };
    let mut acc: Option<String> = None;
    let mut tile_loop = None;
    let mut store: Option<(AssignOp, Expr)> = None;
    for s in body {
        match &s.kind {
            StmtKind::Decl {
                name, init, dims, ..
            } if dims.is_empty() => {
                if tile_loop.is_none() && acc.is_none() && init.as_ref().is_some_and(is_zero) {
                    acc = Some(name.clone());
                } else if init.as_ref().is_some_and(has_call) {
                    return Err(NoFix::new(format!(
                        "the kernel declares `{name}` with a call (line {})",
                        s.span.start_line
                    )));
                }
            }
            StmtKind::Loop(l) if l.var == tv && tile_loop.is_none() => tile_loop = Some(l),
            StmtKind::Assign { target, op, value }
                if tile_loop.is_some()
                    && store.is_none()
                    && access(target).is_some_and(|a| same_access(&a, &nest.out)) =>
            {
                store = Some((*op, value.clone()));
            }
            StmtKind::Barrier => {}
            _ => {
                return Err(NoFix::new(format!(
                    "the kernel also contains other code (line {}); cublasGemmEx would drop it",
                    s.span.start_line
                )))
            }
        }
    }
    let acc = acc.ok_or_else(|| NoFix::new("the accumulator does not start at zero"))?;
    let tl = tile_loop.ok_or_else(|| NoFix::new("the tile loop was not found"))?;
    let (op, value) = store.ok_or_else(|| NoFix::new("the accumulator is not stored"))?;
    if !matches!(tl.start, Expr::Int(0)) || !matches!(tl.step, Expr::Int(1)) {
        return Err(NoFix::new(
            "the tile loop does not count tiles from 0 in steps of 1",
        ));
    }
    // The in-tile loop and the tile size.
    let mut inner = None;
    let mut loads: Vec<&Stmt> = Vec::new();
    for s in &tl.body {
        match &s.kind {
            StmtKind::Loop(l) if l.var == kv && inner.is_none() => inner = Some(l),
            StmtKind::Decl { dims, init, .. }
                if dims.is_empty() && !init.as_ref().is_some_and(has_call) => {}
            StmtKind::Barrier => {}
            StmtKind::Assign { .. } | StmtKind::If { .. } => loads.push(s),
            _ => {
                return Err(NoFix::new(format!(
                    "the tile loop also contains other code (line {})",
                    s.span.start_line
                )))
            }
        }
    }
    let inner = inner.ok_or_else(|| NoFix::new("the in-tile loop was not found"))?;
    let tile = file
        .eval(&inner.end)
        .filter(|t| {
            *t > 0 && matches!(inner.start, Expr::Int(0)) && matches!(inner.step, Expr::Int(1))
        })
        .ok_or_else(|| {
            NoFix::new("the in-tile loop does not run from 0 to a constant tile size")
        })?;
    if inner.body.len() != 1
        || !matches!(&inner.body[0].kind, StmtKind::Assign { target: Expr::Var(v), op: AssignOp::Add | AssignOp::Sub, .. } if *v == acc)
    {
        return Err(NoFix::new(
            "the in-tile loop does more than accumulate the tile product",
        ));
    }
    let mac_neg = matches!(
        &inner.body[0].kind,
        StmtKind::Assign {
            op: AssignOp::Sub,
            ..
        }
    );
    // The reduction's extent: ceil(K / TILE) tiles with zero-filled loads
    // past K, or K / TILE tiles where K is a known multiple of TILE.
    let (k, needs_guard) = tile_extent(&resolve(file, &tl.end), tile)?;
    for s in &loads {
        check_load(file, nest, s, tv, tile, &k, needs_guard)?;
    }
    let vars = [iv.to_string(), jv.to_string(), kv.to_string()];
    let c = operand(&nest.out, iv, jv, &vars, None)?;
    let (a_acc, b_acc) = (
        resolve_access(file, &nest.operands[0]),
        resolve_access(file, &nest.operands[1]),
    );
    let a = operand(&a_acc, iv, kv, &vars, Some((tv, tile)))?;
    let b = operand(&b_acc, kv, jv, &vars, Some((tv, tile)))?;
    // alpha and beta from the store.
    let mut alpha = nest.factors.clone();
    let mut negate = nest.term_negated ^ mac_neg;
    let beta = match op {
        AssignOp::Add => Beta::One,
        AssignOp::Sub => {
            negate = !negate;
            Beta::One
        }
        AssignOp::Set => {
            let (al, neg, beta) = store_parts(&value, &acc, &nest.out, &access)?;
            alpha.extend(al);
            negate ^= neg;
            beta.map_or(Beta::Zero, Beta::Scaled)
        }
        _ => return Err(NoFix::new("the output is stored with an unusual operator")),
    };
    Ok(Gemm {
        m,
        n,
        k,
        alpha,
        negate,
        beta,
        c,
        a,
        b,
        tiled_block: Some(tile),
    })
}

fn has_call(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        if matches!(x, Expr::Call { func, .. } if func != "select" && func != "min" && func != "max")
        {
            found = true;
        }
    });
    found
}

/// The tile loop's bound → (K, whether loads must be zero past K).
fn tile_extent(end: &Expr, tile: i64) -> Result<(Expr, bool), NoFix> {
    let Expr::Binary(BinOp::Div, num, den) = end else {
        return Err(NoFix::new(format!(
            "the tile loop runs to `{end}`, not `(K + TILE - 1) / TILE`"
        )));
    };
    if den.eval(&|_| None) != Some(tile) {
        return Err(NoFix::new(format!(
            "the tile loop divides by `{den}`, not the tile size {tile}"
        )));
    }
    let p = Poly::from_expr(num)
        .ok_or_else(|| NoFix::new(format!("the tile loop's bound `{end}` is not affine")))?;
    if let Some(kc) = p.as_const() {
        // Every tile is whole when the count divides exactly.
        return Ok(if kc % tile == 0 {
            (Expr::Int(kc), false)
        } else {
            (Expr::Int(kc - (tile - 1)), true)
        });
    }
    let c = p.without(&p.symbols().into_iter().collect::<Vec<_>>());
    if c.as_const() == Some(tile - 1) {
        return Ok((p.sub(&c).to_expr(), true));
    }
    Err(NoFix::new(format!(
        "the tile loop runs `{end}` times: the last K mod {tile} elements are skipped \
         unless K is a multiple of the tile; round up with `(K + {tile} - 1) / {tile}` \
         and zero-fill the loads past K"
    )))
}

/// A shared-tile load must read the global operand, zero past K when the
/// tile count rounds up.
fn check_load(
    file: &File,
    nest: &Nest<'_>,
    s: &Stmt,
    tv: &str,
    tile: i64,
    k: &Expr,
    needs_guard: bool,
) -> Result<(), NoFix> {
    let f = nest.func;
    let line = s.span.start_line;
    let shared = |t: &Expr| -> bool {
        let is_array = |b: &str| f.is_array(b);
        Access::of(t, &is_array).is_some_and(|a| f.vars.get(&a.base).is_some_and(|v| v.shared))
    };
    let kp = Poly::from_expr(k);
    // A condition that holds only below K for the tile index.
    let bounds = |cond: &Expr, negated: bool| -> bool {
        let mut ok = false;
        let mut parts = Vec::new();
        split_bool(
            cond,
            if negated { BinOp::Or } else { BinOp::And },
            &mut parts,
        );
        for p in parts {
            let (l, r) = match (p, negated) {
                (Expr::Binary(BinOp::Lt, l, r), false) | (Expr::Binary(BinOp::Ge, l, r), true) => {
                    (l, r)
                }
                _ => continue,
            };
            let lp = Poly::from_expr(&resolve(file, l));
            if Poly::from_expr(&resolve(file, r)) == kp
                && lp.and_then(|x| x.coeff(tv)) == Some(Poly::constant(tile))
            {
                ok = true;
            }
        }
        ok
    };
    match &s.kind {
        StmtKind::Assign {
            target,
            op: AssignOp::Set,
            value,
        } if shared(target) => match value {
            Expr::Call { func, args, .. } if func == "select" && args.len() == 3 => {
                let ok = (is_zero(&args[2]) && bounds(&args[0], false))
                    || (is_zero(&args[1]) && bounds(&args[0], true));
                if ok || !needs_guard {
                    return Ok(());
                }
            }
            _ if !needs_guard => return Ok(()),
            _ => {}
        },
        StmtKind::If { cond, then, els } => {
            let one_load = |b: &[Stmt], zero: bool| {
                b.len() == 1
                    && matches!(&b[0].kind, StmtKind::Assign { target, op: AssignOp::Set, value }
                        if shared(target) && (is_zero(value) == zero))
            };
            if one_load(then, false) && one_load(els, true) && (bounds(cond, false) || !needs_guard)
            {
                return Ok(());
            }
            if !needs_guard && one_load(then, false) && els.is_empty() {
                return Err(NoFix::new(format!(
                    "the tile load at line {line} leaves the tile unset outside its guard"
                )));
            }
        }
        _ => {
            return Err(NoFix::new(format!(
                "the tile loop also writes something other than a shared tile (line {line})"
            )))
        }
    }
    Err(NoFix::new(format!(
        "the tile load at line {line} is not zero past K (`... < {k} ? load : 0`); the last \
         partial tile would add values outside the matrix"
    )))
}

fn split_bool<'e>(e: &'e Expr, op: BinOp, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Binary(o, a, b) if *o == op => {
            split_bool(a, op, out);
            split_bool(b, op, out);
        }
        other => out.push(other),
    }
}

/// The kernel writes no pointer parameter other than the output, and
/// calls nothing for its effect.
fn only_writes_output(kernel: &Function, out: &str) -> Result<(), NoFix> {
    let is_array = |b: &str| kernel.is_array(b);
    let mut err = None;
    kernel.walk(&mut |s| {
        if err.is_some() {
            return;
        }
        match &s.kind {
            StmtKind::Assign { target, .. } => {
                let base = Access::of(target, &is_array)
                    .map(|a| a.base)
                    .or(match target {
                        Expr::Var(v) => Some(v.clone()),
                        _ => None,
                    });
                if let Some(b) = base {
                    if b != out && kernel.params.contains(&b) && kernel.is_array(&b) {
                        err = Some(format!(
                            "the kernel also writes its parameter `{b}` (line {}); \
                             cublasGemmEx writes only the output",
                            s.span.start_line
                        ));
                    }
                }
            }
            StmtKind::Expr(Expr::Call { func, .. }) => {
                err = Some(format!(
                    "the kernel also calls `{func}` (line {}); cublasGemmEx would drop that",
                    s.span.start_line
                ));
            }
            StmtKind::Expr(_) => {
                err = Some(format!(
                    "the kernel has a statement with an effect (line {})",
                    s.span.start_line
                ));
            }
            _ => {}
        }
    });
    match err {
        Some(e) => Err(NoFix::new(e)),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// The launch side.

/// One launch `name[<targ>]<<<config>>>(args);`.
struct Launch {
    start: usize,
    /// After the `;`.
    end: usize,
    line: usize,
    targ: Option<String>,
    stream: Option<String>,
    args: Vec<String>,
}

/// Comments and string/char literals blanked out (same length, newlines kept).
fn mask(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            for o in out.iter_mut().take(end).skip(i) {
                if *o != b'\n' {
                    *o = b' ';
                }
            }
            i = end;
        } else if b[i] == b'"' || b[i] == b'\'' {
            let q = b[i];
            i += 1;
            while i < b.len() && b[i] != q && b[i] != b'\n' {
                if b[i] == b'\\' {
                    out[i] = b' ';
                    i += 1;
                }
                if i < b.len() {
                    out[i] = b' ';
                }
                i += 1;
            }
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

/// True when `name` occurs in the code (comments and strings aside) only
/// in its definition and its `launches` launches.
fn unused_after(text: &str, name: &str, launches: usize) -> bool {
    let m = mask(text);
    let nb = name.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i + nb.len() <= m.len() {
        if &m[i..i + nb.len()] == nb
            && (i == 0 || !is_ident(m[i - 1]))
            && m.get(i + nb.len()).is_none_or(|c| !is_ident(*c))
        {
            count += 1;
            i += nb.len();
        } else {
            i += 1;
        }
    }
    count == launches + 1
}

/// The bytes to delete for the definition `start..end`: from the start of
/// its line (or of a `template <...>` line before it) to the end of its
/// last line, with one blank line after it.
fn definition_span(text: &str, start: usize, end: usize) -> (usize, usize) {
    let m = mask(text);
    let mut s = start;
    // `template <typename T>` before the definition.
    let before = text[..s].trim_end();
    if before.ends_with('>') {
        let mut depth = 0;
        let mut j = before.len();
        while j > 0 {
            j -= 1;
            match m[j] {
                b'>' => depth += 1,
                b'<' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        if text[..j].trim_end().ends_with("template") {
            s = text[..j].trim_end().len() - "template".len();
        }
    }
    let line_start = text[..s].rfind('\n').map_or(0, |x| x + 1);
    if text[line_start..s].trim().is_empty() {
        s = line_start;
    }
    let mut e = end;
    if let Some(nl) = text[e..].find('\n') {
        if text[e..e + nl].trim().is_empty() {
            e += nl + 1;
            // and one blank line after it
            if let Some(nl2) = text[e..].find('\n') {
                if text[e..e + nl2].trim().is_empty() {
                    e += nl2 + 1;
                }
            }
        }
    }
    (s, e)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn skip_ws(m: &[u8], mut i: usize) -> usize {
    while i < m.len() && m[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Splits `m[from..to]` at top-level commas; trimmed pieces of `text`.
fn split_top(text: &str, m: &[u8], from: usize, to: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut s = from;
    for i in from..to {
        match m[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                out.push(text[s..i].trim().to_string());
                s = i + 1;
            }
            _ => {}
        }
    }
    let last = text[s..to].trim();
    if !last.is_empty() || !out.is_empty() {
        out.push(last.to_string());
    }
    out
}

/// Finds the matching close of the bracket at `open`.
fn matching(m: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, &c) in m.iter().enumerate().skip(open) {
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn line_at(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

/// Every launch of `name` in the file (an error for one that cannot be
/// rewritten).
fn find_launches(file: &File, text: &str, name: &str) -> Result<Vec<Launch>, NoFix> {
    let m = mask(text);
    let nb = name.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + nb.len() <= m.len() {
        if &m[i..i + nb.len()] != nb
            || (i > 0 && is_ident(m[i - 1]))
            || m.get(i + nb.len()).is_some_and(|c| is_ident(*c))
        {
            i += 1;
            continue;
        }
        let start = i;
        let mut q = skip_ws(&m, i + nb.len());
        i += nb.len();
        // Template arguments.
        let mut targ = None;
        if m.get(q) == Some(&b'<') && !m[q..].starts_with(b"<<<") {
            let mut depth = 0;
            let mut e = q;
            while e < m.len() {
                match m[e] {
                    b'<' => depth += 1,
                    b'>' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b';' | b'{' | b'}' => break,
                    _ => {}
                }
                e += 1;
            }
            if e >= m.len() || m[e] != b'>' {
                continue;
            }
            targ = Some(text[q + 1..e].trim().to_string());
            q = skip_ws(&m, e + 1);
        }
        if !m[q..].starts_with(b"<<<") {
            continue;
        }
        let line = line_at(text, start);
        // Inside a macro: the line or a continued one starts with `#`.
        let mut ls = text[..start].rfind('\n').map_or(0, |x| x + 1);
        loop {
            if text[ls..].trim_start().starts_with('#') {
                return Err(NoFix::new(format!(
                    "the launch at line {line} is inside a macro; expand it by hand first"
                )));
            }
            if ls == 0 || !text[..ls - 1].trim_end_matches(['\r']).ends_with('\\') {
                break;
            }
            ls = text[..ls - 1].rfind('\n').map_or(0, |x| x + 1);
        }
        let cfg_start = q + 3;
        let Some(cfg_len) = find_sub(&m[cfg_start..], b">>>") else {
            return Err(NoFix::new(format!(
                "the launch at line {line} has no `>>>`"
            )));
        };
        let cfg_end = cfg_start + cfg_len;
        let cfg = split_top(text, &m, cfg_start, cfg_end);
        let p = skip_ws(&m, cfg_end + 3);
        if m.get(p) != Some(&b'(') {
            return Err(NoFix::new(format!(
                "the launch at line {line} has no arguments"
            )));
        }
        let close = matching(&m, p)
            .ok_or_else(|| NoFix::new(format!("the launch at line {line} is not closed")))?;
        let args = split_top(text, &m, p + 1, close);
        let semi = skip_ws(&m, close + 1);
        if m.get(semi) != Some(&b';') {
            return Err(NoFix::new(format!(
                "the launch at line {line} is part of a larger expression; only a launch \
                 statement `k<<<...>>>(...);` is replaced"
            )));
        }
        if file.functions.iter().any(|f| {
            matches!(f.kind, FnKind::CudaKernel | FnKind::CudaDevice)
                && f.span.start_byte <= start
                && start < f.span.end_byte
        }) {
            return Err(NoFix::new(format!(
                "the launch at line {line} is in device code (dynamic parallelism); \
                 cublasGemmEx is called from the host"
            )));
        }
        if !(2..=4).contains(&cfg.len()) {
            return Err(NoFix::new(format!(
                "the launch at line {line} does not have 2 to 4 configuration arguments"
            )));
        }
        for e in cfg.iter().take(3).chain(args.iter()) {
            if let Some(why) = side_effect(e) {
                return Err(NoFix::new(format!(
                    "the launch at line {line} has an argument with a side effect (`{e}`: \
                     {why}); the cuBLAS call uses each argument once or several times"
                )));
            }
        }
        let stream = cfg.get(3).cloned();
        out.push(Launch {
            start,
            end: semi + 1,
            line,
            targ,
            stream,
            args,
        });
        i = semi + 1;
    }
    Ok(out)
}

fn find_sub(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Why an argument expression might have a side effect, if it might.
fn side_effect(e: &str) -> Option<&'static str> {
    if e.contains("++") || e.contains("--") {
        return Some("an increment");
    }
    let b = e.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'=' {
            let prev = if i > 0 { b[i - 1] } else { b' ' };
            let next = b.get(i + 1).copied().unwrap_or(b' ');
            if !matches!(prev, b'=' | b'!' | b'<' | b'>') && next != b'=' {
                return Some("an assignment");
            }
        }
        if c == b'(' {
            // A call: an identifier right before the parenthesis.
            let head = e[..i].trim_end();
            let id: String = head
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
                .chars()
                .rev()
                .collect();
            if !id.is_empty()
                && !matches!(id.as_str(), "dim3" | "sizeof")
                && !id.chars().next().is_some_and(|c| c.is_ascii_digit())
            {
                return Some("a call");
            }
        }
    }
    None
}

/// True for an argument that needs no parentheses inside an expression.
fn atomic(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn paren(s: &str) -> String {
    if atomic(s) {
        s.to_string()
    } else {
        format!("({s})")
    }
}

/// The kernel expression `e` with each parameter replaced by the launch's
/// argument.
fn at_launch(e: &Expr, kernel: &Function, l: &Launch) -> Result<String, NoFix> {
    if l.args.len() != kernel.params.len() {
        return Err(NoFix::new(format!(
            "the launch at line {} passes {} arguments to {} parameters",
            l.line,
            l.args.len(),
            kernel.params.len()
        )));
    }
    let mapped = e.clone().map(&mut |x| match x {
        Expr::Var(v) => match kernel.params.iter().position(|p| *p == v) {
            Some(i) => Expr::Var(paren(&l.args[i])),
            None => Expr::Var(v),
        },
        other => other,
    });
    Ok(mapped.to_string())
}

fn ptr_at_launch(o: &Operand, kernel: &Function, l: &Launch) -> Result<String, NoFix> {
    let base = at_launch(&Expr::Var(o.base.clone()), kernel, l)?;
    if o.off.is_zero() {
        return Ok(base);
    }
    Ok(format!(
        "{} + {}",
        paren(&base),
        factor_text(&Expr::Var(at_launch(&o.off.to_expr(), kernel, l)?))
    ))
}

/// (the scalar declaration, the cublasGemmEx call) for one launch.
fn call_text(
    g: &Gemm,
    ty: &Elem,
    fast: bool,
    kernel: &Function,
    l: &Launch,
) -> Result<(String, String), NoFix> {
    let (scalar, data, compute, one, zero) = match ty {
        Elem::F32 => (
            "float".to_string(),
            "CUDA_R_32F".to_string(),
            if fast {
                "CUBLAS_COMPUTE_32F_FAST_TF32"
            } else {
                "CUBLAS_COMPUTE_32F"
            }
            .to_string(),
            "1.0f".to_string(),
            "0.0f".to_string(),
        ),
        Elem::F64 => (
            "double".into(),
            "CUDA_R_64F".into(),
            "CUBLAS_COMPUTE_64F".into(),
            "1.0".into(),
            "0.0".into(),
        ),
        Elem::Generic(t) => (
            t.clone(),
            format!("gemmscope_cuda_type<{t}>::data"),
            format!(
                "gemmscope_cuda_type<{t}>::{}",
                if fast { "fast" } else { "exact" }
            ),
            format!("{t}(1)"),
            format!("{t}(0)"),
        ),
    };
    let scale = |fs: &[Expr], neg: bool| -> Result<String, NoFix> {
        let core = if fs.is_empty() {
            one.clone()
        } else {
            fs.iter()
                .map(|f| at_launch(f, kernel, l).map(|s| factor_text(&Expr::Var(paren(&s)))))
                .collect::<Result<Vec<_>, _>>()?
                .join(" * ")
        };
        Ok(if neg { format!("-({core})") } else { core })
    };
    let alpha = scale(&g.alpha, g.negate)?;
    let beta = match &g.beta {
        Beta::Zero => zero.clone(),
        Beta::One => one.clone(),
        Beta::Scaled(fs) => scale(fs, false)?,
    };
    let (m, n, k) = (
        at_launch(&g.m, kernel, l)?,
        at_launch(&g.n, kernel, l)?,
        at_launch(&g.k, kernel, l)?,
    );
    let ld = |o: &Operand| at_launch(&o.ld.to_expr(), kernel, l);
    let op = |o: &Operand| {
        if o.col_major != g.c.col_major {
            "CUBLAS_OP_T"
        } else {
            "CUBLAS_OP_N"
        }
    };
    // Column-major C: C = op(A)·op(B). Row-major C: Cᵀ = op(B)ᵀ·op(A)ᵀ, i.e.
    // the same call with the operands swapped and m/n exchanged.
    let (first, second, rows, cols) = if g.c.col_major {
        (&g.a, &g.b, &m, &n)
    } else {
        (&g.b, &g.a, &n, &m)
    };
    let stream = l.stream.clone().unwrap_or_else(|| "0".into());
    let decl = format!("const {scalar} gemmscope_alpha = {alpha}, gemmscope_beta = {beta};");
    let call = format!(
        "cublasGemmEx(gemmscope_cublas({stream}), {}, {}, {rows}, {cols}, {k}, &gemmscope_alpha, \
         {}, {data}, {}, {}, {data}, {}, &gemmscope_beta, {}, {data}, {}, {compute}, \
         CUBLAS_GEMM_DEFAULT);",
        op(first),
        op(second),
        ptr_at_launch(first, kernel, l)?,
        ld(first)?,
        ptr_at_launch(second, kernel, l)?,
        ld(second)?,
        ptr_at_launch(&g.c, kernel, l)?,
        ld(&g.c)?,
    );
    Ok((decl, call))
}

/// `#include <cublas_v2.h>` and the helpers, once, after the last include.
/// The edits that insert the handle helper (with `#include
/// <cublas_v2.h>`) and the element-type trait after the last `#include`,
/// each `None` where the file has it already. Both insert at one place;
/// identical edits of several fixes count once when applied.
fn helper_edits(file: &File, text: &str) -> (Option<Replacement>, Option<Replacement>) {
    let at = after_includes(text);
    let trait_edit = (!text.contains(TRAIT_MARK)).then(|| Replacement {
        start: at,
        end: at,
        new_text: TRAIT.to_string(),
    });
    (helper_edit(file, text, at), trait_edit)
}

fn after_includes(text: &str) -> usize {
    let mut at = 0;
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        off += line.len();
        let t = line.trim_start();
        if t.starts_with("#include") || t.starts_with("# include") {
            at = off;
        }
    }
    at
}

fn helper_edit(file: &File, text: &str, at: usize) -> Option<Replacement> {
    if text.contains(HELPER_MARK) {
        return None;
    }
    let mut new_text = String::new();
    if at > 0 && !text[..at].ends_with('\n') {
        new_text.push('\n');
    }
    if !file.imports.iter().any(|i| i == "cublas_v2.h") {
        new_text.push_str("#include <cublas_v2.h>\n");
    }
    new_text.push_str(HELPER);
    Some(Replacement {
        start: at,
        end: at,
        new_text,
    })
}

const HELPER_MARK: &str = "static cublasHandle_t gemmscope_cublas(cudaStream_t stream)";

/// The handle helper the rewritten launches use.
const HELPER: &str = "
// gemmscope: cuBLAS helper for the kernel launches replaced by cublasGemmEx.
// One handle for the file, created on first use; each call sets its stream.
static cublasHandle_t gemmscope_cublas(cudaStream_t stream)
{
    static cublasHandle_t handle = nullptr;
    if (handle == nullptr)
        cublasCreate(&handle);
    cublasSetStream(handle, stream);
    return handle;
}
";

const TRAIT_MARK: &str = "struct gemmscope_cuda_type";

/// The element-type trait, inserted only for launches of a templated
/// kernel with a template parameter (`k<T><<<...>>>`).
const TRAIT: &str = "
// gemmscope: cuBLAS data and compute types of a kernel's element type.
template <typename T> struct gemmscope_cuda_type;
template <> struct gemmscope_cuda_type<float> {
    static constexpr cudaDataType data = CUDA_R_32F;
    static constexpr cublasComputeType_t exact = CUBLAS_COMPUTE_32F;
    static constexpr cublasComputeType_t fast = CUBLAS_COMPUTE_32F_FAST_TF32;
};
template <> struct gemmscope_cuda_type<double> {
    static constexpr cudaDataType data = CUDA_R_64F;
    static constexpr cublasComputeType_t exact = CUBLAS_COMPUTE_64F;
    static constexpr cublasComputeType_t fast = CUBLAS_COMPUTE_64F;
};
";
