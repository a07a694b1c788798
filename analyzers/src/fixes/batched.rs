//! GS104: batched GEMMs and tensor contractions that are one GEMM per
//! iteration of their outermost loop.
//!
//! The outermost loop of the nest (the batch loop) is kept; what it
//! contains must be a plain rectangular GEMM once its variable is held
//! fixed (the same proof as a single GEMM, [`crate::fixes::prove`]), and
//! its variable must index the output so that every batch writes its own
//! matrix (proven from the declared shape or the per-batch stride).
//!
//! - C/C++: the inner i/j/k nest → one `cblas_sgemm`/`cblas_dgemm` per
//!   batch, at the per-batch offsets (`&A[b][0][0]`, `&A[b*M*K]`), with the
//!   order, transposes, leading dimensions, alpha and beta worked out as
//!   for a single GEMM ([`crate::fixes::cblas`]). The standard CBLAS
//!   interface has no batched GEMM (Debian 12's OpenBLAS 0.3.21 has none),
//!   so the batch stays a loop of calls. An operand without the batch index
//!   (`B[k][j]` shared by every batch) is passed unchanged to every call.
//! - Python (NumPy arrays): the whole nest → one `@`, which broadcasts over
//!   the leading batch axis (`C += A @ B`, `C[:nb, :m, :n] = A[:nb] @ B`);
//!   an output stored transposed is computed as `Bᵀ @ Aᵀ`.
//!
//! Refused, each with the reason: the batch loop not outermost, several
//! batch loops, a contraction over several indices (not one GEMM per
//! batch), the batch index missing from the output (the batches sum into
//! one matrix), batches whose outputs may overlap, anything else in the
//! batch loop, bounds that change with the batch, and whatever the single
//! GEMM proof refuses.

use crate::contraction::{Nest, Shape};
use crate::fixes::cblas::{self, Operand};
use crate::fixes::numpy;
use crate::fixes::{
    factor_text, find_stmt, indent_at, offset_of, printable, prove, read_after, Applicability,
    Beta, Fix, FixResult, NoFix, Proven, Replacement,
};
use crate::ir::{Access, Expr, File, Function, Lang, Poly, Stmt, StmtKind};

/// What the batch split proved: the batch loop, its variable, and the
/// per-batch GEMM.
struct Split<'s> {
    outer: &'s Stmt,
    var: String,
    p: Proven,
}

/// The fix for a GS104 nest.
pub fn fix(file: &File, text: &str, nest: &Nest<'_>) -> FixResult {
    if nest.shape != Shape::Batched {
        return Err(NoFix::new("not a batched GEMM"));
    }
    if nest.tiled || nest.has_thread_loops() {
        return Err(NoFix::new(
            "CUDA kernels are not rewritten in place (the kernel's launches would have to \
             become one batched cuBLAS call)",
        ));
    }
    let s = split(file, nest)?;
    match file.lang {
        Lang::Python => py_fix(text, nest, &s),
        _ => c_fix(file, text, nest, &s),
    }
}

