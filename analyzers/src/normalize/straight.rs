//! Pass 2a: symbolic evaluation of straight-line code, for the locals that
//! forward substitution cannot take because they are written more than
//! once: a temporary re-assigned in each copy of an unrolled body
//! (`a_p = A(0, p); ...; a_p = A(0, p+1); ...`), a pointer reset per
//! iteration and bumped as it is read (`bp = &B(p, 0); ... *bp++`), or
//! bumped several times per iteration (`*bp++` in four unrolled copies).
//!
//! Within one statement list, each such local's current value is followed
//! (as an absolute value after `x = e`, or as `x + offset` relative to its
//! value where the list begins while only bumps are seen) and substituted
//! into the reads that follow; its writes are dropped and replaced by one
//! statement at the end of the list (`x = final`, or one bump `x += total`)
//! and before any nested statement that writes it. Values read from memory
//! are given up (written back first) before a statement that writes that
//! memory. Accumulators (`s += a*b` on a scalar) are never followed.

use std::collections::HashSet;

use crate::ir::{AssignOp, BinOp, Expr, Function, Poly, Span, Stmt, StmtKind, UnOp};

/// Followed values larger than this (in expression nodes) are written
/// back instead, so that self-referential updates cannot blow up.
const MAX_NODES: usize = 64;

/// Runs the pass on one function.
pub(super) fn evaluate(f: &mut Function) {
    let mut sets: std::collections::HashMap<String, usize> = Default::default();
    let mut bad: HashSet<String> = HashSet::new();
    let mut loop_vars: HashSet<String> = HashSet::new();
    for s in &f.body {
        s.walk(&mut |s| match &s.kind {
            StmtKind::Assign {
                target: Expr::Var(v),
                op,
                value,
            } => {
                *sets.entry(v.clone()).or_default() += 1;
                let pointer = f.vars.get(v).is_some_and(|i| i.is_array);
                let ok = match op {
                    AssignOp::Set => plain(value),
                    AssignOp::Add | AssignOp::Sub => pointer && plain(value) && !value.mentions(v),
                    _ => false,
                };
                if !ok {
                    bad.insert(v.clone());
                }
            }
            StmtKind::Decl {
                name,
                init: Some(_),
                ..
            } => {
                *sets.entry(name.clone()).or_default() += 1;
            }
            StmtKind::Loop(l) => {
                loop_vars.insert(l.var.clone());
            }
            _ => {}
        });
    }
    // A vector register passed by value is a local that starts at its
    // argument: one more write (normalize/simd.rs).
    for p in &f.params {
        if super::simd::is_register_param(f, p) {
            *sets.entry(p.clone()).or_default() += 1;
        }
    }
    let tracked: HashSet<String> = sets
        .into_iter()
        .filter(|(v, n)| {
            *n >= 2
                && !bad.contains(v)
                && !loop_vars.contains(v)
                && f.vars
                    .get(v)
                    .is_some_and(|i| i.rank == 0 || i.shape.is_empty())
        })
        .map(|(v, _)| v)
        .collect();
    if tracked.is_empty() {
        return;
    }
    let body = std::mem::take(&mut f.body);
    f.body = block(body, &tracked, 0);
}

/// Names, numbers, arithmetic, array reads and addresses: no calls.
fn plain(e: &Expr) -> bool {
    let mut ok = true;
    e.walk(&mut |x| {
        if matches!(x, Expr::Call { .. } | Expr::Other(_) | Expr::Str(_)) {
            ok = false;
        }
    });
    ok
}

/// `&x[e]` as the pointer sum `x + e`.
fn address_sum(e: Expr) -> Expr {
    match e {
        Expr::Unary(UnOp::AddrOf, inner) => match *inner {
            Expr::Index { base, mut idx } if idx.len() == 1 => {
                Expr::bin(BinOp::Add, *base, idx.remove(0))
            }
            other => Expr::Unary(UnOp::AddrOf, Box::new(other)),
        },
        other => other,
    }
}

