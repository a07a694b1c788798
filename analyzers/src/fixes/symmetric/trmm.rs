//! TRMM: B = alpha·op(A)·B (or B·op(A)) in place, A triangular.

use super::*;

pub(super) fn trmm(mut cx: Cx<'_, '_>, ls: &[Leaf]) -> Result<Rewrite, NoFix> {
    let nest = cx.nest;
    let out = nest.out.clone();
    let (i, j) = (role(nest, 'i')?, role(nest, 'j')?);
    let k = role(nest, 'k')?;
    let acc = cx.accumulator(ls)?;
    let parts = classify(&cx, ls, &acc)?;
    let (nm, term) = &parts.mac;
    let ml = &ls[*nm];
    if acc.is_some() && (parts.init.is_none() || parts.store.is_none()) {
        return Err(NoFix::new(
            "the accumulator is not set and stored once per element of B",
        ));
    }
    // Which read is B: the other operand is the triangular matrix.
    let (ta, tb) = if term.ops[1].base == out.base {
        (&term.ops[0], &term.ops[1])
    } else {
        (&term.ops[1], &term.ops[0])
    };
    if ta.base == out.base || tb.base != out.base {
        return Err(NoFix::new(
            "the product does not read B once and the triangular matrix once",
        ));
    }
    // Left: B(i,j) += A(i,k)·B(k,j) (k replaces i); Right: B(i,k)·A(k,j).
    let (side, t) = side_of(tb, &i, &j)
        .ok_or_else(|| NoFix::new("B is not read along one of the output's dimensions"))?;
    let r = Roles {
        i: &i,
        j: &j,
        k: &k,
        t: &t,
    };
    let (strict, t_down) = reduction(&mut cx, ls, ml, &r)?;
    let (unit, mut alpha, neg) = match &acc {
        Some(a) => through_accumulator(&cx, ls, &parts, a, &out, &r, strict)?,
        None => in_place(ls, &parts, &r, strict)?,
    };
    if let Some((_, fs)) = &parts.post {
        alpha.extend(fs.iter().cloned());
    }
    let shape = Call {
        side,
        t_down,
        unit,
        neg,
    };
    let (call, letter, names) = call(&cx, &out, ta, tb, &alpha, &shape, &r)?;
    Ok((
        vec![call],
        format!("Replace the loop nest with cblas_{letter}trmm"),
        names,
        acc,
    ))
}

/// The loop variables of a TRMM nest: the output's `i` and `j`, the
/// reduction `k`, and `t`, the one of `i`/`j` that `k` replaces.
struct Roles<'r> {
    i: &'r str,
    j: &'r str,
    k: &'r str,
    t: &'r str,
}

/// The statements of a TRMM nest by what they do (leaf indices).
struct Parts {
    /// The product, into B or into the accumulator.
    mac: (usize, Term),
    /// The accumulator's start, and whether it starts from B[i][j].
    init: Option<(usize, bool)>,
    /// The accumulator's store into B.
    store: Option<(usize, AssignOp, Expr)>,
    /// A scaling of B after the product.
    post: Option<(usize, Vec<Expr>)>,
}

