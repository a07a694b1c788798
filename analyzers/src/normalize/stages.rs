//! Pass 2b: stage indices of a ring of tiles (multi-stage pipelines and
//! double buffering), after straight-line evaluation and before the
//! induction variables are folded.
//!
//! A kernel that keeps several copies of a shared tile walks them with a
//! stage index, and the contraction analysis matches a read of a stage to
//! the store that filled it by the index's value, `f % S` against
//! `t % S` (`contraction::ring_solve`). This pass writes the two forms of
//! a stage index that carry their value in a state variable as such a
//! remainder:
//!
//! - **Wrapped counters.** A local `w`, initialised to an invariant `w0`
//!   and updated once per iteration of a counted loop, at the loop body's
//!   top level, by `w = (w + c) % S`, `w += c; if (w == S) w = 0;`, or
//!   for two stages `w ^= 1` / `w = 1 - w`, written nowhere else and not
//!   read after the loop, is `(w0 + n*c) % S` before the update and
//!   `(w0 + (n + 1)*c) % S` after it, with `n` the iteration number (the
//!   loop is re-indexed from 0 first where it does not count from 0 by 1).
//!   The update is dropped, so that a read before the loop is the
//!   initial value (forward substitution then replaces it). `w ^ 1` and
//!   `1 - w` on a two-stage index, and `(w + d) % S`, are folded into the
//!   remainder.
//! - **Lockstep counters.** Locals bumped together by one group of
//!   consecutive statements of an uncounted loop (`for (; f < t + S; ++f,
//!   off += T)`, the fetch loop that runs ahead of the compute loop), one
//!   of them by 1, each initialised once to an invariant and written
//!   nowhere else, keep `v - v0 = (n - n0)*c_v` at every point: each read
//!   of `v` becomes `v0 + (n - n0)*c_v`, so that the tile a store copies
//!   is a function of the counter `n` that also names its stage
//!   (`n % S`).

use std::collections::HashSet;

use super::{integer_var, plain_int, stmt_mentions, subst_stmt};
use crate::ir::{AssignOp, BinOp, Expr, Function, Loop, LoopKind, Poly, Stmt, StmtKind};

/// Runs both rewrites on one function.
pub(super) fn rewrite(f: &mut Function) {
    let mut body = std::mem::take(&mut f.body);
    let all = body.clone();
    wrapped_block(f, &all, &mut body, 0);
    lockstep(f, &mut body);
    f.body = body;
}

// ---------------------------------------------------------------------------
// Writes and invariants

/// How often `name` is written in `stmts`: assignments and initialised
/// declarations (loop variables count twice).
fn defs(stmts: &[Stmt], name: &str) -> usize {
    Stmt::defs_of(stmts, name)
}

/// Names assigned anywhere in `stmts` (declaration initialisers excluded),
/// serial loop variables included; a thread index is fixed per thread.
fn assigned(stmts: &[Stmt]) -> HashSet<String> {
    let mut out = HashSet::new();
    for s in stmts {
        s.walk(&mut |s| match &s.kind {
            StmtKind::Assign {
                target: Expr::Var(v),
                ..
            } => {
                out.insert(v.clone());
            }
            StmtKind::Loop(l) if !matches!(l.kind, LoopKind::CudaThread { .. }) => {
                out.insert(l.var.clone());
            }
            _ => {}
        });
    }
    out
}

/// An integer expression over names that nothing in the function assigns.
fn invariant(e: &Expr, assigned: &HashSet<String>) -> bool {
    plain_int(e) && !e.vars().iter().any(|v| assigned.contains(v))
}

/// The initialiser of `name`'s one declaration.
fn init_of(stmts: &[Stmt], name: &str) -> Option<Expr> {
    let mut found = None;
    let mut n = 0;
    for s in stmts {
        s.walk(&mut |s| {
            if let StmtKind::Decl {
                name: v,
                init,
                dims,
                ..
            } = &s.kind
            {
                if v == name {
                    n += 1;
                    if dims.is_empty() {
                        found = init.clone();
                    }
                }
            }
        });
    }
    (n == 1).then_some(found).flatten()
}