fn sum(a: Expr, b: Expr) -> Expr {
    let s = Expr::bin(BinOp::Add, a, b);
    Poly::from_expr(&s).map_or(s, |p| p.to_expr())
}

/// What a followed local is now.
#[derive(Clone)]
enum Val {
    /// `x = e` was seen: its value.
    Abs(Expr),
    /// Only bumps so far: the value at the list's start plus this.
    Rel(Expr),
}

fn arrays_read(e: &Expr, out: &mut HashSet<String>) {
    e.walk(&mut |x| {
        if let Expr::Index { base, .. } | Expr::Unary(UnOp::Deref, base) = x {
            base.walk(&mut |b| {
                if let Expr::Var(v) = b {
                    out.insert(v.clone());
                }
            });
        }
    });
}

fn written_arrays(s: &Stmt) -> HashSet<String> {
    let mut out = HashSet::new();
    s.walk(&mut |s| {
        if let StmtKind::Assign { target, .. } = &s.kind {
            if !matches!(target, Expr::Var(_)) {
                arrays_read(target, &mut out);
            }
        }
    });
    out
}

fn assigns(s: &Stmt, x: &str) -> bool {
    let mut found = false;
    s.walk(&mut |s| match &s.kind {
        StmtKind::Assign {
            target: Expr::Var(v),
            ..
        } if v == x => found = true,
        StmtKind::Decl { name, .. } if name == x => found = true,
        StmtKind::Loop(l) if l.var == x => found = true,
        _ => {}
    });
    found
}

/// The statement that writes `x`'s followed value back.
fn write_back(x: &str, v: &Val, span: Span) -> Option<Stmt> {
    let (op, value) = match v {
        Val::Abs(e) => (AssignOp::Set, e.clone()),
        Val::Rel(Expr::Int(0)) => return None,
        Val::Rel(e) => (AssignOp::Add, e.clone()),
    };
    Some(Stmt {
        kind: StmtKind::Assign {
            target: Expr::Var(x.to_string()),
            op,
            value,
        },
        span,
    })
}

fn substitute(e: Expr, env: &[(String, Val)]) -> Expr {
    if env.is_empty() {
        return e;
    }
    e.map(&mut |x| match x {
        Expr::Var(ref v) => match env.iter().find(|(n, _)| n == v) {
            Some((_, Val::Abs(e))) => e.clone(),
            Some((n, Val::Rel(off))) => sum(Expr::Var(n.clone()), off.clone()),
            None => x,
        },
        other => other,
    })
}

