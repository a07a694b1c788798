//! SYMM in the PolyBench form: the symmetric product written as a rank
//! update of the rows above the diagonal and a dot product.

use super::symm::Renamed;
use super::*;

/// The PolyBench form: for `k < i`, `C[k][j] += alpha*B[i][j]*A[i][k]` and
/// `t += B[k][j]*A[i][k]`; then `C[i][j] = beta*C[i][j] +
/// alpha*B[i][j]*A[i][i] + alpha*t`.
pub(super) fn symm_rank_update(mut cx: Cx<'_, '_>, ls: &[Leaf]) -> Result<Rewrite, NoFix> {
    let nest = cx.nest;
    let form = || {
        NoFix::new(
            "the nest is not the SYMM rank-update form (accumulator set to 0, the two updates \
             over k < i, the store of C[i][j])",
        )
    };
    // The store `C[i][j] = ...`: its element is the output, its loops `i`, `j`.
    let stores: Vec<&Leaf> = ls
        .iter()
        .filter(|l| {
            matches!(&l.stmt.kind, StmtKind::Assign { target, op: AssignOp::Set, .. }
                if cx.access(target).is_some_and(|a| a.base == nest.out.base))
        })
        .collect();
    let [st] = stores[..] else {
        return Err(form());
    };
    let StmtKind::Assign { target, .. } = &st.stmt.kind else {
        return Err(form());
    };
    let out = cx.access(target).ok_or_else(form)?;
    let func = cx.f;
    let c_el = out.clone();
    let is_c = move |e: &Expr| {
        Access::of(e, &|n| func.is_array(n)).is_some_and(|a| same_access(&a, &c_el))
    };
    // `i` bounds the reduction loop (`k < i`), `j` is the other.
    let kloop = ls
        .iter()
        .find(|l| l.loops.len() == 3)
        .map(|l| l.loops[2])
        .ok_or_else(form)?;
    let sv = st.vars();
    let (i, j) = match sv[..] {
        [a, b] if kloop.end.mentions(a) && !kloop.end.mentions(b) => (a, b),
        [a, b] if kloop.end.mentions(b) && !kloop.end.mentions(a) => (b, a),
        _ => return Err(form()),
    };
    for l in &st.loops {
        let e = full(l)?.clone();
        cx.ext.insert(l.var.clone(), e);
    }
    let Parts {
        init: (ni, iname),
        acc: (na, aname, at),
        upd: (nu, c_k, ut),
        store: (ns, value),
    } = classify(&cx, ls, &out, &is_c)?;
    if iname != aname {
        return Err(NoFix::new(format!(
            "`{aname}` does not start at 0 in the nest"
        )));
    }
    let kl = update_loop(ls, [ni, na, nu, ns], i, j)?;
    let k = kl.var.clone();
    let m = cx.ext[i].clone();
    cx.ext.insert(k.clone(), m.clone());
    // The accumulation `t += S(i,k)·B(k,j)`.
    let (s_ik, b_kj) = pick(&at, i, &k).ok_or_else(|| {
        NoFix::new("the accumulation does not read the symmetric matrix at (i, k)")
    })?;
    let (s_ik2, b_ij) = pick(&ut, i, &k).ok_or_else(|| {
        NoFix::new("the update of C does not read the symmetric matrix at (i, k)")
    })?;
    if !same_access(&s_ik, &s_ik2) {
        return Err(NoFix::new(
            "the two updates read the symmetric matrix at different places",
        ));
    }
    let c = cx.op(&out, i, j)?;
    if cx.op(&c_k, &k, j)? != c {
        return Err(NoFix::new("the update of C does not write C at (k, j)"));
    }
    let b = cx.op(&b_ij, i, j)?;
    if cx.op(&b_kj, &k, j)? != b {
        return Err(NoFix::new(format!(
            "`{}` is read at different places in the two updates",
            b_ij.base
        )));
    }
    if b.col_major != c.col_major {
        return Err(NoFix::new(format!(
            "`{}` is stored the other way round from the output; SYMM takes no trans",
            b_ij.base
        )));
    }
    let s = cx.op(&s_ik, i, &k)?;
    // The store: beta*C + f*B(i,j)*S(i,i) + g*t.
    let diag = s_ik.clone().renamed(&k, i);
    let (beta, d, mut g) = store_terms(&cx, &value, &aname, &diag, &b_ij, &is_c)?;
    // alpha on t times the accumulation's own scaling.
    g.factors.extend(at.factors.iter().cloned());
    g.neg ^= at.neg;
    if !(g.same_scale(&d) && g.same_scale(&ut)) {
        return Err(NoFix::new(
            "the three parts of the product (diagonal, accumulated row, scattered column) \
             are scaled differently",
        ));
    }
    if [&s_ik.base, &b_ij.base].contains(&&out.base) {
        return Err(NoFix::new("the output is also an operand"));
    }
    // S(i,k) with k < i: lower in logical (i, k); flipped when S is stored
    // the other way round from C.
    let tri = if s.col_major == c.col_major {
        Tri::Lower
    } else {
        Tri::Upper
    };
    let names = vec![out.base.clone(), s_ik.base.clone(), b_ij.base.clone()];
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let (letter, suffix) = routine_letter(cx.f, &refs)?;
    let alpha = scalar(&d.factors, d.neg, suffix)?;
    let beta = match beta {
        None => format!("0.0{suffix}"),
        Some(b) if key(&b).is_empty() => format!("1.0{suffix}"),
        Some(b) => scalar(&b, false, suffix)?,
    };
    let (m_t, n_t) = (text_of(&m)?, text_of(&cx.ext[j])?);
    let call = format!(
        "cblas_{letter}symm({}, CblasLeft, {}, {m_t}, {n_t}, {alpha}, {}, {}, {}, {}, {beta}, \
         {}, {});",
        order(&c),
        tri.cblas(),
        s.ptr,
        s.ld,
        b.ptr,
        b.ld,
        c.ptr,
        c.ld
    );
    Ok((
        vec![call],
        format!("Replace the loop nest with cblas_{letter}symm"),
        names,
        Some(aname),
    ))
}