fn poly_expr(e: &Expr) -> Expr {
    match Poly::from_expr(e) {
        Some(p) => p.to_expr(),
        None => e.clone(),
    }
}

fn rem(x: Expr, s: Expr) -> Expr {
    Expr::bin(BinOp::Rem, poly_expr(&x), s)
}

// ---------------------------------------------------------------------------
// Wrapped counters

/// One update of a wrapped counter: the statements it spans in the loop
/// body, its step and its modulus.
struct Wrap {
    at: usize,
    len: usize,
    step: Expr,
    modulus: Expr,
}

/// `w = (w + c) % S`, `w = w ^ 1`, `w = 1 - w`, or `w += c` followed by
/// `if (w == S) w = 0;` (also `>=`), starting at `body[at]`.
fn wrap_at(body: &[Stmt], at: usize, w: &str) -> Option<Wrap> {
    let is_w = |e: &Expr| matches!(e, Expr::Var(v) if v == w);
    let StmtKind::Assign { target, op, value } = &body.get(at)?.kind else {
        return None;
    };
    if !is_w(target) {
        return None;
    }
    let one = |step: Expr, modulus: Expr| {
        Some(Wrap {
            at,
            len: 1,
            step,
            modulus,
        })
    };
    match (op, value) {
        (AssignOp::Set, Expr::Binary(BinOp::Rem, x, s)) => {
            let p = Poly::from_expr(x)?;
            let c = p.sub(&Poly::symbol(w));
            if c.symbols().iter().any(|v| v == w) || c.is_zero() {
                return None;
            }
            one(c.to_expr(), (**s).clone())
        }
        (AssignOp::Set, Expr::Binary(BinOp::BitXor, a, b))
            if (is_w(a) && **b == Expr::Int(1)) || (is_w(b) && **a == Expr::Int(1)) =>
        {
            one(Expr::Int(1), Expr::Int(2))
        }
        (AssignOp::Set, Expr::Binary(BinOp::Sub, a, b)) if **a == Expr::Int(1) && is_w(b) => {
            one(Expr::Int(1), Expr::Int(2))
        }
        (AssignOp::Add, c) => {
            let StmtKind::If { cond, then, els } = &body.get(at + 1)?.kind else {
                return None;
            };
            let Expr::Binary(BinOp::Eq | BinOp::Ge, l, s) = cond else {
                return None;
            };
            let reset = matches!(
                then.as_slice(),
                [Stmt { kind: StmtKind::Assign { target, op: AssignOp::Set, value: Expr::Int(0) }, .. }]
                    if is_w(target)
            );
            if !is_w(l) || !reset || !els.is_empty() || *c != Expr::Int(1) {
                return None;
            }
            Some(Wrap {
                at,
                len: 2,
                step: Expr::Int(1),
                modulus: (**s).clone(),
            })
        }
        _ => None,
    }
}

/// Folds `(x % S + d) % S`, `x % 2 ^ 1` and `1 - x % 2` into one remainder.
fn fold_rings(e: Expr) -> Expr {
    e.map(&mut |e| match e {
        Expr::Binary(BinOp::Rem, ref x, ref s) => {
            let inner = |y: &Expr| match y {
                Expr::Binary(BinOp::Rem, y, s2) if **s2 == **s => Some((**y).clone()),
                _ => None,
            };
            let sum = match &**x {
                Expr::Binary(op @ (BinOp::Add | BinOp::Sub), a, d) => {
                    inner(a).map(|y| Expr::bin(*op, y, (**d).clone()))
                }
                _ => None,
            }
            .or_else(|| match &**x {
                Expr::Binary(BinOp::Add, d, a) => {
                    inner(a).map(|y| Expr::bin(BinOp::Add, (**d).clone(), y))
                }
                _ => None,
            });
            match sum {
                Some(sum) => rem(sum, (**s).clone()),
                None => e,
            }
        }
        Expr::Binary(BinOp::BitXor, ref a, ref b) => match (&**a, &**b) {
            (Expr::Binary(BinOp::Rem, x, s), Expr::Int(1))
            | (Expr::Int(1), Expr::Binary(BinOp::Rem, x, s))
                if **s == Expr::Int(2) =>
            {
                rem(
                    Expr::bin(BinOp::Add, (**x).clone(), Expr::Int(1)),
                    Expr::Int(2),
                )
            }
            _ => e,
        },
        Expr::Binary(BinOp::Sub, ref a, ref b) => match (&**a, &**b) {
            (Expr::Int(1), Expr::Binary(BinOp::Rem, x, s)) if **s == Expr::Int(2) => rem(
                Expr::bin(BinOp::Add, (**x).clone(), Expr::Int(1)),
                Expr::Int(2),
            ),
            _ => e,
        },
        other => other,
    })
}

