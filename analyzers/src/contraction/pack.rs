//! Packed panels: a local buffer that the function fills by copying
//! another array (the packing step of a blocked GEMM, often a helper
//! inlined into the nest: `P[i*K + 4*p + r] = A[p*lda + i + r]`) and that
//! the multiply-accumulate then reads (`P[i*K + 4*q + r]`) is read as the
//! array it copies (`A[q*lda + i + r]`), as a CUDA shared tile is read as
//! the global array its load statement copies ([`FnCx::untile`]).
//!
//! The forwarding is exact or nothing: the buffer is a local written only
//! by plain copies and passed to no call; the copy that fills the element
//! read comes before the read, and its own loops (those it does not share
//! with the read) are solved for from the read's index, each to a value
//! inside that loop's range; a copy under a condition on a shared loop
//! variable (`if (j == 0)`, a panel packed once and reused) must store and
//! copy the same element whatever that variable's value.

use std::collections::BTreeSet;

use super::{guarded_load, loop_of, same_access, simplified, FnCx};
use crate::ir::{Access, AssignOp, Expr, Loop, Poly, Stmt, StmtKind};

/// The prefix the copy's own loop variables get, apart from the reader's.
const OWN: &str = "__pk_";

impl FnCx<'_> {
    /// The access a read of a packed buffer stands for (`None` where
    /// `read.base` is no packed buffer, or the read does not map). `at` is
    /// the site of the statement that reads.
    pub(super) fn unpack(&self, read: &Access, at: usize) -> Option<Access> {
        let base = read.base.as_str();
        if !self.is_array(base) || self.f.params.iter().any(|p| p == base) {
            return None;
        }
        let mut found: Option<Access> = None;
        for (si, s) in self.sites.iter().enumerate() {
            if passes_to_call(s.stmt, base) {
                return None;
            }
            let StmtKind::Assign { target, op, value } = &s.stmt.kind else {
                continue;
            };
            let Some(t) = self.access(target) else {
                continue;
            };
            if t.base != base {
                continue;
            }
            // Every write is a copy of another array.
            let src = self.access(guarded_load(value))?;
            if *op != AssignOp::Set || src.base == base {
                return None;
            }
            let Some(mapped) = self.pack_map(&t, &src, read, si, at) else {
                continue;
            };
            // A copy after the read (the next panel packed over this one)
            // leaves which copy the read sees to the iteration order.
            if si > at {
                return None;
            }
            match &found {
                Some(f) if !same_access(f, &mapped) => return None,
                Some(_) => {}
                None => found = Some(mapped),
            }
        }
        found
    }

    /// The source of the copy `t = src` (site `si`) at the element the read
    /// (site `at`) reads, or `None` where the copy does not fill it.
    fn pack_map(
        &self,
        t: &Access,
        src: &Access,
        read: &Access,
        si: usize,
        at: usize,
    ) -> Option<Access> {
        if t.idx.len() != read.idx.len() {
            return None;
        }
        let (store, reader) = (&self.sites[si], &self.sites[at]);
        let common = store
            .loops
            .iter()
            .zip(&reader.loops)
            .take_while(|(a, b)| std::ptr::eq(**a, **b))
            .count();
        let own: Vec<&Loop> = store.loops[common..].iter().map(|s| loop_of(s)).collect();
        let ren = |e: &Expr| {
            let mut e = e.clone();
            for l in &own {
                e = e.substitute(&l.var, &Expr::Var(format!("{OWN}{}", l.var)));
            }
            e
        };
        // Each own variable (renamed) with its trip count where constant.
        let extents: Vec<(String, Option<i64>)> = own
            .iter()
            .map(|l| {
                let n = self
                    .folded(&l.end)
                    .zip(self.folded(&l.start))
                    .and_then(|(e, s)| e.sub(&s).as_const());
                (format!("{OWN}{}", l.var), n)
            })
            .collect();
        let mut sigma: Vec<(String, Poly)> = Vec::new();
        for (ti, ri) in t.idx.iter().zip(&read.idx) {
            let p = self.folded(&ren(ti))?;
            let r = self.folded(ri)?;
            solve_dim(&p, &r, &extents, &mut sigma)?;
        }
        for (w, v) in &sigma {
            let l = own.iter().find(|l| format!("{OWN}{}", l.var) == *w)?;
            if !self.in_range(v, l, &reader.loops) {
                return None;
            }
        }
        let subst = |e: &Expr| {
            let mut e = ren(e);
            for (w, v) in &sigma {
                e = e.substitute(w, &v.to_expr());
            }
            simplified(e)
        };
        let idx: Vec<Expr> = src.idx.iter().map(subst).collect();
        if idx
            .iter()
            .any(|e| e.vars().iter().any(|v| v.starts_with(OWN)))
        {
            return None;
        }
        // A condition on a shared loop variable: the copy runs in some of
        // its iterations only, so neither the element nor its value may
        // depend on it.
        let shared: BTreeSet<String> = store.loops[..common]
            .iter()
            .map(|s| loop_of(s).var.clone())
            .collect();
        let common_loops = &store.loops[..common];
        for cond in guards(&self.f.body, store.stmt, common_loops.last().copied()) {
            for v in cond.vars().intersection(&shared) {
                if t.idx.iter().chain(&idx).any(|e| e.mentions(v)) {
                    return None;
                }
            }
        }
        Some(Access {
            base: src.base.clone(),
            idx,
        })
    }

    /// The polynomial of `e` with the file's constants (`#define MR 4`)
    /// folded in, so that a panel width given by name divides.
    fn folded(&self, e: &Expr) -> Option<Poly> {
        let mut e = e.clone();
        for v in e.vars() {
            if let Some(k) = self.file.const_value(&v) {
                e = e.substitute(&v, &Expr::Int(k));
            }
        }
        Poly::from_expr(&e)
    }

    /// `v` (over the reader's loop variables) lies in `l`'s range: a
    /// constant, or one of the reader's loop variables plus a constant,
    /// whose loop runs inside `l`'s bounds. `l` counts by one.
    fn in_range(&self, v: &Poly, l: &Loop, reader: &[&Stmt]) -> bool {
        let konst = |p: &Poly| p.as_const().or_else(|| self.file.eval(&p.to_expr()));
        let (Some(lo), Some(hi)) = (self.folded(&l.start), self.folded(&l.end)) else {
            return false;
        };
        if self.folded(&l.step).and_then(|p| p.as_const()) != Some(1) {
            return false;
        }
        let vars: Vec<String> = v.symbols().into_iter().collect();
        let (below, above) = match vars.as_slice() {
            [] => (v.sub(&lo), hi.sub(v).sub(&Poly::constant(1))),
            [u] => {
                if v.coeff(u).and_then(|c| c.as_const()) != Some(1) {
                    return false;
                }
                let Some(ul) = reader.iter().map(|s| loop_of(s)).find(|x| x.var == *u) else {
                    return false;
                };
                let (Some(ulo), Some(uhi)) = (self.folded(&ul.start), self.folded(&ul.end)) else {
                    return false;
                };
                let c0 = v.sub(&Poly::symbol(u));
                (ulo.add(&c0).sub(&lo), hi.sub(&uhi).sub(&c0))
            }
            _ => return false,
        };
        matches!((konst(&below), konst(&above)), (Some(b), Some(a)) if b >= 0 && a >= 0)
    }
}