/// The statements of the rank-update form (leaf index first): the
/// accumulator's start at 0, the accumulation `t += S(i,k)·B(k,j)`, the
/// update `C[k][j] += S(i,k)·B(i,j)` and the store of `C[i][j]`.
struct Parts {
    init: (usize, String),
    acc: (usize, String, Term),
    upd: (usize, Access, Term),
    store: (usize, Expr),
}

fn classify(
    cx: &Cx<'_, '_>,
    ls: &[Leaf],
    out: &Access,
    is_c: &dyn Fn(&Expr) -> bool,
) -> Result<Parts, NoFix> {
    let mut init = None;
    let mut acc: Option<(usize, String, Term)> = None;
    let mut upd: Option<(usize, Access, Term)> = None;
    let mut store: Option<(usize, Expr)> = None;
    for (n, l) in ls.iter().enumerate() {
        match &l.stmt.kind {
            StmtKind::Decl { init: None, .. } => {}
            StmtKind::Decl {
                name,
                init: Some(e),
                ..
            } if is_zero(e) && init.is_none() => init = Some((n, name.clone())),
            StmtKind::Assign {
                target: Expr::Var(v),
                op: AssignOp::Set,
                value,
            } if is_zero(value) && init.is_none() => init = Some((n, v.clone())),
            StmtKind::Assign {
                target: Expr::Var(v),
                op: AssignOp::Add,
                value,
            } if acc.is_none() => {
                let ts = cx.terms(value, false, None)?;
                if ts.len() != 1 {
                    return Err(NoFix::new("the accumulation sums several products"));
                }
                acc = Some((n, v.clone(), ts[0].clone()));
            }
            StmtKind::Assign {
                target,
                op: AssignOp::Add,
                value,
            } if upd.is_none()
                && cx.access(target).is_some_and(|a| a.base == out.base)
                && !is_c(target) =>
            {
                let ts = cx.terms(value, false, None)?;
                if ts.len() != 1 {
                    return Err(NoFix::new("the update of C sums several products"));
                }
                upd = Some((n, cx.access(target).expect("an access"), ts[0].clone()));
            }
            StmtKind::Assign {
                target,
                op: AssignOp::Set,
                value,
            } if store.is_none() && is_c(target) => store = Some((n, value.clone())),
            _ => {
                return Err(NoFix::new(format!(
                    "the statement on line {} is not part of the SYMM rank-update form",
                    l.line()
                )))
            }
        }
    }
    let (Some(init), Some(acc), Some(upd), Some(store)) = (init, acc, upd, store) else {
        return Err(NoFix::new(
            "the nest is not the SYMM rank-update form (accumulator set to 0, the two \
             updates over k < i, the store of C[i][j])",
        ));
    };
    Ok(Parts {
        init,
        acc,
        upd,
        store,
    })
}

