//! Pass 4: per-thread register staging arrays forwarded to the stores
//! that drain them (CUDA, after forward substitution, so that an index
//! temporary such as `q = s / rows * 4` is already its value).
//!
//! A kernel may load a vector of `A` into a local array first,
//! `for l in 0..4: R[l + e] = A[g(l)]` (a `float4` copy into `R[e]`), and
//! then store the elements one by one, transposed, into a shared tile:
//! `As[(c + 0)*BM + r] = R[e]`, …, `As[(c + 3)*BM + r] = R[e + 3]`. Each
//! later read `R[e + q]` in the same straight-line block, with `q` a
//! constant lane of the copy, is replaced by the value it holds,
//! `A[g(q)]`, while nothing in between writes `R`, the array read or a
//! name either index uses; the stores so forwarded are then rolled back
//! into one loop over a lane variable where their indices advance in step
//! (as pass 0b rolls a vector's lanes). The staging store itself is kept:
//! the rewrite only says where each stored value came from.
//!
//! The copy and the stores may also sit in two guards with the same
//! condition, or two loops with the same header, one after the other (a
//! double buffer fetches the next tile into registers under `if (k < K)`
//! before the inner loop and stores it into the other shared buffer under
//! the same guard after it). Then each iteration of those loops must copy
//! into a slot of its own (the copy's index names every such loop's
//! variable), and nothing in between may write what the copy reads.

use crate::ir::{AssignOp, BinOp, Expr, FnKind, Function, Poly, Stmt, StmtKind};

/// Runs the pass on one CUDA function.
pub(super) fn forward(f: &mut Function) {
    if !matches!(f.kind, FnKind::CudaKernel | FnKind::CudaDevice) {
        return;
    }
    let regs: Vec<String> = f
        .vars
        .iter()
        .filter(|(n, v)| {
            v.is_array && !v.shared && !v.shape.is_empty() && !f.params.iter().any(|p| p == *n)
        })
        .map(|(n, _)| n.clone())
        .collect();
    if regs.is_empty() {
        return;
    }
    let mut lanes = next_lane(f);
    let body = std::mem::take(&mut f.body);
    f.body = block(body, &regs, &mut lanes);
}

/// The first lane number not used by a `__lane<n>` loop of `f`.
fn next_lane(f: &Function) -> usize {
    let mut n = 0;
    f.walk(&mut |s| {
        if let StmtKind::Loop(l) = &s.kind {
            if let Some(k) = l
                .var
                .strip_prefix("__lane")
                .and_then(|k| k.parse::<usize>().ok())
            {
                n = n.max(k + 1);
            }
        }
    });
    n
}

/// A staging copy: `R[lane + e] = v` over `lane in 0..w` (or `w == 1`
/// with no lane, `R[e] = v`).
struct Copy {
    reg: String,
    /// The index without the lane, as a polynomial over atoms.
    at: Poly,
    lane: Option<String>,
    /// The index as written.
    index: Expr,
    width: i64,
    value: Expr,
    /// Names whose assignment ends the copy's reach.
    names: Vec<String>,
}

/// Division and remainder nodes as atoms named by their text, so that an
/// index like `i/S*4 + 1` is a polynomial.
fn atoms(e: &Expr) -> Option<Poly> {
    let e = e.clone().map(&mut |x| match x {
        Expr::Binary(BinOp::Div | BinOp::Rem, ..) => Expr::Var(format!("({x})")),
        other => other,
    });
    Poly::from_expr(&e)
}