/// Classifies the statements: the product (into B or an accumulator), the
/// accumulator's start and store, a scaling of B afterwards.
fn classify(cx: &Cx<'_, '_>, ls: &[Leaf], acc: &Option<String>) -> Result<Parts, NoFix> {
    let mut mac: Option<(usize, Term)> = None;
    let mut init: Option<(usize, bool)> = None;
    let mut store: Option<(usize, AssignOp, Expr)> = None;
    let mut post: Option<(usize, Vec<Expr>)> = None;
    for (n, l) in ls.iter().enumerate() {
        let is_acc = |v: &String| Some(v) == acc.as_ref();
        match &l.stmt.kind {
            StmtKind::Decl {
                name, init: None, ..
            } if is_acc(name) => {}
            StmtKind::Decl {
                name,
                init: Some(e),
                ..
            }
            | StmtKind::Assign {
                target: Expr::Var(name),
                op: AssignOp::Set,
                value: e,
            } if is_acc(name) && init.is_none() && mac.is_none() => {
                if is_zero(e) {
                    init = Some((n, false));
                } else if cx.is_out(e) {
                    init = Some((n, true));
                } else {
                    return Err(NoFix::new(format!(
                        "the accumulator `{name}` starts at `{e}`, neither 0 nor the \
                         output's element"
                    )));
                }
            }
            StmtKind::Assign { target, op, value } => {
                let acc_t = matches!(target, Expr::Var(v) if is_acc(v));
                let out_t = cx.is_out(target);
                let m_acc = acc.as_ref().is_some_and(|a| value.mentions(a));
                if (acc_t || (out_t && !m_acc && post.is_none()))
                    && *op == AssignOp::Add
                    && mac.is_none()
                {
                    if out_t && acc.is_some() {
                        return Err(NoFix::new(
                            "the nest accumulates both into the output and into a scalar",
                        ));
                    }
                    let ts = cx.terms(value, false, None)?;
                    if ts.len() != 1 {
                        return Err(NoFix::new(
                            "the statement sums several products; TRMM computes one",
                        ));
                    }
                    mac = Some((n, ts[0].clone()));
                } else if out_t && m_acc && store.is_none() {
                    store = Some((n, *op, value.clone()));
                } else if out_t
                    && mac.is_some()
                    && post.is_none()
                    && matches!(op, AssignOp::Set | AssignOp::Mul)
                {
                    let fs = match cx.pre_of(*op, value) {
                        Some(Pre::Scale(fs)) => fs,
                        _ => {
                            return Err(NoFix::new(format!(
                                "the output is set to `{value}` after the product (line {}); \
                                 only a scaling (alpha) is kept",
                                l.line()
                            )))
                        }
                    };
                    post = Some((n, fs));
                } else if out_t && mac.is_none() {
                    return Err(NoFix::new(format!(
                        "the output is written before the product (line {}); TRMM reads \
                         the original B",
                        l.line()
                    )));
                } else {
                    return Err(NoFix::new(format!(
                        "the nest also assigns `{target}` (line {}); a library call would \
                         drop that",
                        l.line()
                    )));
                }
            }
            StmtKind::Decl { name, .. } => {
                return Err(NoFix::new(format!(
                    "the nest also declares `{name}` (line {}); a library call would drop \
                     that",
                    l.line()
                )))
            }
            _ => unreachable!("leaves are assignments and declarations"),
        }
    }
    let mac = mac.ok_or_else(|| NoFix::new("the multiply-accumulate was not found"))?;
    Ok(Parts {
        mac,
        init,
        store,
        post,
    })
}

/// Checks the loops (`i` and `j` over 0..extent everywhere, `k` inside the
/// `t` loop over the rows not yet overwritten) and returns whether the
/// reduction skips the diagonal (`strict`) and whether `t` descends.
fn reduction(
    cx: &mut Cx<'_, '_>,
    ls: &[Leaf],
    ml: &Leaf,
    r: &Roles<'_>,
) -> Result<(bool, bool), NoFix> {
    let (i, j, k, t) = (r.i, r.j, r.k, r.t);
    // Loops: i and j over 0..ext everywhere; k inside the `t` loop.
    cx.output_extents(ls, [i, j])?;
    let (Some(pt), Some(pk)) = (ml.pos(t), ml.pos(k)) else {
        return Err(NoFix::new("the product is not inside the nest's loops"));
    };
    if ml.pos(i).is_none() || ml.pos(j).is_none() || ml.loops.len() != 3 {
        return Err(NoFix::new(
            "the product is not inside exactly the three loops",
        ));
    }
    if pk < pt {
        return Err(NoFix::new(format!(
            "the loop over `{k}` encloses the loop over `{t}`; only the order where each \
             row of B is finished before the rows after it are read is proven"
        )));
    }
    let kl = ml.loops[pk];
    let n = cx.ext[t].clone();
    cx.ext.insert(k.to_string(), n.clone());
    // In place, row `t` may read only rows not yet overwritten: those after
    // it when `t` ascends, before it when it descends.
    let t_down = down(ml.loops[pt]);
    let (strict, incl) = if t_down {
        (
            is_zero(&kl.start) && is_var_plus(&kl.end, t, 0),
            is_zero(&kl.start) && is_var_plus(&kl.end, t, 1),
        )
    } else {
        (
            is_var_plus(&kl.start, t, 1) && same_poly(&kl.end, &n),
            is_var_plus(&kl.start, t, 0) && same_poly(&kl.end, &n),
        )
    };
    if !strict && !incl {
        let (dir, ok) = if t_down {
            ("descending", format!("from 0 up to `{t}` or `{t} + 1`"))
        } else {
            ("ascending", format!("from `{t}` or `{t} + 1` up to `{n}`"))
        };
        return Err(NoFix::new(format!(
            "the loop over `{k}` runs from `{}` to `{}`: in place with `{t}` {dir}, only `{k}` \
             {ok} reads rows not yet overwritten",
            kl.start, kl.end
        )));
    }
    Ok((strict, t_down))
}