fn block(stmts: Vec<Stmt>, tracked: &HashSet<String>, depth: usize) -> Vec<Stmt> {
    if depth > 64 {
        return stmts;
    }
    let mut env: Vec<(String, Val)> = Vec::new();
    let mut out: Vec<Stmt> = Vec::with_capacity(stmts.len());
    for mut s in stmts {
        let span = s.span;
        // A write of a followed local in straight-line code.
        if let StmtKind::Assign {
            target: Expr::Var(x),
            op,
            value,
        } = &s.kind
        {
            if tracked.contains(x) {
                let value = address_sum(substitute(value.clone(), &env));
                let cur = env.iter().position(|(n, _)| n == x);
                let new = match (op, cur.map(|i| env[i].1.clone())) {
                    (AssignOp::Set, _) => Some(Val::Abs(value)),
                    (AssignOp::Add, Some(Val::Abs(e))) => Some(Val::Abs(sum(e, value))),
                    (AssignOp::Add, Some(Val::Rel(e))) => Some(Val::Rel(sum(e, value))),
                    (AssignOp::Add, None) => Some(Val::Rel(value)),
                    (AssignOp::Sub, Some(Val::Abs(e))) => {
                        Some(Val::Abs(sum(e, Expr::Unary(UnOp::Neg, Box::new(value)))))
                    }
                    (AssignOp::Sub, Some(Val::Rel(e))) => {
                        Some(Val::Rel(sum(e, Expr::Unary(UnOp::Neg, Box::new(value)))))
                    }
                    (AssignOp::Sub, None) => {
                        Some(Val::Rel(Expr::Unary(UnOp::Neg, Box::new(value))))
                    }
                    _ => None,
                };
                let size = |v: &Val| {
                    let mut n = 0usize;
                    match v {
                        Val::Abs(e) | Val::Rel(e) => e.walk(&mut |_| n += 1),
                    }
                    n
                };
                // Values that grow (`h = h*31 + c`, `x = x*x`) are not followed.
                let new = new.filter(|v| size(v) <= MAX_NODES);
                if new.is_none() {
                    if let Some(i) = cur {
                        let (x, v) = env.remove(i);
                        out.extend(write_back(&x, &v, span));
                    }
                    if let StmtKind::Assign { value, .. } = &mut s.kind {
                        let taken = std::mem::replace(value, Expr::Int(0));
                        *value = substitute(taken, &env);
                    }
                    out.push(s);
                    continue;
                }
                if let Some(v) = new {
                    match cur {
                        Some(i) => env[i].1 = v,
                        None => env.push((x.clone(), v)),
                    }
                    continue;
                }
            }
        }
        // Anything else: write back what it writes or could invalidate.
        let w = written_arrays(&s);
        let mut keep = Vec::new();
        for (x, v) in env.drain(..) {
            let mut reads = HashSet::new();
            if let Val::Abs(e) = &v {
                arrays_read(e, &mut reads);
            }
            if assigns(&s, &x) || reads.iter().any(|r| w.contains(r)) {
                out.extend(write_back(&x, &v, span));
            } else {
                keep.push((x, v));
            }
        }
        env = keep;
        {
            let env = &env;
            s.walk_mut(&mut |st| {
                st.exprs_mut(&mut |e| {
                    let taken = std::mem::replace(e, Expr::Int(0));
                    *e = substitute(taken, env);
                })
            });
        }
        match &mut s.kind {
            StmtKind::Loop(l) => l.body = block(std::mem::take(&mut l.body), tracked, depth + 1),
            StmtKind::If { then, els, .. } => {
                *then = block(std::mem::take(then), tracked, depth + 1);
                *els = block(std::mem::take(els), tracked, depth + 1);
            }
            StmtKind::Opaque(b) => *b = block(std::mem::take(b), tracked, depth + 1),
            _ => {}
        }
        out.push(s);
    }
    let end = out.last().map(|s| s.span).unwrap_or_default();
    for (x, v) in &env {
        out.extend(write_back(x, v, end));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::ir::{Expr, Lang, StmtKind};
    use crate::NoIncludes;

    fn lowered(src: &str) -> crate::ir::File {
        let mut f = crate::frontend::lower(Lang::C, "t.c", src, &NoIncludes);
        crate::normalize::normalize(&mut f);
        f
    }

    #[test]
    fn unrolled_temporaries_read_their_current_values() {
        let f = lowered(
            "void g(int k, const float *A, const float *B, float *out) {
               float t, acc = 0;
               for (int p = 0; p < k; p += 2) {
                 t = A[p]; acc += t * B[p];
                 t = A[p + 1]; acc += t * B[p + 1];
               }
               out[0] = acc;
             }",
        );
        let mut macs = Vec::new();
        f.functions[0].walk(&mut |s| {
            if let StmtKind::Assign {
                target: Expr::Var(v),
                value,
                ..
            } = &s.kind
            {
                if v == "acc" {
                    macs.push(value.to_string());
                }
            }
        });
        assert_eq!(macs, ["A[p]*B[p]", "A[p+1]*B[p+1]"]);
    }

    #[test]
    fn a_self_referential_chain_stays_small() {
        let mut body = String::from("double x = y[0], z;\n");
        for _ in 0..40 {
            body.push_str("x = x * x + x;\n");
        }
        body.push_str("y[1] = x;\n");
        let f = lowered(&format!("void g(double *y) {{ {body} }}"));
        let mut nodes = 0usize;
        f.functions[0].walk(&mut |s| {
            for e in s.exprs() {
                e.walk(&mut |_| nodes += 1);
            }
        });
        assert!(nodes < 4000, "{nodes}");
    }
}