/// Solves one index of the copy's target, `p` (over the renamed own loop
/// variables `own`, each with its trip count where constant), against the read's `r`, extending `sigma`. One own
/// variable: `w = (r - rest) / c` exactly. Several: constant coefficients
/// in mixed radix (each variable's extent times its coefficient at most
/// the next coefficient up, so that the copy writes each element once),
/// each variable taking the part of the remainder its coefficient divides,
/// widest first.
fn solve_dim(
    p: &Poly,
    r: &Poly,
    own: &[(String, Option<i64>)],
    sigma: &mut Vec<(String, Poly)>,
) -> Option<()> {
    let mut p = p.clone();
    for (w, v) in sigma.iter() {
        p = Poly::from_expr(&p.to_expr().substitute(w, &v.to_expr()))?;
    }
    let is_own = |s: &String| s.starts_with(OWN);
    let mut coeffs: Vec<(String, Poly)> = Vec::new();
    let mut rest = Poly::default();
    for (mono, c) in &p.terms {
        let term = Poly {
            terms: [(mono.clone(), *c)].into_iter().collect(),
        };
        let vs: Vec<&String> = mono.iter().filter(|s| is_own(s)).collect();
        match vs.as_slice() {
            [] => rest = rest.add(&term),
            [w] => {
                let k = term.coeff(w)?;
                match coeffs.iter_mut().find(|(x, _)| x == *w) {
                    Some((_, e)) => *e = e.add(&k),
                    None => coeffs.push(((*w).clone(), k)),
                }
            }
            _ => return None,
        }
    }
    let mut d = r.sub(&rest);
    match coeffs.as_slice() {
        [] => return d.is_zero().then_some(()),
        [(w, c)] => {
            let v = super::divide_exact(&d, c)?;
            if v.symbols().iter().any(is_own) {
                return None;
            }
            sigma.push((w.clone(), v));
            return Some(());
        }
        _ => {}
    }
    // Mixed radix over constant coefficients.
    let mut by: Vec<(String, i64, Option<i64>)> = Vec::new();
    for (w, c) in &coeffs {
        let k = c.as_const().filter(|k| *k > 0)?;
        let extent = own.iter().find(|(x, _)| x == w)?.1;
        by.push((w.clone(), k, extent));
    }
    by.sort_by_key(|b| std::cmp::Reverse(b.1));
    for pair in by.windows(2) {
        if pair[1].1.checked_mul(pair[1].2?)? > pair[0].1 {
            return None;
        }
    }
    for (w, k, _) in &by {
        let mut hi = Poly::default();
        for (mono, c) in &d.terms {
            if c % k == 0 {
                hi = hi.add(&Poly {
                    terms: [(mono.clone(), c / k)].into_iter().collect(),
                });
            }
        }
        d = d.sub(&hi.scale(*k));
        sigma.push((w.clone(), hi));
    }
    d.is_zero().then_some(())
}