/// True if `l` runs in exactly the output's loops.
fn out_loops(l: &Leaf, r: &Roles<'_>) -> bool {
    l.runs_in([r.i, r.j])
}

/// True if `b` comes after `a` within each element of the output.
fn after(a: &Leaf, b: &Leaf, r: &Roles<'_>) -> bool {
    before(a, b) && shared(a, b).iter().all(|l| l.var == r.i || l.var == r.j)
}

/// (unit diagonal, alpha, negated) of a nest that sums into an accumulator:
/// order start → product → store → scaling, per element of B, and
/// B_new = post * (sa * (kept_inside*B + fac*sum) + kept_outside*B), `fac`
/// the product's own factors; TRMM is alpha*(B + sum) (unit, k > t) or
/// alpha*sum over k >= t (non-unit).
fn through_accumulator(
    cx: &Cx<'_, '_>,
    ls: &[Leaf],
    parts: &Parts,
    a: &str,
    out: &Access,
    r: &Roles<'_>,
    strict: bool,
) -> Result<(bool, Vec<Expr>, bool), NoFix> {
    let (nm, term) = &parts.mac;
    let (nm, ml) = (*nm, &ls[*nm]);
    let fac_one = key(&term.factors).is_empty() && !term.neg;
    let post_leaf = parts.post.as_ref().map(|(np, _)| &ls[*np]);
    let (ni, kept_inside) = parts
        .init
        .ok_or_else(|| NoFix::new("the accumulator has no initialisation"))?;
    let (ns, op, value) = parts
        .store
        .clone()
        .ok_or_else(|| NoFix::new("the accumulator is never stored into B"))?;
    let (li, lst) = (&ls[ni], &ls[ns]);
    if !out_loops(li, r)
        || shared(li, lst).len() != li.loops.len()
        || lst.loops.len() != li.loops.len()
        || shared(li, ml).len() != li.loops.len()
        || !before(li, ml)
        || !before(ml, lst)
    {
        return Err(NoFix::new(format!(
            "the accumulator `{a}` is not set, accumulated and stored once per element of B"
        )));
    }
    for (n2, l) in ls.iter().enumerate() {
        if ![ni, nm, ns].contains(&n2) && l.stmt.exprs().iter().any(|e| e.mentions(a)) {
            return Err(NoFix::new(format!(
                "`{a}` is also used on line {}",
                l.line()
            )));
        }
    }
    if post_leaf.is_some_and(|p| !after(lst, p, r) || !out_loops(p, r)) {
        return Err(NoFix::new(
            "the scaling of B does not come after each element's store",
        ));
    }
    let (sa, sneg, kept_outside) = match op {
        AssignOp::Add => (Vec::new(), false, true),
        AssignOp::Set => {
            let access = |e: &Expr| cx.access(e);
            let (sa, sneg, sb) = store_parts(&value, a, out, &access)?;
            for x in &sa {
                cx.check_scalar(x, Some(a))?;
            }
            let kept = match sb {
                None => false,
                Some(b) if key(&b).is_empty() => true,
                Some(_) => {
                    return Err(NoFix::new(
                        "the store scales the old B[i][j] by another factor than the \
                         product; TRMM scales both by alpha",
                    ))
                }
            };
            (sa, sneg, kept)
        }
        _ => return Err(NoFix::new("the output is stored with an unusual operator")),
    };
    Ok(match (kept_inside, kept_outside, strict) {
        (true, true, _) => return Err(NoFix::new("B[i][j] is added twice")),
        (true, false, true) if fac_one => (true, sa, sneg),
        (false, true, true) if fac_one && key(&sa).is_empty() && !sneg => (true, Vec::new(), false),
        (true, _, true) | (_, true, true) => {
            return Err(NoFix::new(
                "the product is scaled but the kept B[i][j] is not; TRMM scales both \
                 by alpha",
            ))
        }
        (false, false, false) => {
            let mut al = term.factors.clone();
            al.extend(sa);
            (false, al, sneg ^ term.neg)
        }
        (false, false, true) => {
            return Err(NoFix::new(
                "the product skips the diagonal and B[i][j] is not kept: a strictly \
                 triangular product, which TRMM does not compute",
            ))
        }
        (_, _, false) => {
            return Err(NoFix::new(
                "B[i][j] is both kept and multiplied by the diagonal (1 + A(i,i)); \
                 TRMM uses one of the two",
            ))
        }
    })
}