fn split<'s>(file: &File, nest: &Nest<'s>) -> Result<Split<'s>, NoFix> {
    let first = nest
        .loops
        .first()
        .ok_or_else(|| NoFix::new("the nest has no loops"))?;
    let b = first.var.clone();
    let rest = &nest.loops[1..];
    let names = |role: char| -> Vec<String> {
        rest.iter()
            .filter(|l| l.role == role)
            .map(|l| format!("`{}`", l.var))
            .collect()
    };
    if first.role == 'k' {
        return Err(NoFix::new(format!(
            "the outermost loop over `{b}` does not index the output `{}`: every batch \
             sums into the same matrix (a reduction over the batch, one GEMM with K = \
             batch×K only where A and B store the batch next to k); not rewritten",
            nest.out.base
        )));
    }
    let batches = names('b');
    if !batches.is_empty() {
        return Err(NoFix::new(if first.role == 'b' {
            format!(
                "several batch loops (`{b}`, {}); merge them into one loop for a loop of \
                 GEMM calls",
                batches.join(", ")
            )
        } else {
            format!(
                "the batch loop over {} is not the outermost loop of the nest (loop order \
                 {}); a loop of GEMM calls needs the batch loop outside the matrix loops \
                 (move it outermost first)",
                batches.join(", "),
                nest.order_dashed()
            )
        }));
    }
    let ks = names('k');
    if ks.len() > 1 {
        return Err(NoFix::new(format!(
            "the nest contracts over several indices ({}): not one GEMM per iteration of \
             `{b}` (merge the contracted indices by hand where they are contiguous, or use \
             np.einsum / a tensor library)",
            ks.join(", ")
        )));
    }
    for (role, what) in [('i', "rows"), ('j', "columns")] {
        let vs = names(role);
        if vs.len() > 1 {
            return Err(NoFix::new(format!(
                "inside the loop over `{b}`, several loops ({}) index the output's {what}: \
                 merged dimensions are not rewritten",
                vs.join(", ")
            )));
        }
    }
    if names('i').is_empty() || names('j').is_empty() || ks.is_empty() {
        return Err(NoFix::new(format!(
            "the nest inside the loop over `{b}` is not one GEMM"
        )));
    }
    let outer = find_stmt(nest.func, nest.range)
        .ok_or_else(|| NoFix::new("the nest's outer loop was not found"))?;
    let StmtKind::Loop(l) = &outer.kind else {
        return Err(NoFix::new("the nest's outer loop was not found"));
    };
    if l.var != b {
        return Err(NoFix::new(format!(
            "the nest's outermost loop over `{}` is not one of its index loops (a blocked \
             or tiled nest)",
            l.var
        )));
    }
    let inner_stmt = match &l.body[..] {
        [one] if matches!(one.kind, StmtKind::Loop(_)) => one,
        body => {
            let other = body
                .iter()
                .find(|s| !matches!(s.kind, StmtKind::Loop(_)))
                .or(body.get(1));
            return Err(NoFix::new(format!(
                "the batch loop over `{b}` also contains other code{}; a loop of library \
                 calls would drop it",
                other.map_or(String::new(), |s| format!(" (line {})", s.span.start_line))
            )));
        }
    };
    if nest.func.kind != crate::ir::FnKind::Host && file.lang != Lang::Python {
        return Err(NoFix::new("only host code is rewritten"));
    }
    let mut inner = nest.clone();
    inner.shape = Shape::Gemm;
    inner.loops = rest.to_vec();
    inner.range = inner_stmt.span;
    let p = prove(&inner)?;
    for (v, e) in &p.extent {
        if e.mentions(&b) {
            return Err(NoFix::new(format!(
                "the bound `{e}` of the loop over `{v}` depends on the batch index `{b}` \
                 (the batches are not all the same shape)"
            )));
        }
    }
    if l.end.mentions(&nest.out.base) {
        return Err(NoFix::new(format!(
            "the batch loop's bound `{}` reads the output",
            l.end
        )));
    }
    if let Some(v) = read_after(nest.func, outer.span, std::slice::from_ref(&b)) {
        return Err(NoFix::new(format!(
            "`{v}` is read after the nest, which a library call would not set"
        )));
    }
    Ok(Split { outer, var: b, p })
}

/// True when the polynomial `d` is never negative where the nest writes
/// anything: zero, a non-negative number (constants known), or a sum of
/// non-negative multiples of the output's row and column counts (when
/// either is 0 or less, nothing is written at all).
fn non_negative(d: &Poly, file: &File, sizes: &[String]) -> bool {
    d.is_zero()
        || d.eval(&|s| file.const_value(s)).is_some_and(|v| v >= 0)
        || d.terms
            .iter()
            .all(|(m, c)| *c >= 0 && m.iter().all(|s| sizes.contains(s)))
}

/// The output access as one linear index (a flattened access as is; an
/// n-D array through its declared row lengths).
fn linear(f: &Function, a: &Access) -> Option<Poly> {
    if a.idx.len() == 1 {
        return Poly::from_expr(&a.idx[0]);
    }
    let shape = &f.vars.get(&a.base)?.shape;
    if shape.len() != a.idx.len() {
        return None;
    }
    let mut lin = Poly::default();
    for (pos, e) in a.idx.iter().enumerate() {
        let mut t = Poly::from_expr(e)?;
        for s in &shape[pos + 1..] {
            t = t.mul(&Poly::from_expr(s)?);
        }
        lin = lin.add(&t);
    }
    Some(lin)
}

