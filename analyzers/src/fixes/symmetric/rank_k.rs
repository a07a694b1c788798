//! SYRK and SYR2K: a rank-k (or rank-2k) update of one triangle of C, or
//! of the full square (then GEMM).

use super::*;

pub(super) fn rank_k(mut cx: Cx<'_, '_>, ls: &[Leaf]) -> Result<Rewrite, NoFix> {
    let nest = cx.nest;
    let routine = if nest.shape == Shape::Syrk {
        "syrk"
    } else {
        "syr2k"
    };
    let (i, j) = (role(nest, 'i')?, role(nest, 'j')?);
    let u = cx.gather(ls)?;
    let (tri, n) = one_triangle(ls, &i, &j, routine)?;
    let (k, kext) = reduction(ls, &u, &i, &j)?;
    cx.ext = HashMap::from([
        (i.clone(), n.clone()),
        (j.clone(), n.clone()),
        (k.clone(), kext.clone()),
    ]);
    let (terms, beta) = cx.settle(ls, &u, [&i, &j])?;
    let c = cx.op(&nest.out, &i, &j)?;
    let ijk = [i.as_str(), j.as_str(), k.as_str()];
    let (a_op, b_op, bases, t0) = if nest.shape == Shape::Syrk {
        syrk_operands(&cx, &terms, ijk)?
    } else {
        syr2k_operands(&cx, &terms, ijk)?
    };
    if bases.contains(&nest.out.base) {
        return Err(NoFix::new("the output is also an operand"));
    }
    let mut names = vec![nest.out.base.clone()];
    names.extend(bases.iter().cloned());
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let (letter, suffix) = routine_letter(cx.f, &refs)?;
    let call = Call {
        letter,
        suffix,
        alpha: scalar(&t0.factors, t0.neg, suffix)?,
        beta: beta_text(&beta, suffix)?,
        n_t: text_of(&n)?,
        k_t: text_of(&kext)?,
    };
    let call = calls(&call, tri, &a_op, b_op.as_ref(), &c);
    let title = match tri {
        Some(_) => format!("Replace the loop nest with cblas_{letter}{routine}"),
        None => format!(
            "Replace the loop nest with cblas_{letter}gemm (it fills the full square, where \
             {routine} would set one triangle)"
        ),
    };
    Ok((call, title, names, u.acc.clone()))
}

/// The triangle (or the full square) and the size every statement on C
/// runs over: the same for all.
fn one_triangle(
    ls: &[Leaf],
    i: &str,
    j: &str,
    routine: &str,
) -> Result<(Option<Tri>, Expr), NoFix> {
    let mut tri: Option<(Option<Tri>, Expr)> = None;
    for l in ls {
        let t = triangle(l, i, j, routine)?;
        match &tri {
            None => tri = Some(t),
            Some((a, n)) => {
                if *a != t.0 || !same_poly(n, &t.1) {
                    return Err(NoFix::new(format!(
                        "the statements on C run over different triangles or sizes (line \
                         {}); {routine} updates one triangle",
                        l.line()
                    )));
                }
            }
        }
    }
    tri.ok_or_else(|| NoFix::new("no statement runs over the output"))
}

/// The k loop of every product: 0..K, K the same for all.
fn reduction(ls: &[Leaf], u: &Update, i: &str, j: &str) -> Result<(String, Expr), NoFix> {
    let mut kk: Option<(String, Expr)> = None;
    for (m, _) in &u.macs {
        let l = &ls[*m];
        let ks: Vec<&&Loop> = l
            .loops
            .iter()
            .filter(|x| x.var != i && x.var != j)
            .collect();
        if ks.len() != 1 {
            return Err(NoFix::new(format!(
                "the product on line {} is not inside exactly one reduction loop",
                l.line()
            )));
        }
        let e = full(ks[0])?;
        match &kk {
            None => kk = Some((ks[0].var.clone(), e.clone())),
            Some((v, k)) if *v == ks[0].var && same_poly(k, e) => {}
            Some(_) => {
                return Err(NoFix::new(
                    "the products run over different reduction loops",
                ))
            }
        }
    }
    kk.ok_or_else(|| NoFix::new("the nest has no product"))
}

/// A product's reads as (the read indexed by `i`, the read indexed by `j`).
fn by_rows(t: &Term, i: &str, j: &str) -> Result<(Access, Access), NoFix> {
    let [x, y] = [&t.ops[0], &t.ops[1]];
    let by = |a: &Access, v: &str, w: &str| {
        a.idx.iter().any(|e| e.mentions(v)) && !a.idx.iter().any(|e| e.mentions(w))
    };
    if by(x, i, j) && by(y, j, i) {
        Ok((x.clone(), y.clone()))
    } else if by(y, i, j) && by(x, j, i) {
        Ok((y.clone(), x.clone()))
    } else {
        Err(NoFix::new(format!(
            "the product `{}·{}` does not read one operand at `{i}` and the other at `{j}`",
            Expr::Var(x.base.clone()),
            Expr::Var(y.base.clone())
        )))
    }
}