fn copy_of(s: &Stmt, regs: &[String]) -> Option<Copy> {
    let (lane, width, inner) = match &s.kind {
        StmtKind::Loop(l) if l.body.len() == 1 => {
            let (Expr::Int(0), Expr::Int(w), Expr::Int(1)) = (&l.start, &l.end, &l.step) else {
                return None;
            };
            (Some(l.var.clone()), *w, &l.body[0])
        }
        StmtKind::Assign { .. } => (None, 1, s),
        _ => return None,
    };
    let StmtKind::Assign {
        target: Expr::Index { base, idx },
        op: AssignOp::Set,
        value,
    } = &inner.kind
    else {
        return None;
    };
    let (Expr::Var(reg), [idx]) = (base.as_ref(), idx.as_slice()) else {
        return None;
    };
    if !regs.contains(reg) || !matches!(value, Expr::Index { .. }) || value.mentions(reg) {
        return None;
    }
    let p = atoms(idx)?;
    let at = match &lane {
        Some(l) => {
            if p.coeff(l) != Some(Poly::constant(1)) {
                return None;
            }
            let rest = p.sub(&Poly::symbol(l));
            if rest.symbols().contains(l) {
                return None;
            }
            rest
        }
        None => p,
    };
    let mut names: Vec<String> = idx.vars().into_iter().chain(value.vars()).collect();
    names.retain(|n| Some(n) != lane.as_ref());
    let mut bases = Vec::new();
    value.walk(&mut |x| {
        if let Expr::Index { base: b, .. } = x {
            if let Expr::Var(v) = b.as_ref() {
                bases.push(v.clone());
            }
        }
    });
    names.extend(bases);
    names.push(reg.clone());
    Some(Copy {
        reg: reg.clone(),
        at,
        lane,
        index: idx.clone(),
        width,
        value: value.clone(),
        names,
    })
}

/// The names (scalars and array bases) a statement and its nested ones
/// assign or loop over.
fn writes(s: &Stmt) -> Vec<String> {
    let mut out = Vec::new();
    s.walk(&mut |st| match &st.kind {
        StmtKind::Assign { target, .. } => {
            let mut t = target;
            while let Expr::Index { base: b, .. } = t {
                t = b;
            }
            if let Expr::Var(v) = t {
                out.push(v.clone());
            }
            if let Expr::Unary(_, x) = t {
                out.extend(x.vars());
            }
        }
        StmtKind::Decl { name, .. } => out.push(name.clone()),
        StmtKind::Loop(l) => out.push(l.var.clone()),
        _ => {}
    });
    out
}

/// `e` with each read of the copy's register at one of its lanes replaced
/// by the value that lane holds; `None` where `e` reads the register
/// elsewhere (the copy does not say what it holds).
fn replace(e: &Expr, c: &Copy, lane: Option<(&str, i64)>) -> Option<Expr> {
    let mut ok = true;
    let out = e.clone().map(&mut |x| match &x {
        Expr::Index { base: b, idx } if matches!(b.as_ref(), Expr::Var(v) if *v == c.reg) => {
            let d = idx
                .first()
                .filter(|_| idx.len() == 1)
                .and_then(atoms)
                .map(|p| p.sub(&c.at));
            // A lane of the copy: a constant, or the reader's own lane
            // variable over no more lanes than the copy has.
            let q = match (&d, lane) {
                (Some(d), _) if d.as_const().is_some() => d
                    .as_const()
                    .filter(|q| (0..c.width).contains(q))
                    .map(Expr::Int),
                (Some(d), Some((v, w))) if *d == Poly::symbol(v) && w <= c.width => {
                    Some(Expr::var(v))
                }
                _ => None,
            };
            match (q, &c.lane) {
                (Some(q), Some(l)) => c.value.clone().substitute(l, &q),
                (Some(Expr::Int(0)), None) => c.value.clone(),
                _ => {
                    ok = false;
                    x
                }
            }
        }
        _ => x,
    });
    ok.then_some(out)
}

fn block(stmts: Vec<Stmt>, regs: &[String], lanes: &mut usize) -> Vec<Stmt> {
    let mut stmts: Vec<Stmt> = stmts
        .into_iter()
        .map(|mut s| {
            match &mut s.kind {
                StmtKind::Loop(l) => l.body = block(std::mem::take(&mut l.body), regs, lanes),
                StmtKind::If { then, els, .. } => {
                    *then = block(std::mem::take(then), regs, lanes);
                    *els = block(std::mem::take(els), regs, lanes);
                }
                StmtKind::Opaque(b) => *b = block(std::mem::take(b), regs, lanes),
                _ => {}
            }
            s
        })
        .collect();
    // Which statements were rewritten, to roll them afterwards.
    let mut forwarded = vec![false; stmts.len()];
    for a in 0..stmts.len() {
        if let Some(c) = copy_of(&stmts[a], regs) {
            apply(
                std::slice::from_ref(&c),
                &mut stmts[a + 1..],
                &mut forwarded[a + 1..],
            );
            continue;
        }
        // A copy inside a guard or loop, drained by a later guard or loop
        // with the same header (the fetch and the store of a double
        // buffer, each under `if (k < K)`, each over the same rows).
        if !matches!(stmts[a].kind, StmtKind::If { .. } | StmtKind::Loop(_)) {
            continue;
        }
        let src = stmts[a].clone();
        let mut killed: Vec<String> = Vec::new();
        for dst in stmts.iter_mut().skip(a + 1) {
            if aligned(&src, dst, regs, &killed, lanes, &[]) {
                break;
            }
            killed.extend(writes(dst).into_iter().filter(|w| !rebound(&src, w)));
        }
    }
    roll(stmts, &forwarded, lanes)
}

