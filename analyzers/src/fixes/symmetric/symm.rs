//! SYMM: C = alpha·A·B + beta·C with A symmetric, read from one triangle
//! and its diagonal.

use super::*;

pub(super) fn symm(mut cx: Cx<'_, '_>, ls: &[Leaf]) -> Result<Rewrite, NoFix> {
    let nest = cx.nest;
    // C written at two different elements: the PolyBench form.
    let mut c_targets: Vec<Access> = Vec::new();
    for l in ls {
        if let StmtKind::Assign { target, .. } = &l.stmt.kind {
            if let Some(a) = cx.access(target) {
                if a.base == nest.out.base && !c_targets.iter().any(|t| same_access(t, &a)) {
                    c_targets.push(a);
                }
            }
        }
    }
    if c_targets.len() > 1 {
        return super::symm_rank_update::symm_rank_update(cx, ls);
    }
    let (i, j) = (role(nest, 'i')?, role(nest, 'j')?);
    // The output's loops: rectangular.
    cx.output_extents(ls, [&i, &j])?;
    let u = cx.gather(ls)?;
    if u.macs.len() != 2 || u.macs.iter().any(|(_, t)| t.len() != 1) {
        return Err(NoFix::new(
            "SYMM is rewritten from two products over the two halves of the reduction \
             (one triangle read directly, the other mirrored)",
        ));
    }
    let (m0, m1) = (&ls[u.macs[0].0], &ls[u.macs[1].0]);
    let (k0, kv0) = reduction_loop(m0, &i, &j)?;
    let (k1, kv1) = reduction_loop(m1, &i, &j)?;
    if std::ptr::eq(k0, k1) {
        return Err(NoFix::new("both products are in the same reduction loop"));
    }
    let (t0, t1) = (&u.macs[0].1[0], &u.macs[1].1[0]);
    if !t0.same_scale(t1) {
        return Err(NoFix::new(
            "the two halves of the product are scaled differently",
        ));
    }
    // Which operand is symmetric, and the side: the other operand is read
    // the same way in both halves.
    let is_b = |a: &Access, b: &Access| same_access(a, &b.clone().renamed(&kv1, &kv0));
    let (s0, b0, s1) = if is_b(&t0.ops[1], &t1.ops[1]) {
        (&t0.ops[0], &t0.ops[1], &t1.ops[0])
    } else if is_b(&t0.ops[0], &t1.ops[0]) {
        (&t0.ops[1], &t0.ops[0], &t1.ops[1])
    } else if is_b(&t0.ops[1], &t1.ops[0]) {
        (&t0.ops[0], &t0.ops[1], &t1.ops[1])
    } else if is_b(&t0.ops[0], &t1.ops[1]) {
        (&t0.ops[1], &t0.ops[0], &t1.ops[0])
    } else {
        return Err(NoFix::new(
            "the two halves do not share the general operand",
        ));
    };
    if s0.base != s1.base {
        return Err(NoFix::new(
            "the two halves read different matrices; SYMM reads one symmetric matrix",
        ));
    }
    // Left: C(i,j) = S(i,k)·B(k,j); Right: C(i,j) = B(i,k)·S(k,j).
    let (side, s_var) = side_of(b0, &i, &j).ok_or_else(|| {
        NoFix::new("the general operand is not indexed by one of the output's loops")
    })?;
    let n = cx.ext[&s_var].clone();
    let c = {
        cx.ext.insert(kv0.clone(), n.clone());
        cx.ext.insert(kv1.clone(), n.clone());
        cx.op(&nest.out, &i, &j)?
    };
    let b = if side == "CblasLeft" {
        cx.op(b0, &kv0, &j)?
    } else {
        cx.op(b0, &i, &kv0)?
    };
    if b.col_major != c.col_major {
        return Err(NoFix::new(format!(
            "`{}` is stored the other way round from the output; SYMM takes no trans",
            b0.base
        )));
    }
    // Each half: its k range (below or above the diagonal) and where it
    // reads S, in the order's layout.
    let half = |s: &Access, kl: &Loop, kv: &str| -> Result<(Operand, Tri, bool, bool), NoFix> {
        let o = cx.op(s, &s_var, kv)?;
        let (lo, en) = (&kl.start, &s_var);
        let (below, diag) = if is_zero(lo) && is_var_plus(&kl.end, en, 1) {
            (true, true)
        } else if is_zero(lo) && is_var_plus(&kl.end, en, 0) {
            (true, false)
        } else if is_var_plus(lo, en, 0) && same_poly(&kl.end, &n) {
            (false, true)
        } else if is_var_plus(lo, en, 1) && same_poly(&kl.end, &n) {
            (false, false)
        } else {
            return Err(NoFix::new(format!(
                "the loop over `{kv}` runs from `{lo}` to `{}`, not up to or from the diagonal",
                kl.end
            )));
        };
        // Stored (row, col) = (s, k) or (k, s); k below s.
        let s_first = o.col_major == c.col_major;
        let lower = s_first == below;
        Ok((o, if lower { Tri::Lower } else { Tri::Upper }, below, diag))
    };
    let (o0, tr0, below0, d0) = half(s0, k0, &kv0)?;
    let (o1, tr1, below1, d1) = half(s1, k1, &kv1)?;
    if below0 == below1 || d0 == d1 {
        return Err(NoFix::new(
            "the two reduction loops do not split 0..n at the diagonal exactly once",
        ));
    }
    if o0.ptr != o1.ptr || o0.ld != o1.ld {
        return Err(NoFix::new(format!(
            "the two halves read `{}` at different offsets or strides",
            s0.base
        )));
    }
    if tr0 != tr1 {
        return Err(NoFix::new(format!(
            "the two halves read different triangles of `{}`: it is not one symmetric \
             matrix stored as one triangle",
            s0.base
        )));
    }
    let (terms, beta) = cx.settle(ls, &u, [&i, &j])?;
    if s0.base == nest.out.base || b0.base == nest.out.base {
        return Err(NoFix::new("the output is also an operand"));
    }
    let names = vec![nest.out.base.clone(), s0.base.clone(), b0.base.clone()];
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let (letter, suffix) = routine_letter(cx.f, &refs)?;
    let alpha = scalar(&terms[0].factors, terms[0].neg, suffix)?;
    let beta = beta_text(&beta, suffix)?;
    let (m_t, n_t) = (text_of(&cx.ext[&i])?, text_of(&cx.ext[&j])?);
    let call = format!(
        "cblas_{letter}symm({}, {side}, {}, {m_t}, {n_t}, {alpha}, {}, {}, {}, {}, {beta}, {}, \
         {});",
        order(&c),
        tr0.cblas(),
        o0.ptr,
        o0.ld,
        b.ptr,
        b.ld,
        c.ptr,
        c.ld
    );
    Ok((
        vec![call],
        format!("Replace the loop nest with cblas_{letter}symm"),
        names,
        u.acc.clone(),
    ))
}

/// The one loop around a product other than the output's `i` and `j`.
fn reduction_loop<'a>(l: &Leaf<'a>, i: &str, j: &str) -> Result<(&'a Loop, String), NoFix> {
    let ks: Vec<&'a Loop> = l
        .loops
        .iter()
        .copied()
        .filter(|x| x.var != i && x.var != j)
        .collect();
    if ks.len() != 1 || l.pos(i).is_none() || l.pos(j).is_none() {
        return Err(NoFix::new(format!(
            "the product on line {} is not inside the output's loops and one reduction loop",
            l.line()
        )));
    }
    Ok((ks[0], ks[0].var.clone()))
}

pub(super) trait Renamed {
    fn renamed(self, from: &str, to: &str) -> Access;
}

impl Renamed for Access {
    fn renamed(self, from: &str, to: &str) -> Access {
        Access {
            base: self.base,
            idx: self
                .idx
                .into_iter()
                .map(|e| e.substitute(from, &Expr::var(to)))
                .collect(),
        }
    }
}