/// A call statement or call expression that takes `base` as an argument
/// (a helper left as a call may write the buffer).
fn passes_to_call(s: &Stmt, base: &str) -> bool {
    let mut found = false;
    for e in s.exprs() {
        e.walk(&mut |x| {
            if let Expr::Call { args, .. } = x {
                if args.iter().any(|a| a.mentions(base)) {
                    found = true;
                }
            }
        });
    }
    found
}

/// The conditions of the `if`s around `target` below the loop `under`
/// (the whole body when `None`).
fn guards<'a>(body: &'a [Stmt], target: &Stmt, under: Option<&Stmt>) -> Vec<&'a Expr> {
    fn go<'a>(
        body: &'a [Stmt],
        target: &Stmt,
        conds: &mut Vec<&'a Expr>,
        active: bool,
        under: Option<&Stmt>,
    ) -> Option<Vec<&'a Expr>> {
        for s in body {
            if std::ptr::eq(s, target) {
                return Some(conds.clone());
            }
            let here = active || under.is_some_and(|u| std::ptr::eq(s, u));
            let found = match &s.kind {
                StmtKind::Loop(l) => go(&l.body, target, conds, here, under),
                StmtKind::If { cond, then, els } => {
                    if here {
                        conds.push(cond);
                    }
                    let r = go(then, target, conds, here, under)
                        .or_else(|| go(els, target, conds, here, under));
                    if here {
                        conds.pop();
                    }
                    r
                }
                StmtKind::Opaque(b) => go(b, target, conds, here, under),
                _ => None,
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }
    go(body, target, &mut Vec::new(), under.is_none(), under).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poly(terms: &[(&[&str], i64)]) -> Poly {
        Poly {
            terms: terms
                .iter()
                .map(|(m, c)| {
                    let mut m: Vec<String> = m.iter().map(|s| s.to_string()).collect();
                    m.sort();
                    (m, *c)
                })
                .collect(),
        }
    }

    fn own(v: &str) -> String {
        format!("{OWN}{v}")
    }

    #[test]
    fn one_own_variable_is_solved_exactly() {
        // P[i*k + 4*w] read at P[i*k + 4*q]: w = q.
        let w = own("w");
        let p = poly(&[(&["i", "k"], 1), (&[w.as_str()], 4)]);
        let r = poly(&[(&["i", "k"], 1), (&["q"], 4)]);
        let mut sigma = Vec::new();
        assert!(solve_dim(&p, &r, &[(w.clone(), None)], &mut sigma).is_some());
        assert_eq!(sigma, vec![(w.clone(), Poly::symbol("q"))]);
        // Read at P[i*k + 4*q + 2]: no element of this copy.
        let r2 = r.add(&Poly::constant(2));
        assert!(solve_dim(&p, &r2, &[(w, None)], &mut Vec::new()).is_none());
    }

    #[test]
    fn several_own_variables_in_mixed_radix() {
        // P[4*q + r] (r < 4) read at P[4*x + 3]: q = x, r = 3.
        let (q, r) = (own("q"), own("r"));
        let p = poly(&[(&[q.as_str()], 4), (&[r.as_str()], 1)]);
        let read = poly(&[(&["x"], 4), (&[], 3)]);
        let mut sigma = Vec::new();
        let own_vars = [(q.clone(), None), (r.clone(), Some(4))];
        assert!(solve_dim(&p, &read, &own_vars, &mut sigma).is_some());
        assert_eq!(
            sigma,
            vec![
                (q.clone(), Poly::symbol("x")),
                (r.clone(), Poly::constant(3))
            ]
        );
        // P[2*q + r] with r < 4 writes elements twice: not solved.
        let p2 = poly(&[(&[q.as_str()], 2), (&[r.as_str()], 1)]);
        assert!(solve_dim(&p2, &read, &own_vars, &mut Vec::new()).is_none());
    }
}