fn fold_rings_stmt(s: &mut Stmt) {
    s.walk_mut(&mut |s| {
        let fold = |e: &mut Expr| {
            let taken = std::mem::replace(e, Expr::Int(0));
            *e = fold_rings(taken);
        };
        match &mut s.kind {
            StmtKind::Loop(l) => {
                fold(&mut l.start);
                fold(&mut l.end);
                fold(&mut l.step);
            }
            StmtKind::Assign { target, value, .. } => {
                fold(target);
                fold(value);
            }
            StmtKind::Decl { dims, init, .. } => {
                dims.iter_mut().for_each(fold);
                if let Some(v) = init {
                    fold(v);
                }
            }
            StmtKind::If { cond, .. } => fold(cond),
            StmtKind::Expr(e) => fold(e),
            StmtKind::Return(Some(e)) => fold(e),
            _ => {}
        }
    });
}

fn wrapped_block(f: &Function, all: &[Stmt], stmts: &mut [Stmt], depth: usize) {
    if depth > 64 {
        return;
    }
    for i in 0..stmts.len() {
        match &mut stmts[i].kind {
            StmtKind::Loop(l) => wrapped_block(f, all, &mut l.body, depth + 1),
            StmtKind::If { then, els, .. } => {
                wrapped_block(f, all, then, depth + 1);
                wrapped_block(f, all, els, depth + 1);
            }
            StmtKind::Opaque(b) => wrapped_block(f, all, b, depth + 1),
            _ => continue,
        }
        let (before, rest) = stmts.split_at_mut(i);
        let (cur, after) = rest.split_at_mut(1);
        if let StmtKind::Loop(l) = &mut cur[0].kind {
            if l.kind == LoopKind::Serial {
                wrap_loop(f, all, before, l, after);
            }
        }
    }
}

/// Rewrites the wrapped counters of one counted loop; `before` and
/// `after` are the statements around it in its list.
fn wrap_loop(f: &Function, all: &[Stmt], before: &[Stmt], l: &mut Loop, after: &[Stmt]) {
    let written = assigned(all);
    let mut done: Vec<String> = Vec::new();
    for _ in 0..4 {
        let found = l.body.iter().enumerate().find_map(|(at, s)| {
            let StmtKind::Assign {
                target: Expr::Var(w),
                ..
            } = &s.kind
            else {
                return None;
            };
            let wrap = wrap_at(&l.body, at, w)?;
            let w0 = init_of(all, w)?;
            // The update is the counter's only write besides its
            // declaration (the reset of `w += 1; if (w == S) w = 0;` is
            // the second), and nothing after the loop reads it.
            // Declared beside the loop, so that it starts from `w0`
            // each time the loop does.
            let beside = before.iter().any(
                |s| matches!(&s.kind, StmtKind::Decl { name, init: Some(_), .. } if name == w),
            );
            let ok = integer_var(f, w)
                && *w != l.var
                && beside
                && !done.contains(w)
                && defs(all, w) == 1 + wrap.len
                && invariant(&w0, &written)
                && invariant(&wrap.step, &written)
                && invariant(&wrap.modulus, &written)
                && !after.iter().any(|s| stmt_mentions(s, w));
            ok.then(|| (w.clone(), w0, wrap))
        });
        let Some((w, w0, wrap)) = found else { return };
        done.push(w.clone());
        let counts = l.start == Expr::Int(0) && l.step == Expr::Int(1);
        if !(counts || reindex(f, l)) {
            return;
        }
        let n = Expr::var(&l.var);
        let value = |k: i64| {
            let steps = Expr::bin(BinOp::Add, n.clone(), Expr::Int(k));
            rem(
                Expr::bin(
                    BinOp::Add,
                    w0.clone(),
                    Expr::bin(BinOp::Mul, steps, wrap.step.clone()),
                ),
                wrap.modulus.clone(),
            )
        };
        let (before, later) = (value(0), value(1));
        l.body.drain(wrap.at..wrap.at + wrap.len);
        for (i, s) in l.body.iter_mut().enumerate() {
            subst_stmt(s, &w, if i < wrap.at { &before } else { &later });
            fold_rings_stmt(s);
        }
    }
}