/// Forwards the copies at the end of each block of `src` into the
/// matching block of `dst` (the same guard, or a loop with the same
/// header whose copies fill one slot per iteration); `killed` are the
/// names written between the two. True when something was forwarded.
fn aligned(
    src: &Stmt,
    dst: &mut Stmt,
    regs: &[String],
    killed: &[String],
    lanes: &mut usize,
    loop_vars: &[String],
) -> bool {
    let (sb, db, vars): (&[Stmt], &mut Vec<Stmt>, Vec<String>) = match (&src.kind, &mut dst.kind) {
        (
            StmtKind::If {
                cond: c1,
                then: t1,
                els: e1,
            },
            StmtKind::If {
                cond: c2,
                then: t2,
                els: e2,
            },
        ) if c1 == c2 && e1.is_empty() && e2.is_empty() => (t1, t2, loop_vars.to_vec()),
        (StmtKind::Loop(l1), StmtKind::Loop(l2))
            if l1.var == l2.var
                && l1.start == l2.start
                && l1.end == l2.end
                && l1.step == l2.step
                && l1.kind == l2.kind =>
        {
            let mut v = loop_vars.to_vec();
            v.push(l1.var.clone());
            (&l1.body, &mut l2.body, v)
        }
        _ => return false,
    };
    // Copies that nothing after them in their block undoes, each filling
    // a slot of its own per iteration of every loop around it.
    let mut copies = Vec::new();
    for (i, s) in sb.iter().enumerate() {
        let Some(c) = copy_of(s, regs) else {
            continue;
        };
        let later = sb[i + 1..]
            .iter()
            .flat_map(writes)
            .chain(killed.iter().cloned());
        let own = vars.iter().all(|v| c.index.mentions(v));
        if own && !later.into_iter().any(|w| c.names.contains(&w)) {
            copies.push(c);
        }
    }
    let mut any = false;
    if !copies.is_empty() {
        let mut fwd = vec![false; db.len()];
        apply(&copies, db, &mut fwd);
        any = fwd.iter().any(|f| *f);
        if any {
            *db = roll(std::mem::take(db), &fwd, lanes);
        }
    }
    // Nested guards and loops, pairwise in order.
    for s in sb
        .iter()
        .filter(|s| matches!(s.kind, StmtKind::If { .. } | StmtKind::Loop(_)))
    {
        let mut inner_killed = killed.to_vec();
        for d in db.iter_mut() {
            if aligned(s, d, regs, &inner_killed, lanes, &vars) {
                any = true;
                break;
            }
            inner_killed.extend(writes(d).into_iter().filter(|w| !rebound(s, w)));
        }
    }
    any
}

/// True when `name` is the variable of the loop `s`: the matching loop
/// that drains the copy binds it again, so an earlier write of it does not
/// matter.
fn rebound(s: &Stmt, name: &str) -> bool {
    matches!(&s.kind, StmtKind::Loop(l) if l.var == name)
}

