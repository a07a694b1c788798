//! Pass 2a': a double buffer's toggle guarded by "a next tile exists",
//! moved out of its guard (before the stage indices of 2b).
//!
//! A double-buffered tile loop fills the other buffer only while there is
//! a next tile, and flips its buffer index with the fill:
//! `if (k < K) { …store into As[w]…; w ^= 1; }` in a loop whose last
//! iteration is the one where `k < K` fails (`do { k += BK; … } while (k <
//! K)`, read as the counted loop `k = BK; k < K + BK`, or `for (k = 0; k
//! < K; k += BK) { if (k + BK < K) … }`). Where nothing after the flip
//! reads the index, in the guard or in the rest of the loop body, the
//! flip skipped on the last iteration is never seen: it is moved to just
//! after the guard, at the body's top level, where pass 2b reads the
//! index as the remainder of the iteration number. The flip is `w ^= 1`,
//! `w = w ^ 1` or `w = 1 - w`.

use crate::ir::{AssignOp, BinOp, Expr, Function, Loop, LoopKind, Poly, Stmt, StmtKind};

/// Runs the pass on one function.
pub(super) fn hoist(f: &mut Function) {
    for s in &mut f.body {
        s.walk_mut(&mut |s| {
            if let StmtKind::Loop(l) = &mut s.kind {
                hoist_loop(l);
            }
        });
    }
}

/// The buffer index a statement flips between 0 and 1.
fn flip(s: &Stmt) -> Option<&str> {
    let StmtKind::Assign {
        target: Expr::Var(w),
        op,
        value,
    } = &s.kind
    else {
        return None;
    };
    let is_w = |e: &Expr| matches!(e, Expr::Var(v) if v == w);
    let one = |e: &Expr| matches!(e, Expr::Int(1));
    let ok = match (op, value) {
        (AssignOp::Other, _) => false,
        (AssignOp::Set, Expr::Binary(BinOp::BitXor, a, b)) => {
            is_w(a) && one(b) || one(a) && is_w(b)
        }
        (AssignOp::Set, Expr::Binary(BinOp::Sub, a, b)) => one(a) && is_w(b),
        _ => false,
    };
    ok.then_some(w.as_str())
}

/// True when `cond` holds on every iteration of `l` but the last:
/// `g < E` with `g - v = E - end + step` for the loop's `v`, `end` and a
/// positive constant or symbolic `step`.
fn not_last(l: &Loop, cond: &Expr) -> bool {
    let (g, e) = match cond {
        Expr::Binary(BinOp::Lt, g, e) => (g, e),
        Expr::Binary(BinOp::Gt, e, g) => (g, e),
        _ => return false,
    };
    if !matches!(l.kind, LoopKind::Serial) || !g.mentions(&l.var) || e.mentions(&l.var) {
        return false;
    }
    let p = |x: &Expr| Poly::from_expr(x);
    let (Some(g), Some(e), Some(end), Some(step)) = (p(g), p(e), p(&l.end), p(&l.step)) else {
        return false;
    };
    if step.as_const().is_some_and(|c| c <= 0) {
        return false;
    }
    g.sub(&Poly::symbol(&l.var)) == e.sub(&end).add(&step)
}

fn mentions(s: &Stmt, name: &str) -> bool {
    let mut found = false;
    s.walk(&mut |st| {
        found |= st.exprs().iter().any(|e| e.mentions(name))
            || matches!(&st.kind, StmtKind::Assign { target: Expr::Var(v), .. } if v == name);
    });
    found
}

fn hoist_loop(l: &mut Loop) {
    let mut at = 0;
    while at < l.body.len() {
        let moved = match &l.body[at].kind {
            StmtKind::If { cond, then, els } if els.is_empty() && not_last(l, cond) => {
                then.iter().enumerate().find_map(|(i, s)| {
                    let w = flip(s)?;
                    let later = then[i + 1..].iter().chain(&l.body[at + 1..]);
                    (!later.into_iter().any(|t| mentions(t, w))
                        && !then[..i].iter().any(|t| flip(t) == Some(w)))
                    .then_some(i)
                })
            }
            _ => None,
        };
        if let Some(i) = moved {
            let StmtKind::If { then, .. } = &mut l.body[at].kind else {
                break;
            };
            let s = then.remove(i);
            l.body.insert(at + 1, s);
            at += 1;
        }
        at += 1;
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::{Expr, Lang, StmtKind};

    /// Whether the flip of `buf` sits at the top level of the `k` loop's
    /// body after the pass.
    fn hoisted(body: &str) -> bool {
        let src = format!(
            "__global__ void g(int n, float *x) {{\n\
               __shared__ float s[2][32];\n\
               int buf = 0;\n\
               for (int k = 0; k < n; k += 1) {{\n{body}\n}}\n\
             }}\n"
        );
        let mut f = crate::frontend::lower(Lang::Cuda, "a.cu", &src, &crate::NoIncludes);
        let func = &mut f.functions[0];
        super::hoist(func);
        let mut top = false;
        func.walk(&mut |s| {
            if let StmtKind::Loop(l) = &s.kind {
                if l.var == "k" {
                    top = l.body.iter().any(|s| {
                        matches!(&s.kind, StmtKind::Assign { target: Expr::Var(v), .. } if v == "buf")
                    });
                }
            }
        });
        top
    }

    #[test]
    fn flip_under_next_tile_guard_is_hoisted() {
        let fill = "s[buf][threadIdx.x] = x[k + 1];";
        assert!(hoisted(&format!(
            "x[k] = s[buf ^ 1][0]; if (k + 1 < n) {{ {fill} buf ^= 1; }}"
        )));
        // Read after the flip: the last trip would see the other buffer.
        assert!(!hoisted(&format!(
            "if (k + 1 < n) {{ {fill} buf ^= 1; }} x[k] = s[buf][0];"
        )));
        // A guard that fails on more than the last trip.
        assert!(!hoisted(&format!(
            "x[k] = s[buf ^ 1][0]; if (k < n - 2) {{ {fill} buf ^= 1; }}"
        )));
    }
}