/// Re-indexes `l` over its iteration number from 0 (`l.var` becomes
/// `start + n*step` in the body); false where its bounds are not integer
/// expressions or the new name is taken.
fn reindex(f: &Function, l: &mut Loop) -> bool {
    let (Some(start), Some(end), Some(step)) = (
        Poly::from_expr(&l.start),
        Poly::from_expr(&l.end),
        Poly::from_expr(&l.step),
    ) else {
        return false;
    };
    if step.is_zero() || step.as_const().is_some_and(|c| c < 0) {
        return false;
    }
    let t = format!("{}_n", l.var);
    if f.vars.contains_key(&t) || super::written_names(&l.body).contains(&t) {
        return false;
    }
    super::rebase_loop(l, t, &start, &end, &step);
    true
}

// ---------------------------------------------------------------------------
// Lockstep counters

/// The bumps `v += c` (or `-=`) of one group of consecutive statements.
fn bump(s: &Stmt) -> Option<(String, Poly)> {
    let StmtKind::Assign {
        target: Expr::Var(v),
        op: op @ (AssignOp::Add | AssignOp::Sub),
        value,
    } = &s.kind
    else {
        return None;
    };
    let p = Poly::from_expr(value)?;
    Some((
        v.clone(),
        if *op == AssignOp::Sub { p.scale(-1) } else { p },
    ))
}

fn lockstep(f: &Function, body: &mut Vec<Stmt>) {
    // Find the groups first (in uncounted loops only), then rewrite.
    let written = assigned(body);
    let mut groups: Vec<Vec<(String, Poly)>> = Vec::new();
    for s in body.iter() {
        s.walk(&mut |s| {
            let StmtKind::Opaque(b) = &s.kind else { return };
            let mut i = 0;
            while i < b.len() {
                let mut g = Vec::new();
                while let Some(x) = b.get(i).and_then(bump) {
                    g.push(x);
                    i += 1;
                }
                if g.len() >= 2 {
                    groups.push(g);
                }
                i += 1;
            }
        });
    }
    for g in groups {
        let names: Vec<&String> = g.iter().map(|(v, _)| v).collect();
        let ok = g.iter().all(|(v, c)| {
            integer_var(f, v)
                && defs(body, v) == 2
                && init_of(body, v).is_some_and(|e| invariant(&e, &written))
                && c.symbols()
                    .iter()
                    .all(|s| !written.contains(s) && !names.contains(&s))
        });
        if !ok {
            continue;
        }
        let Some((n, _)) = g.iter().find(|(_, c)| *c == Poly::constant(1)) else {
            continue;
        };
        let Some(n0) = init_of(body, n) else { continue };
        for (v, c) in &g {
            if v == n {
                continue;
            }
            let Some(v0) = init_of(body, v) else { continue };
            let per = c;
            let with = Expr::bin(
                BinOp::Add,
                v0,
                Expr::bin(
                    BinOp::Mul,
                    Expr::bin(BinOp::Sub, Expr::var(n), n0.clone()),
                    per.to_expr(),
                ),
            );
            drop_bump(body, v);
            for s in body.iter_mut() {
                subst_stmt(s, v, &with);
            }
        }
    }
}