/// (unit diagonal, alpha, negated) of a nest that adds into B in place.
fn in_place(
    ls: &[Leaf],
    parts: &Parts,
    r: &Roles<'_>,
    strict: bool,
) -> Result<(bool, Vec<Expr>, bool), NoFix> {
    let (i, j, k, t) = (r.i, r.j, r.k, r.t);
    let (nm, term) = &parts.mac;
    let ml = &ls[*nm];
    let fac_one = key(&term.factors).is_empty() && !term.neg;
    let post_leaf = parts.post.as_ref().map(|(np, _)| &ls[*np]);
    if !strict {
        return Err(NoFix::new(format!(
            "`B[{i}][{j}] +=` over `{k}` from `{t}` reads B[{i}][{j}] while updating it; \
             TRMM's diagonal is A(i,i)·B(i,j) or B(i,j) (unit)"
        )));
    }
    if post_leaf.is_some_and(|p| !after(ml, p, r) || !out_loops(p, r)) {
        return Err(NoFix::new(
            "the scaling of B does not come after each element's product",
        ));
    }
    if !fac_one {
        return Err(NoFix::new(
            "the product is scaled but the kept B[i][j] is not; TRMM scales both by alpha",
        ));
    }
    Ok((true, Vec::new(), false))
}

/// What the call says beyond the operands.
struct Call {
    side: &'static str,
    t_down: bool,
    unit: bool,
    neg: bool,
}

/// The `cblas_?trmm` call, the routine letter and the matrices' names.
fn call(
    cx: &Cx<'_, '_>,
    out: &Access,
    ta: &Access,
    tb: &Access,
    alpha: &[Expr],
    shape: &Call,
    r: &Roles<'_>,
) -> Result<(String, char, Vec<String>), NoFix> {
    let (i, j, k) = (r.i, r.j, r.k);
    let (side, t_down, unit, neg) = (shape.side, shape.t_down, shape.unit, shape.neg);
    let b = cx.op(out, i, j)?;
    let (a_op, b_read) = if side == "CblasLeft" {
        (cx.op(ta, i, k)?, cx.op(tb, k, j)?)
    } else {
        (cx.op(ta, k, j)?, cx.op(tb, i, k)?)
    };
    if b_read != b {
        return Err(NoFix::new(
            "B is read at other places than it is written (not one in-place matrix)",
        ));
    }
    // Left: op(A)(i,k) with k > i is upper; Right: op(A)(k,j), k > j, lower;
    // the other way round when the rows are walked downwards (k < t).
    let logical = match (side == "CblasLeft", t_down) {
        (true, false) | (false, true) => Tri::Upper,
        _ => Tri::Lower,
    };
    let tr = trans(&a_op, &b);
    let uplo = if tr == "CblasTrans" {
        logical.flip()
    } else {
        logical
    };
    let names = vec![out.base.clone(), ta.base.clone()];
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let (letter, suffix) = routine_letter(cx.f, &refs)?;
    let alpha = scalar(alpha, neg, suffix)?;
    let (m_t, n_t) = (text_of(&cx.ext[i])?, text_of(&cx.ext[j])?);
    let diag = if unit { "CblasUnit" } else { "CblasNonUnit" };
    let call = format!(
        "cblas_{letter}trmm({}, {side}, {}, {tr}, {diag}, {m_t}, {n_t}, {alpha}, {}, {}, {}, \
         {});",
        order(&b),
        uplo.cblas(),
        a_op.ptr,
        a_op.ld,
        b.ptr,
        b.ld
    );
    Ok((call, letter, names))
}