/// The operands of a rank update: A, B for SYR2K, the arrays, the first term.
type Operands = (Operand, Option<Operand>, Vec<String>, Term);

/// SYRK: one product A·Aᵀ.
fn syrk_operands(cx: &Cx<'_, '_>, terms: &[Term], [i, j, k]: [&str; 3]) -> Result<Operands, NoFix> {
    if terms.len() != 1 {
        return Err(NoFix::new(
            "the nest sums several products; SYRK computes one",
        ));
    }
    let (x, y) = by_rows(&terms[0], i, j)?;
    if x.base != y.base {
        return Err(NoFix::new("the two factors are different arrays"));
    }
    let (oa, ob) = (cx.op(&x, i, k)?, cx.op(&y, j, k)?);
    if oa != ob {
        return Err(NoFix::new(format!(
            "`{}` is read at different positions for `{i}` and `{j}`; SYRK needs A·Aᵀ",
            x.base
        )));
    }
    Ok((oa, None, vec![x.base.clone()], terms[0].clone()))
}

/// SYR2K: two products A·Bᵀ + B·Aᵀ, scaled alike.
fn syr2k_operands(
    cx: &Cx<'_, '_>,
    terms: &[Term],
    [i, j, k]: [&str; 3],
) -> Result<Operands, NoFix> {
    if terms.len() != 2 {
        return Err(NoFix::new(format!(
            "the nest sums {} products; SYR2K sums two (A·Bᵀ + B·Aᵀ)",
            terms.len()
        )));
    }
    let (x0, y0) = by_rows(&terms[0], i, j)?;
    let (x1, y1) = by_rows(&terms[1], i, j)?;
    if x0.base == y0.base || x0.base != y1.base || y0.base != x1.base {
        return Err(NoFix::new(
            "the two products are not A·Bᵀ and B·Aᵀ of the same two arrays",
        ));
    }
    if !terms[0].same_scale(&terms[1]) {
        return Err(NoFix::new(
            "the two products are scaled differently; SYR2K applies one alpha to both",
        ));
    }
    let (oa, oa2) = (cx.op(&x0, i, k)?, cx.op(&y1, j, k)?);
    let (ob, ob2) = (cx.op(&y0, j, k)?, cx.op(&x1, i, k)?);
    if oa != oa2 || ob != ob2 {
        return Err(NoFix::new(
            "an operand is read at different positions in the two products",
        ));
    }
    if oa.col_major != ob.col_major {
        return Err(NoFix::new(format!(
            "`{}` and `{}` are stored the other way round from each other; SYR2K \
             takes one trans for both",
            x0.base, y0.base
        )));
    }
    Ok((
        oa,
        Some(ob),
        vec![x0.base.clone(), y0.base.clone()],
        terms[0].clone(),
    ))
}

/// The scalars and sizes of the call, as C text.
struct Call {
    letter: char,
    suffix: &'static str,
    alpha: String,
    beta: String,
    n_t: String,
    k_t: String,
}

/// The `cblas_?syrk`/`syr2k` call, or for the full square the GEMM call(s).
fn calls(
    call: &Call,
    tri: Option<Tri>,
    a_op: &Operand,
    b_op: Option<&Operand>,
    c: &Operand,
) -> Vec<String> {
    let Call {
        letter,
        suffix,
        alpha,
        beta,
        n_t,
        k_t,
    } = call;
    let tr = trans(a_op, c);
    match (tri, b_op) {
        (Some(tri), None) => vec![format!(
            "cblas_{letter}syrk({}, {}, {tr}, {n_t}, {k_t}, {alpha}, {}, {}, {beta}, {}, {});",
            order(c),
            tri.cblas(),
            a_op.ptr,
            a_op.ld,
            c.ptr,
            c.ld
        )],
        (Some(tri), Some(b)) => vec![format!(
            "cblas_{letter}syr2k({}, {}, {tr}, {n_t}, {k_t}, {alpha}, {}, {}, {}, {}, {beta}, \
             {}, {});",
            order(c),
            tri.cblas(),
            a_op.ptr,
            a_op.ld,
            b.ptr,
            b.ld,
            c.ptr,
            c.ld
        )],
        // The full square: GEMM with the second operand read as (k, j),
        // i.e. transposed relative to how it is read as (j, k).
        (None, b) => {
            let other = if tr == "CblasTrans" {
                "CblasNoTrans"
            } else {
                "CblasTrans"
            };
            let gemm = |x: &Operand, y: &Operand, beta: &str| {
                format!(
                    "cblas_{letter}gemm({}, {tr}, {other}, {n_t}, {n_t}, {k_t}, {alpha}, {}, {}, \
                     {}, {}, {beta}, {}, {});",
                    order(c),
                    x.ptr,
                    x.ld,
                    y.ptr,
                    y.ld,
                    c.ptr,
                    c.ld
                )
            };
            match b {
                None => vec![gemm(a_op, a_op, beta)],
                Some(b) => vec![gemm(a_op, b, beta), gemm(b, a_op, &format!("1.0{suffix}"))],
            }
        }
    }
}