/// Removes the bump of `v` from the uncounted loop that holds it.
fn drop_bump(stmts: &mut Vec<Stmt>, v: &str) {
    stmts.retain(|s| !matches!(bump(s), Some((w, _)) if w == v));
    for s in stmts.iter_mut() {
        match &mut s.kind {
            StmtKind::Loop(l) => drop_bump(&mut l.body, v),
            StmtKind::If { then, els, .. } => {
                drop_bump(then, v);
                drop_bump(els, v);
            }
            StmtKind::Opaque(b) => drop_bump(b, v),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::{Expr, Lang, Stmt, StmtKind};

    /// The targets of the stores into `base`, as text, after normalising.
    fn stores(src: &str, base: &str) -> Vec<String> {
        let mut f = crate::frontend::lower(Lang::Cuda, "a.cu", src, &crate::NoIncludes);
        crate::normalize::normalize(&mut f);
        let mut out = Vec::new();
        for func in &f.functions {
            for s in &func.body {
                s.walk(&mut |s: &Stmt| {
                    if let StmtKind::Assign {
                        target: t @ Expr::Index { .. },
                        ..
                    } = &s.kind
                    {
                        if t.to_string().starts_with(base) {
                            out.push(t.to_string());
                        }
                    }
                });
            }
        }
        out
    }

    const TOGGLE: &str = "__global__ void k(int n, const float *x, float *y) {
        __shared__ float r[2][32];
        int buf = 0;
        r[buf][threadIdx.x] = x[threadIdx.x];
        for (int t = 0; t < n; t += 32) {
            r[buf ^ 1][threadIdx.x] = x[t + 32 + threadIdx.x];
            y[t + threadIdx.x] = r[buf][threadIdx.x];
            buf ^= 1;
        }
        AFTER
    }";

    #[test]
    fn toggled_buffer_is_the_iteration_number_mod_two() {
        let s = stores(&TOGGLE.replace("AFTER", ""), "r[");
        assert_eq!(s, vec!["r[0][threadIdx.x]", "r[(t_n+1)%2][threadIdx.x]"]);
    }

    #[test]
    fn counter_read_after_the_loop_is_left_alone() {
        let s = stores(&TOGGLE.replace("AFTER", "y[0] = buf;"), "r[");
        assert_eq!(s, vec!["r[buf][threadIdx.x]", "r[buf^1][threadIdx.x]"]);
    }

    #[test]
    fn wrapped_counters_with_a_reset_and_a_remainder() {
        let src = "__global__ void k(int n, const float *x, float *y) {
            __shared__ float r[3][32];
            int a = 2;
            int b = 0;
            for (int t = 0; t < n; ++t) {
                r[a][threadIdx.x] = x[t * 32 + threadIdx.x];
                r[b][threadIdx.x] = x[threadIdx.x];
                a = (a + 1) % 3;
                ++b;
                if (b == 3) b = 0;
            }
        }";
        assert_eq!(
            stores(src, "r["),
            vec!["r[(t+2)%3][threadIdx.x]", "r[t%3][threadIdx.x]"]
        );
    }

    #[test]
    fn lockstep_counters_follow_the_one_that_counts() {
        let src = "__global__ void k(int n, const float *x, float *y) {
            __shared__ float r[4][32];
            int f = 0;
            int off = 7;
            for (int t = 0; t < n; ++t) {
                for (; f < t + 3; ++f, off += 32) {
                    r[f % 4][threadIdx.x] = x[off + threadIdx.x];
                }
                y[t] = r[t % 4][threadIdx.x];
            }
        }";
        let mut f = crate::frontend::lower(Lang::Cuda, "a.cu", src, &crate::NoIncludes);
        crate::normalize::normalize(&mut f);
        let mut found = None;
        for s in &f.functions[0].body {
            s.walk(&mut |s: &Stmt| {
                if let StmtKind::Assign { target, value, .. } = &s.kind {
                    if target.to_string().starts_with("r[") {
                        found = Some(value.to_string());
                    }
                }
            });
        }
        assert_eq!(found.as_deref(), Some("x[7+(f-0)*32+threadIdx.x]"));
    }
}