/// Replaces reads of the copies' registers in `dst`, in order, until a
/// statement writes what a copy depends on; marks the statements changed.
fn apply(copies: &[Copy], dst: &mut [Stmt], forwarded: &mut [bool]) {
    for c in copies {
        for (b, s) in dst.iter_mut().enumerate() {
            // A lane loop of one store (`for l in 0..4: S[.. l ..] = R[e + l]`).
            let (value, lane) = match &mut s.kind {
                StmtKind::Assign { value, .. } => (Some(value), None),
                StmtKind::Loop(l) if l.body.len() == 1 => match (&l.start, &l.end, &l.step) {
                    (Expr::Int(0), Expr::Int(w), Expr::Int(1)) => {
                        let w = *w;
                        match &mut l.body[0].kind {
                            StmtKind::Assign { value, .. } => {
                                (Some(value), Some((l.var.clone(), w)))
                            }
                            _ => (None, None),
                        }
                    }
                    _ => (None, None),
                },
                _ => (None, None),
            };
            let lane_loop = lane.is_some();
            if let Some(value) = value {
                if value.mentions(&c.reg) {
                    let lane = lane.as_ref().map(|(v, w)| (v.as_str(), *w));
                    let Some(v) = replace(value, c, lane) else {
                        break;
                    };
                    *value = v;
                    // A lane loop is rolled already.
                    forwarded[b] = !lane_loop;
                }
            }
            if writes(s).iter().any(|w| c.names.contains(w)) {
                break;
            }
            if !lane_loop
                && !matches!(
                    s.kind,
                    StmtKind::Assign { .. } | StmtKind::Decl { .. } | StmtKind::Expr(_)
                )
            {
                break;
            }
        }
    }
}

/// Runs of forwarded stores rolled into lane loops.
fn roll(stmts: Vec<Stmt>, forwarded: &[bool], lanes: &mut usize) -> Vec<Stmt> {
    if !forwarded.iter().any(|f| *f) {
        return stmts;
    }
    let mut out = Vec::with_capacity(stmts.len());
    let mut i = 0;
    while i < stmts.len() {
        if !forwarded[i] {
            out.push(stmts[i].clone());
            i += 1;
            continue;
        }
        let mut j = i;
        while j < stmts.len() && forwarded[j] {
            j += 1;
        }
        let mut k = i;
        while k < j {
            let rolled = (2..=(j - k).min(8))
                .rev()
                .find_map(|len| roll_atoms(&stmts[k..k + len], *lanes).map(|l| (l, len)));
            match rolled {
                Some((l, len)) => {
                    *lanes += 1;
                    out.push(l);
                    k += len;
                }
                None => {
                    out.push(stmts[k].clone());
                    k += 1;
                }
            }
        }
        i = j;
    }
    out
}

/// [`super::lanes::roll_run`] with each quotient and remainder the
/// statements share (`tid % (BK/4) * 4 + 1`, where the thread index is
/// computed) standing for one symbol while the run is compared, and put
/// back in the loop it gives.
fn roll_atoms(run: &[Stmt], lane: usize) -> Option<Stmt> {
    let mut table: Vec<Expr> = Vec::new();
    let name = |n: usize| format!("__staged_atom{n}");
    let mut atomised: Vec<Stmt> = run.to_vec();
    for s in &mut atomised {
        s.exprs_mut(&mut |e| {
            let taken = std::mem::replace(e, Expr::Int(0));
            *e = atomise(taken, &mut table, &name);
        });
    }
    let mut rolled = super::lanes::roll_run(&atomised, lane)?;
    if let StmtKind::Loop(l) = &mut rolled.kind {
        for s in &mut l.body {
            s.exprs_mut(&mut |e| {
                let mut taken = std::mem::replace(e, Expr::Int(0));
                for (n, t) in table.iter().enumerate().rev() {
                    taken = taken.substitute(&name(n), t);
                }
                *e = taken;
            });
        }
    }
    Some(rolled)
}

/// `e` with each outermost quotient or remainder replaced by its symbol in
/// `table` (added where new).
fn atomise(e: Expr, table: &mut Vec<Expr>, name: &dyn Fn(usize) -> String) -> Expr {
    match e {
        Expr::Binary(BinOp::Div | BinOp::Rem, ..) => {
            let n = match table.iter().position(|t| *t == e) {
                Some(n) => n,
                None => {
                    table.push(e);
                    table.len() - 1
                }
            };
            Expr::Var(name(n))
        }
        Expr::Binary(o, a, b) => Expr::Binary(
            o,
            Box::new(atomise(*a, table, name)),
            Box::new(atomise(*b, table, name)),
        ),
        Expr::Unary(o, a) => Expr::Unary(o, Box::new(atomise(*a, table, name))),
        Expr::Index { base, idx } => Expr::Index {
            base: Box::new(atomise(*base, table, name)),
            idx: idx.into_iter().map(|x| atomise(x, table, name)).collect(),
        },
        other => other,
    }
}