/// The store's terms `beta*C + f*B(i,j)*S(i,i) + g*t`: beta's factors, the
/// diagonal product and the accumulator's scaling.
fn store_terms(
    cx: &Cx<'_, '_>,
    value: &Expr,
    aname: &str,
    diag: &Access,
    b_ij: &Access,
    is_c: &dyn Fn(&Expr) -> bool,
) -> Result<(Option<Vec<Expr>>, Term, Term), NoFix> {
    let mut sum = Vec::new();
    split_sum(value, false, &mut sum);
    let (mut beta, mut d, mut g) = (None, None, None);
    for (neg, t) in sum {
        let neg = neg ^ (count_neg(&t) % 2 == 1);
        let mut fs = Vec::new();
        split_prod(&t, &mut fs);
        let is_t = |f: &Expr| matches!(f, Expr::Var(v) if *v == aname);
        if fs.iter().filter(|f| is_t(f)).count() == 1 && g.is_none() {
            fs.retain(|f| !is_t(f));
            for f in &fs {
                cx.check_scalar(f, Some(aname))?;
            }
            g = Some(Term {
                ops: vec![],
                factors: fs,
                neg,
            });
        } else if fs.iter().filter(|f| is_c(f)).count() == 1 && beta.is_none() && !neg {
            fs.retain(|f| !is_c(f));
            for f in &fs {
                cx.check_scalar(f, None)?;
            }
            beta = Some(fs);
        } else if d.is_none() {
            let ts = cx.terms(&t, neg, Some(aname))?;
            let t = ts
                .into_iter()
                .next()
                .ok_or_else(|| NoFix::new("a term of the update is not a product"))?;
            let ok = t.ops.iter().any(|a| same_access(a, diag))
                && t.ops.iter().any(|a| same_access(a, b_ij));
            if !ok {
                return Err(NoFix::new(format!(
                    "the store's term `{t:?}` is not the diagonal product B(i,j)·S(i,i)"
                )));
            }
            d = Some(t);
        } else {
            return Err(NoFix::new(
                "the store of C[i][j] is not beta*C + alpha*B(i,j)*S(i,i) + alpha*t",
            ));
        }
    }
    let (Some(d), Some(g)) = (d, g) else {
        return Err(NoFix::new(
            "the store of C[i][j] does not add both the diagonal product and the accumulator",
        ));
    };
    Ok((beta, d, g))
}

/// The loops of the rank-update form, given its statements (start,
/// accumulation, update, store): start and store at (i, j), both updates
/// in one k loop over 0..i inside. Returns that loop.
fn update_loop<'a>(
    ls: &[Leaf<'a>],
    [ni, na, nu, ns]: [usize; 4],
    i: &str,
    j: &str,
) -> Result<&'a Loop, NoFix> {
    let (li, la, lu, lst) = (&ls[ni], &ls[na], &ls[nu], &ls[ns]);
    let ij_only = |l: &Leaf| l.runs_in([i, j]);
    if !ij_only(li) || !ij_only(lst) || shared(li, lst).len() != 2 {
        return Err(NoFix::new(
            "the accumulator is not set and stored once per element of C",
        ));
    }
    let same_k = la.loops.len() == 3 && lu.loops.len() == 3 && shared(la, lu).len() == 3;
    if !same_k || shared(li, la).len() != 2 {
        return Err(NoFix::new(
            "the two updates are not in one reduction loop inside the output's loops",
        ));
    }
    if !(before(li, la) && before(li, lu) && before(la, lst) && before(lu, lst)) {
        return Err(NoFix::new(
            "the statements are not in the order set, accumulate, store",
        ));
    }
    let kl = la.loops[2];
    let k = &kl.var;
    if !is_zero(&kl.start) || !is_var_plus(&kl.end, i, 0) {
        return Err(NoFix::new(format!(
            "the loop over `{k}` does not run over `0..{i}` (the strict triangle)"
        )));
    }
    Ok(kl)
}

/// `t`'s reads as (the one at both `v` and `w`, the other).
fn pick(t: &Term, v: &str, w: &str) -> Option<(Access, Access)> {
    let [x, y] = [&t.ops[0], &t.ops[1]];
    let both = |a: &Access| mentions(a, v) && mentions(a, w);
    if both(x) && !both(y) {
        Some((x.clone(), y.clone()))
    } else if both(y) && !both(x) {
        Some((y.clone(), x.clone()))
    } else {
        None
    }
}