/// Proves that distinct batches write distinct elements of the output.
fn distinct_outputs(
    file: &File,
    f: &Function,
    out: &Access,
    b: &str,
    batch_extent: Option<&Expr>,
    p: &Proven,
) -> Result<(), NoFix> {
    let name = &out.base;
    let (m, n) = (&p.m, p.n.as_deref().unwrap_or_default());
    // An n-D array whose batch index has a subscript of its own: the
    // original accesses stay inside the declared extents, so distinct
    // batches are distinct sub-arrays.
    let shape = f
        .vars
        .get(name)
        .map(|v| v.shape.clone())
        .unwrap_or_default();
    if out.idx.len() >= 2 && shape.len() == out.idx.len() {
        for e in &out.idx {
            if e.mentions(m) || e.mentions(n) || e.mentions(&p.k) {
                continue;
            }
            let c = Poly::from_expr(e).and_then(|q| q.coeff(b));
            if c.and_then(|c| c.as_const()).is_some_and(|c| c != 0) {
                return Ok(());
            }
        }
    }
    let why = |detail: String| {
        NoFix::new(format!(
            "the batches' outputs may overlap: {detail}; a loop of calls is offered only \
             where each batch writes its own matrix"
        ))
    };
    let lin = linear(f, out)
        .ok_or_else(|| why(format!("`{name}`'s index is not affine with a known shape")))?;
    let (Some(sb), Some(cr), Some(cc)) = (lin.coeff(b), lin.coeff(m), lin.coeff(n)) else {
        return Err(why(format!("`{name}`'s index is not affine")));
    };
    let ext = |v: &str| Poly::from_expr(&p.extent[v]);
    let (Some(em), Some(en)) = (ext(m), ext(n)) else {
        return Err(why("the loop bounds are not affine".into()));
    };
    let one = Poly::constant(1);
    // Elements one batch's matrix spans: (rows - 1) * ld + row length.
    let footprint = if cc == one {
        em.sub(&one).mul(&cr).add(&en)
    } else if cr == one {
        en.sub(&one).mul(&cc).add(&em)
    } else {
        return Err(why(format!("`{name}` has no unit-stride dimension")));
    };
    let sizes: Vec<String> = [&p.extent[m], &p.extent[n]]
        .iter()
        .filter_map(|e| match e {
            Expr::Var(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    if non_negative(&sb.sub(&footprint), file, &sizes)
        || non_negative(&sb.scale(-1).sub(&footprint), file, &sizes)
    {
        return Ok(());
    }
    // Interleaved: every batch's row fits between two rows of one matrix
    // (stride >= the row length, and all batches' rows within one ld).
    let (ld, row_len) = if cc == one { (&cr, &en) } else { (&cc, &em) };
    if let Some(nb) = batch_extent.and_then(Poly::from_expr) {
        if non_negative(&sb.sub(row_len), file, &sizes)
            && non_negative(&ld.sub(&nb.mul(&sb)), file, &sizes)
        {
            return Ok(());
        }
    }
    let detail = if sb.is_zero() {
        format!("`{b}` does not index `{name}`")
    } else {
        format!(
            "`{name}`'s per-batch stride `{}` is not proven to be at least one matrix \
             (`{}` elements)",
            sb.to_expr(),
            footprint.to_expr()
        )
    };
    Err(why(detail))
}

// ---------------------------------------------------------------------------
// C / C++

/// A BLAS operand of one batch: 1-D and 2-D accesses as for a single GEMM;
/// an n-D array (`A[b][i][k]`, `A[i][b][k]`) through its declared shape.
fn c_matrix(
    f: &Function,
    file: &File,
    a: &Access,
    row: &str,
    col: &str,
    p: &Proven,
    vars: &[String],
) -> Result<Operand, NoFix> {
    if a.idx.len() <= 2 {
        return cblas::matrix(f, file, a, row, col, &p.extent, vars);
    }
    let name = &a.base;
    if !printable(&Expr::Var(name.clone()), false) {
        return Err(NoFix::new(format!(
            "`{name}` is not a plain array name (a member or expression)"
        )));
    }
    let shape = f
        .vars
        .get(name)
        .map(|v| v.shape.clone())
        .unwrap_or_default();
    if shape.len() != a.idx.len() {
        return Err(NoFix::new(format!(
            "`{name}`'s rows are separate allocations (pointers to pointers or nested \
             vectors); BLAS needs one contiguous block with a leading dimension"
        )));
    }
    let count = |v: &str| a.idx.iter().filter(|e| e.mentions(v)).count();
    let pos = |v: &str| a.idx.iter().position(|e| e.mentions(v));
    let (Some(pr), Some(pc)) = (pos(row), pos(col)) else {
        return Err(NoFix::new(format!(
            "`{name}` is not indexed by both `{row}` and `{col}`"
        )));
    };
    if pr == pc || count(row) != 1 || count(col) != 1 {
        return Err(NoFix::new(format!(
            "`{name}` mixes `{row}` and `{col}` in one subscript"
        )));
    }
    let last = a.idx.len() - 1;
    let (q, qv, lv, col_major) = if pc == last {
        (pr, row, col, false)
    } else if pr == last {
        (pc, col, row, true)
    } else {
        return Err(NoFix::new(format!(
            "`{name}`'s last subscript is not a matrix index: no unit-stride dimension \
             for BLAS"
        )));
    };
    let mut subs = Vec::new();
    for (i, e) in a.idx.iter().enumerate() {
        let s = if i == q || i == last {
            let v = if i == q { qv } else { lv };
            offset_of(e, v, vars)
                .ok_or_else(|| NoFix::new(format!("`{name}` is not indexed as [{v} + offset]")))?
                .to_expr()
        } else {
            if vars.iter().any(|v| e.mentions(v)) {
                return Err(NoFix::new(format!(
                    "`{name}`'s subscript `{e}` changes inside the GEMM"
                )));
            }
            e.clone()
        };
        if !printable(&s, false) {
            return Err(NoFix::new(format!(
                "`{name}`'s subscript `{e}` cannot be printed"
            )));
        }
        subs.push(format!("[{s}]"));
    }
    let mut ld = Poly::constant(1);
    let mut ld_text = Vec::new();
    for s in &shape[q + 1..] {
        let sp = Poly::from_expr(s)
            .filter(|_| printable(s, false))
            .ok_or_else(|| {
                NoFix::new(format!(
                    "`{name}`'s extent `{s}` is not a printable integer"
                ))
            })?;
        ld = ld.mul(&sp);
        ld_text.push(factor_text(s));
    }
    let env = |n: &str| file.const_value(n);
    if let (Some(l), Some(e)) = (ld.eval(&env), p.extent[lv].eval(&env)) {
        if l < e.max(1) {
            return Err(NoFix::new(format!(
                "`{name}`'s rows overlap (stride {l} < {e} elements); BLAS needs ld >= the \
                 row length"
            )));
        }
    }
    Ok(Operand {
        ptr: format!("&{name}{}", subs.concat()),
        ld: ld_text.join(" * "),
        col_major,
    })
}

fn c_fix(file: &File, text: &str, nest: &Nest<'_>, s: &Split<'_>) -> FixResult {
    let p = &s.p;
    let f = nest.func;
    // The batch loop's trip count where it runs from 0 in steps of 1.
    let batch_extent = match &s.outer.kind {
        StmtKind::Loop(l) if l.start == Expr::Int(0) && l.step == Expr::Int(1) => Some(&l.end),
        _ => None,
    };
    distinct_outputs(file, f, &nest.out, &s.var, batch_extent, p)?;
    let n_var = p.n.clone().unwrap_or_default();
    let vars = vec![p.m.clone(), n_var.clone(), p.k.clone()];
    let (out, a, b) = (&nest.out, &nest.operands[0], &nest.operands[1]);
    let (letter, suffix) = cblas::routine_letter(f, &[&out.base, &a.base, &b.base])?;
    let alpha = cblas::scalar(&p.alpha, p.negate, suffix)?;
    let beta = match &p.beta {
        Beta::Zero => format!("0.0{suffix}"),
        Beta::One => format!("1.0{suffix}"),
        Beta::Scaled(fs) => cblas::scalar(fs, false, suffix)?,
    };
    let m = cblas::extent_text(p, &p.m)?;
    let n = cblas::extent_text(p, &n_var)?;
    let k = cblas::extent_text(p, &p.k)?;
    let c = c_matrix(f, file, out, &p.m, &n_var, p, &vars)?;
    let am = c_matrix(f, file, a, &p.m, &p.k, p, &vars)?;
    let bm = c_matrix(f, file, b, &p.k, &n_var, p, &vars)?;
    let order = cblas::order(&c);
    let tr = |o: &Operand| cblas::trans(o, &c);
    let call = format!(
        "cblas_{letter}gemm({order}, {}, {}, {m}, {n}, {k}, {alpha}, {}, {}, {}, {}, {beta}, \
         {}, {});",
        tr(&am),
        tr(&bm),
        am.ptr,
        am.ld,
        bm.ptr,
        bm.ld,
        c.ptr,
        c.ld
    );
    let mut edits = Vec::new();
    if let Some(inc) = cblas::include_edit(file, text, "cblas.h") {
        edits.push(inc);
    }
    edits.push(Replacement {
        start: p.outer.start_byte,
        end: p.outer.end_byte,
        new_text: call,
    });
    Ok(vec![Fix {
        title: format!(
            "Replace the loop nest inside the loop over `{}` with cblas_{letter}gemm (one \
             call per batch)",
            s.var
        ),
        edits,
        applicability: Applicability::Exact,
        assumes: vec![
            format!(
                "`{}` does not overlap `{}` or `{}` (BLAS reads the inputs while writing the \
                 output)",
                out.base, a.base, b.base
            ),
            "a loop of calls: CBLAS has no standard batched GEMM (Debian 12's OpenBLAS \
             0.3.21 has none)"
                .into(),
            "link with a CBLAS (-lopenblas); results differ in the last bits (summation order)"
                .into(),
        ],
    }])
}

// ---------------------------------------------------------------------------
// Python

/// One NumPy operand, sliced to what the loops read, with the batch axis
/// (if any) first; and whether its last two axes are (row, col) as given.
#[allow(clippy::too_many_arguments)]
fn py_operand(
    f: &Function,
    a: &Access,
    batch: &str,
    batch_end: &Expr,
    row: &str,
    col: &str,
    p: &Proven,
    vars: &[String],
    dtype_float: bool,
) -> Result<(String, bool, usize), NoFix> {
    let name = &a.base;
    if name.starts_with("__") || !printable(&Expr::Var(name.clone()), true) {
        return Err(NoFix::new(format!("`{name}` is not a plain name")));
    }
    let batched = a.idx.iter().any(|e| e.mentions(batch));
    let dims: Vec<&str> = if batched {
        vec![batch, row, col]
    } else {
        vec![row, col]
    };
    if a.idx.len() != dims.len() {
        return Err(NoFix::new(format!(
            "`{name}` is indexed with {} subscripts (flattened storage is not rewritten in \
             Python)",
            a.idx.len()
        )));
    }
    if batched && !a.idx[0].mentions(batch) {
        return Err(NoFix::new(format!(
            "`{name}`'s batch index `{batch}` is not its first subscript; np.matmul batches \
             over the leading axis"
        )));
    }
    let info = f.vars.get(name);
    let mut slices = Vec::new();
    let mut natural = true;
    for (pos, e) in a.idx.iter().enumerate() {
        let hits: Vec<&&str> = dims.iter().filter(|v| e.mentions(v)).collect();
        let [v] = hits[..] else {
            return Err(NoFix::new(format!(
                "`{name}`'s subscript `{e}` is not one loop index plus an offset"
            )));
        };
        if pos == a.idx.len() - 2 && *v != row {
            natural = false;
        }
        let off = offset_of(e, v, vars)
            .ok_or_else(|| NoFix::new(format!("`{name}` is not indexed as [{v} + offset]")))?;
        let ext = if *v == batch {
            batch_end
        } else {
            &p.extent[*v]
        };
        if !printable(ext, true) || !printable(&off.to_expr(), true) {
            return Err(NoFix::new(format!("the bound `{ext}` cannot be printed")));
        }
        let whole = off.is_zero() && numpy::covers(info.map(|i| &i.shape[..]), name, pos, ext);
        slices.push(if whole {
            ":".to_string()
        } else if off.is_zero() {
            format!(":{ext}")
        } else {
            let o = off.to_expr();
            format!("{o}:{} + {ext}", factor_text(&o))
        });
    }
    let ndarray = crate::fixes::is_ndarray(f, name);
    let base = if ndarray {
        name.clone()
    } else if dtype_float {
        format!("np.asarray({name}, dtype=float)")
    } else {
        format!("np.asarray({name})")
    };
    let s = if slices.iter().all(|s| s == ":") {
        base
    } else {
        format!("{base}[{}]", slices.join(", "))
    };
    Ok((s, natural, a.idx.len()))
}

/// `x` with its last two axes swapped.
fn swapped(x: &str, rank: usize) -> String {
    if rank == 2 {
        format!("{x}.T")
    } else {
        format!("{x}.swapaxes(-1, -2)")
    }
}

fn py_fix(text: &str, nest: &Nest<'_>, s: &Split<'_>) -> FixResult {
    let p = &s.p;
    let f = nest.func;
    let b = &s.var;
    let StmtKind::Loop(l) = &s.outer.kind else {
        return Err(NoFix::new("the batch loop was not found"));
    };
    if !matches!(l.start, Expr::Int(0)) || !matches!(l.step, Expr::Int(1)) {
        return Err(NoFix::new(format!(
            "the batch loop over `{b}` does not run from 0 in steps of 1 (one `@` covers a \
             slice of the batch)"
        )));
    }
    let (out, a, bm) = (&nest.out, &nest.operands[0], &nest.operands[1]);
    if out.base.starts_with("__comp") {
        return Err(NoFix::new("batched comprehensions are not rewritten"));
    }
    let is_nd = |x: &Access| crate::fixes::is_ndarray(f, &x.base);
    let lists = !is_nd(out);
    if lists && (is_nd(a) || is_nd(bm)) {
        return Err(NoFix::new(
            "the output is a list but an operand is a NumPy array; the result's type would \
             change",
        ));
    }
    let beta_fs: &[Expr] = match &p.beta {
        Beta::Scaled(fs) => fs,
        _ => &[],
    };
    for x in p.alpha.iter().chain(beta_fs) {
        if x.mentions(b) {
            return Err(NoFix::new(format!(
                "the scaling `{x}` changes with the batch index `{b}`"
            )));
        }
    }
    // Distinct batches write distinct outputs: the batch index is the
    // output's first subscript, `b + offset` (checked by `py_operand`), and
    // Python refuses indices past the end.
    if !out.idx.first().is_some_and(|e| e.mentions(b)) {
        return Err(NoFix::new(format!(
            "the output's first subscript is not the batch index `{b}`; np.matmul batches \
             over the leading axis"
        )));
    }
    let (_, only_ws) = indent_at(text, s.outer.span.start_byte);
    if !only_ws {
        return Err(NoFix::new("the nest does not start its own line"));
    }
    let n_var = p.n.clone().unwrap_or_default();
    let vars = vec![b.clone(), p.m.clone(), n_var.clone(), p.k.clone()];
    // Lists: the result's element type as the loop makes it (numpy.rs's
    // rule): an overwrite takes the accumulator's start (`0.0` → float), an
    // accumulation into fresh zeros takes theirs.
    let float_zero = matches!(p.zero, Some(Expr::Float(_)));
    let fresh = if lists {
        fresh_zeros3(f, text, nest, s, &l.end)
    } else {
        None
    };
    let float_result = lists
        && match (&p.beta, fresh) {
            (Beta::Zero, _) => float_zero,
            (_, Some((_, zero_float))) => zero_float || float_zero,
            _ => false,
        };
    let (c_s, c_nat, _) = py_operand(f, out, b, &l.end, &p.m, &n_var, p, &vars, false)?;
    let (a_s, a_nat, a_rank) = py_operand(f, a, b, &l.end, &p.m, &p.k, p, &vars, float_result)?;
    let (b_s, b_nat, b_rank) = py_operand(f, bm, b, &l.end, &p.k, &n_var, p, &vars, false)?;
    let (x, y) = if c_nat {
        let x = if a_nat { a_s } else { swapped(&a_s, a_rank) };
        let y = if b_nat { b_s } else { swapped(&b_s, b_rank) };
        (x, y)
    } else {
        // The output is stored transposed: Cᵀ = Bᵀ @ Aᵀ.
        let x = if b_nat { swapped(&b_s, b_rank) } else { b_s };
        let y = if a_nat { swapped(&a_s, a_rank) } else { a_s };
        (x, y)
    };
    let product = if lists {
        format!("np.matmul({x}, {y})")
    } else {
        format!("{x} @ {y}")
    };
    let alpha = numpy::scale_text(&p.alpha)?;
    let plain = alpha.is_empty() && !p.negate;
    let scaled = match (alpha.is_empty(), p.negate) {
        (true, false) => product.clone(),
        (true, true) => format!("-({product})"),
        (false, false) => format!("{alpha} * ({product})"),
        (false, true) => format!("-{alpha} * ({product})"),
    };
    let mut edits = Vec::new();
    if !numpy::imports_np(text) {
        edits.push(numpy::import_edit(text));
    }
    let (indent, _) = indent_at(text, s.outer.span.start_byte);
    let title;
    if !lists {
        // Assign into the array (never rebind the name): the caller's
        // array and its dtype stay.
        let target = if c_s == out.base {
            format!("{c_s}[...]")
        } else {
            c_s.clone()
        };
        let stmt = match &p.beta {
            Beta::Zero => format!("{target} = {scaled}"),
            Beta::One if p.negate && alpha.is_empty() => format!("{c_s} -= {product}"),
            Beta::One => format!("{c_s} += {scaled}"),
            Beta::Scaled(fs) => {
                format!("{target} = {scaled} + {} * {c_s}", numpy::scale_text(fs)?)
            }
        };
        edits.push(Replacement {
            start: s.outer.span.start_byte,
            end: s.outer.span.end_byte,
            new_text: stmt,
        });
        title = "Replace the batched loop nest with one `@` (NumPy matmul broadcasts over \
                 the batch)";
    } else {
        let rows = numpy::tolist(&scaled, plain);
        if let Some((start, _)) = fresh {
            // The fresh zero list right before the nest goes with it.
            edits.push(Replacement {
                start,
                end: s.outer.span.end_byte,
                new_text: format!("{} = {rows}", out.base),
            });
            title = "Replace the list and the batched loop nest with np.matmul(...).tolist()";
        } else {
            // In place, row by row: other references to the rows see the
            // result as before.
            let at = |e: &Expr, var: &str, it: &str| -> Result<String, NoFix> {
                let off = offset_of(e, var, &vars).ok_or_else(|| {
                    NoFix::new(format!("the output is not indexed as [{var} + offset]"))
                })?;
                if !printable(&off.to_expr(), true) {
                    return Err(NoFix::new("the output's offset cannot be printed"));
                }
                Ok(if off.is_zero() {
                    it.to_string()
                } else {
                    format!("{} + {it}", factor_text(&off.to_expr()))
                })
            };
            let (v1, v2) = if c_nat {
                (&p.m, &n_var)
            } else {
                (&n_var, &p.m)
            };
            let bi = at(&out.idx[0], b, "_gs_b")?;
            let ri = at(&out.idx[1], v1, "_gs_i")?;
            let off = offset_of(&out.idx[2], v2, &vars)
                .ok_or_else(|| NoFix::new("the output is not indexed as [j + offset]"))?;
            let ext = p.extent[v2.as_str()].to_string();
            let col = if off.is_zero() {
                format!(":{ext}")
            } else {
                let o = off.to_expr();
                format!("{o}:{} + {ext}", factor_text(&o))
            };
            let target = format!("{}[{bi}][{ri}][{col}]", out.base);
            let value = match &p.beta {
                Beta::Zero => "_gs_row".to_string(),
                Beta::One => {
                    format!("[_gs_c + _gs_p for _gs_c, _gs_p in zip({target}, _gs_row)]")
                }
                Beta::Scaled(fs) => format!(
                    "[{} * _gs_c + _gs_p for _gs_c, _gs_p in zip({target}, _gs_row)]",
                    numpy::scale_text(fs)?
                ),
            };
            edits.push(Replacement {
                start: s.outer.span.start_byte,
                end: s.outer.span.end_byte,
                new_text: format!(
                    "for _gs_b, _gs_m in enumerate({rows}):\n{indent}    for _gs_i, _gs_row in \
                     enumerate(_gs_m):\n{indent}        {target} = {value}"
                ),
            });
            title = "Replace the batched loop nest with np.matmul(...).tolist(), assigned in \
                     place row by row";
        }
    }
    edits.sort_by_key(|e| e.start);
    Ok(vec![Fix {
        title: title.into(),
        edits,
        applicability: Applicability::Exact,
        assumes: vec![
            "the operands are NumPy arrays or rectangular nested lists".into(),
            "results differ in the last bits (NumPy sums in a different order)".into(),
        ],
    }])
}

/// The statement right before the nest, if it is a fresh zero list with
/// exactly the output's extents (`C = [[[0.0] * N for _ in range(M)] for _
/// in range(NB)]`): its start byte and whether the zero is a float.
fn fresh_zeros3(
    f: &Function,
    text: &str,
    nest: &Nest<'_>,
    s: &Split<'_>,
    batch_end: &Expr,
) -> Option<(usize, bool)> {
    let out = &nest.out;
    let p = &s.p;
    if out.idx.len() != 3 {
        return None;
    }
    let mut ext = Vec::new();
    for e in &out.idx {
        let Expr::Var(v) = e else { return None };
        let x = if *v == s.var {
            batch_end
        } else {
            p.extent.get(v)?
        };
        ext.push(x.to_string().replace(' ', ""));
    }
    let prev = numpy::prev_stmt(&f.body, s.outer.span.start_byte)?;
    let StmtKind::Assign {
        target: Expr::Var(v),
        op: crate::ir::AssignOp::Set,
        ..
    } = &prev.kind
    else {
        return None;
    };
    if *v != out.base
        || !text[prev.span.end_byte..s.outer.span.start_byte]
            .trim()
            .is_empty()
    {
        return None;
    }
    let src: String = text[prev.span.start_byte..prev.span.end_byte]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let (e0, e1, e2) = (&ext[0], &ext[1], &ext[2]);
    for (z, is_float) in [("0.0", true), ("0.", true), ("0", false)] {
        let forms = [
            format!("{v}=[[[{z}]*{e2}for_inrange({e1})]for_inrange({e0})]"),
            format!("{v}=[[[{z}for_inrange({e2})]for_inrange({e1})]for_inrange({e0})]"),
        ];
        if forms.contains(&src) {
            return Some((prev.span.start_byte, is_float));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::fixes::{analyze_with_fixes, apply_edits, FixResult};
    use crate::{BuildContext, Lang, NoIncludes};

    fn fixes(text: &str) -> FixResult {
        let v = analyze_with_fixes(Lang::C, "a.c", text, &NoIncludes, &BuildContext::default());
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].finding.code, "GS104");
        v[0].fixes.clone()
    }

    fn nest(index_c: &str) -> String {
        format!(
            "#define NB 4\n#define M 8\n#define N 6\n#define K 5\n\
             void f(const float *A, const float *B, float *C) {{\n\
             for (int b = 0; b < NB; b++)\n  for (int i = 0; i < M; i++)\n    \
             for (int j = 0; j < N; j++)\n      for (int k = 0; k < K; k++)\n        \
             C[{index_c}] += A[b*M*K + i*K + k] * B[b*K*N + k*N + j];\n}}\n"
        )
    }

    #[test]
    fn padded_batch_stride_is_proven_with_the_defined_sizes() {
        let src = nest("b*(M*N + 3) + i*N + j");
        let f = fixes(&src).unwrap_or_else(|e| panic!("{}", e.reason));
        let out = apply_edits(&src, &f[0].edits).unwrap();
        assert!(
            out.contains("for (int b = 0; b < NB; b++)\n  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, &A[K*M*b], K, &B[K*N*b], N, 1.0f, &C[M*N*b+3*b], N);"),
            "{out}"
        );
    }

    #[test]
    fn a_batch_stride_one_short_of_a_matrix_is_refused() {
        let e = fixes(&nest("b*(M*N - 1) + i*N + j")).unwrap_err();
        assert!(e.reason.contains("outputs may overlap"), "{}", e.reason);
    }

    #[test]
    fn two_batch_loops_are_refused() {
        let src = "void f(int P, int Q, int M, int N, int K, float A[P][Q][M][K], float B[P][Q][K][N], float C[P][Q][M][N]) {\n\
                   for (int p = 0; p < P; p++)\n for (int q = 0; q < Q; q++)\n  for (int i = 0; i < M; i++)\n   \
                   for (int j = 0; j < N; j++)\n    for (int k = 0; k < K; k++)\n     \
                   C[p][q][i][j] += A[p][q][i][k] * B[p][q][k][j];\n}\n";
        let e = fixes(src).unwrap_err();
        assert!(
            e.reason.contains("several batch loops (`p`, `q`)"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn the_batch_index_read_after_the_nest_is_refused() {
        let src = "int f(int nb, int n, const float *A, const float *B, float *C) {\n\
                   int b;\n  for (b = 0; b < nb; b++)\n    for (int i = 0; i < n; i++)\n      \
                   for (int j = 0; j < n; j++)\n        for (int k = 0; k < n; k++)\n          \
                   C[b*n*n + i*n + j] += A[b*n*n + i*n + k] * B[b*n*n + k*n + j];\n  return b;\n}\n";
        let e = fixes(src).unwrap_err();
        assert!(
            e.reason.contains("`b` is read after the nest"),
            "{}",
            e.reason
        );
    }
}
