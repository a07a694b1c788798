//! C/C++ SYRK, SYR2K, SYMM and TRMM loop nests (GS105–GS108) → one
//! `cblas_?syrk` / `cblas_?syr2k` / `cblas_?symm` / `cblas_?trmm` call, plus
//! `#include <cblas.h>` once.
//!
//! These routines do less than a GEMM: SYRK/SYR2K write one triangle of C,
//! SYMM reads one triangle of A, TRMM overwrites B in place. A rewrite is
//! offered only where the nest does exactly that, which is checked on the
//! statements of the nest with the loops around each one (its iteration
//! domain) and their order:
//!
//! - SYRK/SYR2K: every statement that touches `C[i][j]` runs over the same
//!   triangle of the square (`j <= i` → `CblasLower`, `j >= i` →
//!   `CblasUpper`, diagonal included; the full square is refused), the
//!   scaling of C (beta) comes before the product for each element, and
//!   the product is `A(i,k)·A(j,k)` (SYR2K: `A(i,k)·B(j,k) + B(i,k)·A(j,k)`
//!   with one alpha); `trans` is whether A is stored the other way round
//!   from C.
//! - SYMM: either two k loops that split `0..n` at the diagonal and read
//!   the same triangle of S, once as `S(i,k)` and once mirrored as
//!   `S(k,i)` (side Left; Right for `B(i,k)·S(k,j)`), or the PolyBench
//!   rank-update form (`C[k][j] += alpha*B[i][j]*A[i][k]`, `t +=
//!   B[k][j]*A[i][k]` over `k < i`, then `C[i][j] = beta*C[i][j] +
//!   alpha*B[i][j]*A[i][i] + alpha*t`); `uplo` is the triangle read, in the
//!   order's layout.
//! - TRMM: `B(i,j)` is updated in place from rows `k > i` only (so every
//!   row read is still the original, with `i` ascending and enclosing the
//!   k loop), either `B += A·B` over `k > i` (unit diagonal) or an
//!   accumulator over `k >= i` stored back (non-unit); a scaling after the
//!   product is alpha. Right side for `B(i,k)·A(k,j)` over `k > j`.

use std::collections::HashMap;

use crate::contraction::{
    count_neg, has_access, is_zero, same_access, split_prod, split_sum, Nest, Shape,
};
use crate::finding::Finding;
use crate::fixes::cblas::{include_edit, matrix, order, routine_letter, scalar, trans, Operand};
use crate::fixes::{
    find_stmt, indent_at, printable, read_after, store_parts, Applicability, Beta, Fix, FixContext,
    FixResult, NoFix, Replacement,
};
use crate::ir::{
    Access, AssignOp, BinOp, Expr, File, Function, Lang, Loop, LoopKind, Poly, Span, Stmt,
    StmtKind, UnOp,
};

/// A statement of the nest with the loops around it (outer to inner) and
/// its position (child indices from the outer loop: textual order).
struct Leaf<'a> {
    stmt: &'a Stmt,
    loops: Vec<&'a Loop>,
    path: Vec<usize>,
}

impl<'a> Leaf<'a> {
    fn line(&self) -> usize {
        self.stmt.span.start_line
    }
    fn loop_of(&self, v: &str) -> Option<&'a Loop> {
        self.loops.iter().copied().find(|l| l.var == v)
    }
    fn pos(&self, v: &str) -> Option<usize> {
        self.loops.iter().position(|l| l.var == v)
    }
    fn vars(&self) -> Vec<&str> {
        self.loops.iter().map(|l| l.var.as_str()).collect()
    }
}

/// True when `a` comes before `b` in the text.
fn before(a: &Leaf, b: &Leaf) -> bool {
    a.path < b.path
}

/// The loops `a` and `b` share (the common prefix of their loop stacks).
fn shared<'a>(a: &Leaf<'a>, b: &Leaf<'a>) -> Vec<&'a Loop> {
    a.loops
        .iter()
        .zip(&b.loops)
        .take_while(|(x, y)| std::ptr::eq(**x, **y))
        .map(|(x, _)| *x)
        .collect()
}

fn collect<'a>(
    body: &'a [Stmt],
    loops: &mut Vec<&'a Loop>,
    path: &mut Vec<usize>,
    out: &mut Vec<Leaf<'a>>,
) -> Result<(), NoFix> {
    for (n, s) in body.iter().enumerate() {
        path.push(n);
        match &s.kind {
            StmtKind::Loop(l) => {
                if l.kind != LoopKind::Serial {
                    return Err(NoFix::new("CUDA kernels are not rewritten in place"));
                }
                if !matches!(l.step, Expr::Int(1)) && !down(l) {
                    return Err(NoFix::new(format!(
                        "the loop over `{}` (line {}) does not run in steps of 1",
                        l.var, s.span.start_line
                    )));
                }
                if loops.iter().any(|o| o.var == l.var) {
                    return Err(NoFix::new(format!(
                        "the loop over `{}` is nested in another loop over `{}`",
                        l.var, l.var
                    )));
                }
                loops.push(l);
                collect(&l.body, loops, path, out)?;
                loops.pop();
            }
            StmtKind::Assign { .. } | StmtKind::Decl { .. } => out.push(Leaf {
                stmt: s,
                loops: loops.clone(),
                path: path.clone(),
            }),
            _ => {
                return Err(NoFix::new(format!(
                    "the nest also contains other code (line {}); a library call would drop it",
                    s.span.start_line
                )))
            }
        }
        path.pop();
    }
    Ok(())
}

/// The loop runs downwards in steps of 1 (`for (i = n - 1; i >= 0; i--)`).
fn down(l: &Loop) -> bool {
    match &l.step {
        Expr::Int(-1) => true,
        Expr::Unary(UnOp::Neg, e) => matches!(**e, Expr::Int(1)),
        _ => false,
    }
}

/// Only TRMM's row loop may run downwards; elsewhere the order is not
/// proven to be irrelevant.
fn upwards(ls: &[Leaf]) -> Result<(), NoFix> {
    for l in ls {
        if let Some(d) = l.loops.iter().find(|x| down(x)) {
            return Err(NoFix::new(format!(
                "the loop over `{}` runs downwards; only upward loops are rewritten here",
                d.var
            )));
        }
    }
    Ok(())
}

fn same_poly(a: &Expr, b: &Expr) -> bool {
    match (Poly::from_expr(a), Poly::from_expr(b)) {
        (Some(p), Some(q)) => p == q,
        _ => a == b,
    }
}

/// `e` equals `v + d` (as polynomials).
fn is_var_plus(e: &Expr, v: &str, d: i64) -> bool {
    Poly::from_expr(e).is_some_and(|p| p == Poly::symbol(v).add(&Poly::constant(d)))
}

/// The sorted texts of scalar factors, to compare two scalings.
fn key(fs: &[Expr]) -> Vec<String> {
    let mut v: Vec<String> = fs
        .iter()
        .filter(|f| !matches!(f, Expr::Int(1)) && !matches!(f, Expr::Float(x) if *x == 1.0))
        .map(|f| f.to_string())
        .collect();
    v.sort();
    v
}

/// One product of two array reads times scalars.
#[derive(Clone, Debug)]
struct Term {
    ops: Vec<Access>,
    factors: Vec<Expr>,
    neg: bool,
}

impl Term {
    fn same_scale(&self, o: &Term) -> bool {
        self.neg == o.neg && key(&self.factors) == key(&o.factors)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tri {
    Lower,
    Upper,
}

impl Tri {
    fn flip(self) -> Tri {
        match self {
            Tri::Lower => Tri::Upper,
            Tri::Upper => Tri::Lower,
        }
    }
    fn cblas(self) -> &'static str {
        match self {
            Tri::Lower => "CblasLower",
            Tri::Upper => "CblasUpper",
        }
    }
}

enum Pre {
    Zero,
    Scale(Vec<Expr>),
}

/// The statements of a product into `C[i][j]`: a zero-initialisation or
/// scaling before it, the multiply-accumulates (into C directly or into a
/// scalar accumulator that is stored afterwards).
#[derive(Default)]
struct Update {
    pre: Option<(usize, Pre)>,
    /// (leaf, terms with the `-=` folded in).
    macs: Vec<(usize, Vec<Term>)>,
    acc: Option<String>,
    init: Option<usize>,
    store: Option<(usize, AssignOp, Expr)>,
    /// The MACs go into the accumulator.
    into_acc: bool,
}

struct Cx<'n, 'a> {
    file: &'a File,
    f: &'a Function,
    nest: &'n Nest<'a>,
    /// The loop variables of the nest.
    vars: Vec<String>,
    /// The full extent of each loop variable.
    ext: HashMap<String, Expr>,
}

impl<'n, 'a> Cx<'n, 'a> {
    fn access(&self, e: &Expr) -> Option<Access> {
        let a = Access::of(e, &|n| self.f.is_array(n))?;
        self.f.is_array(&a.base).then_some(a)
    }

    fn is_out(&self, e: &Expr) -> bool {
        self.access(e)
            .is_some_and(|a| same_access(&a, &self.nest.out))
    }

    fn op(&self, a: &Access, row: &str, col: &str) -> Result<Operand, NoFix> {
        matrix(self.f, self.file, a, row, col, &self.ext, &self.vars)
    }

    /// A scalar factor the library call can take: loop-invariant, no array
    /// read, no division, printable.
    fn check_scalar(&self, x: &Expr, acc: Option<&str>) -> Result<(), NoFix> {
        let mut div = false;
        x.walk(&mut |e| {
            if matches!(e, Expr::Binary(BinOp::Div, ..)) {
                div = true;
            }
        });
        if has_access(x)
            || self.vars.iter().any(|v| x.mentions(v))
            || x.mentions(&self.nest.out.base)
            || acc.is_some_and(|a| x.mentions(a))
        {
            return Err(NoFix::new(format!(
                "the scaling `{x}` changes inside the nest"
            )));
        }
        if div {
            return Err(NoFix::new(format!(
                "the product is divided by `{x}`; fold the division into alpha by hand \
                 (integer and floating division differ)"
            )));
        }
        if !printable(x, false) {
            return Err(NoFix::new(format!(
                "the scaling `{x}` cannot be printed as C"
            )));
        }
        Ok(())
    }

    /// Splits `value` into products of exactly two array reads.
    fn terms(&self, value: &Expr, negate: bool, acc: Option<&str>) -> Result<Vec<Term>, NoFix> {
        let mut sum = Vec::new();
        split_sum(value, negate, &mut sum);
        let mut out = Vec::new();
        for (neg, t) in sum {
            let mut fs = Vec::new();
            split_prod(&t, &mut fs);
            let neg = neg ^ (count_neg(&t) % 2 == 1);
            let mut ops = Vec::new();
            let mut factors = Vec::new();
            for f in fs {
                match self.access(&f) {
                    Some(a) => ops.push(a),
                    None => {
                        self.check_scalar(&f, acc)?;
                        factors.push(f);
                    }
                }
            }
            if ops.len() != 2 {
                return Err(NoFix::new(format!(
                    "the term `{t}` is not a product of two array elements"
                )));
            }
            out.push(Term { ops, factors, neg });
        }
        Ok(out)
    }

    /// Classifies the statements of a product into the output
    /// (`nest.out`): see [`Update`].
    fn gather(&self, ls: &[Leaf]) -> Result<Update, NoFix> {
        // The accumulator: the scalar that is `+=`-ed and stored into C.
        let mut u = Update {
            acc: self.accumulator(ls)?,
            ..Update::default()
        };
        let acc = u.acc.clone();
        let mentions_acc = |e: &Expr| acc.as_ref().is_some_and(|a| e.mentions(a));
        for (n, l) in ls.iter().enumerate() {
            match &l.stmt.kind {
                StmtKind::Decl { name, init, .. } if Some(name) == acc.as_ref() => match init {
                    None => {}
                    Some(e) if is_zero(e) && u.init.is_none() => u.init = Some(n),
                    Some(e) => {
                        return Err(NoFix::new(format!(
                            "the accumulator `{name}` starts at `{e}`, not 0 (a bias or an \
                             earlier value); add it separately to use a library call"
                        )))
                    }
                },
                StmtKind::Decl { name, .. } => {
                    return Err(NoFix::new(format!(
                        "the nest also declares `{name}` (line {}); a library call would \
                         drop that",
                        l.line()
                    )))
                }
                StmtKind::Assign { target, op, value } => {
                    let acc_target = matches!(target, Expr::Var(v) if Some(v) == acc.as_ref());
                    match op {
                        AssignOp::Add | AssignOp::Sub if acc_target => {
                            u.into_acc = true;
                            let ts = self.terms(value, *op == AssignOp::Sub, None)?;
                            u.macs.push((n, ts));
                        }
                        AssignOp::Set if acc_target && is_zero(value) && u.init.is_none() => {
                            u.init = Some(n)
                        }
                        AssignOp::Set if acc_target => {
                            return Err(NoFix::new(format!(
                                "the accumulator `{target}` starts at `{value}`, not 0 (a \
                                 bias or an earlier value); add it separately to use a \
                                 library call"
                            )))
                        }
                        _ if self.is_out(target) && mentions_acc(value) => {
                            if u.store.is_some() {
                                return Err(NoFix::new("the accumulator is stored twice"));
                            }
                            u.store = Some((n, *op, value.clone()));
                        }
                        AssignOp::Add | AssignOp::Sub if self.is_out(target) => {
                            let ts = self.terms(value, *op == AssignOp::Sub, None)?;
                            u.macs.push((n, ts));
                        }
                        AssignOp::Set | AssignOp::Mul
                            if self.is_out(target) && u.macs.is_empty() && u.pre.is_none() =>
                        {
                            let pre = self.pre_of(*op, value).ok_or_else(|| {
                                NoFix::new(format!(
                                    "the output is set to `{value}` before the product \
                                     (line {})",
                                    l.line()
                                ))
                            })?;
                            u.pre = Some((n, pre));
                        }
                        AssignOp::Set | AssignOp::Mul
                            if self.is_out(target) && !u.macs.is_empty() =>
                        {
                            return Err(NoFix::new(format!(
                                "the output is set to `{value}` after the product (line {}); \
                                 the routine's beta scales C before it",
                                l.line()
                            )))
                        }
                        _ => {
                            return Err(NoFix::new(format!(
                                "the nest also assigns `{target}` (line {}); a library call \
                                 would drop that",
                                l.line()
                            )))
                        }
                    }
                }
                _ => unreachable!("leaves are assignments and declarations"),
            }
        }
        if u.macs.is_empty() {
            return Err(NoFix::new(
                "the multiply-accumulate was not found in the nest",
            ));
        }
        if u.into_acc && u.macs.len() != ls.iter().filter(|l| is_acc_mac(l, &acc)).count() {
            return Err(NoFix::new(
                "the nest accumulates both into the output and into a scalar",
            ));
        }
        if u.into_acc && u.store.is_none() {
            return Err(NoFix::new(format!(
                "the accumulator `{}` is not stored into the output in the nest",
                acc.clone().unwrap_or_default()
            )));
        }
        if u.into_acc && u.init.is_none() {
            return Err(NoFix::new(format!(
                "the accumulator `{}` does not start at zero in the nest (a bias or an \
                 earlier value is added)",
                acc.clone().unwrap_or_default()
            )));
        }
        if u.into_acc && u.macs.iter().any(|(n, _)| !is_acc_mac(&ls[*n], &acc)) {
            return Err(NoFix::new(
                "the nest accumulates both into the output and into a scalar",
            ));
        }
        Ok(u)
    }

    /// The scalar that is `+=`-ed in the nest and whose value is stored
    /// into the output, if there is one.
    fn accumulator(&self, ls: &[Leaf]) -> Result<Option<String>, NoFix> {
        let stored = |v: &str| {
            ls.iter().any(|l| {
                matches!(&l.stmt.kind, StmtKind::Assign { target, value, .. }
                    if self.is_out(target) && value.mentions(v))
            })
        };
        let mut acc: Option<String> = None;
        for l in ls {
            if let StmtKind::Assign {
                target: Expr::Var(v),
                op: AssignOp::Add | AssignOp::Sub,
                ..
            } = &l.stmt.kind
            {
                if !stored(v) {
                    continue;
                }
                if acc.as_ref().is_some_and(|a| a != v) {
                    return Err(NoFix::new(format!(
                        "the nest accumulates into `{v}` as well"
                    )));
                }
                acc = Some(v.clone());
            }
        }
        Ok(acc)
    }

    /// `C = 0` → zero; `C *= s` / `C = s*C` → scale by `s`.
    fn pre_of(&self, op: AssignOp, value: &Expr) -> Option<Pre> {
        match op {
            AssignOp::Set if is_zero(value) => Some(Pre::Zero),
            AssignOp::Mul => {
                self.check_scalar(value, None).ok()?;
                Some(Pre::Scale(vec![value.clone()]))
            }
            AssignOp::Set => {
                if count_neg(value) != 0 {
                    return None;
                }
                let mut fs = Vec::new();
                split_prod(value, &mut fs);
                let n = fs.iter().filter(|f| self.is_out(f)).count();
                fs.retain(|f| !self.is_out(f));
                if n != 1 || fs.is_empty() || fs.iter().any(|f| self.check_scalar(f, None).is_err())
                {
                    return None;
                }
                Some(Pre::Scale(fs))
            }
            _ => None,
        }
    }

    /// Checks the order of an [`Update`]'s statements (the initialisation
    /// or scaling comes before each element's product, the accumulator is
    /// set, accumulated and stored in one iteration of the output loops
    /// `ij`) and works out beta and the terms' final scaling.
    fn settle(&self, ls: &[Leaf], u: &Update, ij: [&str; 2]) -> Result<(Vec<Term>, Beta), NoFix> {
        let out_loops = |l: &Leaf| -> bool {
            let mut v = l.vars();
            v.sort();
            let mut w = ij.to_vec();
            w.sort();
            v == w
        };
        if let Some((p, _)) = &u.pre {
            let pre = &ls[*p];
            if !out_loops(pre) {
                return Err(NoFix::new(format!(
                    "the output is initialised (line {}) inside loops other than its own",
                    pre.line()
                )));
            }
            for (m, _) in &u.macs {
                let mac = &ls[*m];
                let sh = shared(pre, mac);
                if !before(pre, mac) || sh.iter().any(|l| !ij.contains(&l.var.as_str())) {
                    return Err(NoFix::new(format!(
                        "the output's initialisation (line {}) does not come before each \
                         element's product (line {})",
                        pre.line(),
                        mac.line()
                    )));
                }
            }
        }
        let mut terms: Vec<Term> = u.macs.iter().flat_map(|(_, t)| t.clone()).collect();
        let beta_pre = match &u.pre {
            None => Beta::One,
            Some((_, Pre::Zero)) => Beta::Zero,
            Some((_, Pre::Scale(s))) => Beta::Scaled(s.clone()),
        };
        if !u.into_acc {
            return Ok((terms, beta_pre));
        }
        let acc = u.acc.clone().unwrap_or_default();
        let store = u
            .store
            .as_ref()
            .ok_or_else(|| NoFix::new("the accumulator is never stored into C"))?;
        let (init, (st, op, value)) = (&ls[u.init.unwrap_or(0)], store);
        let store = &ls[*st];
        let same_loops = |a: &Leaf, b: &Leaf| {
            a.loops.len() == b.loops.len() && shared(a, b).len() == a.loops.len()
        };
        if !same_loops(init, store) || !out_loops(init) {
            return Err(NoFix::new(format!(
                "the accumulator `{acc}` is not set and stored once per output element"
            )));
        }
        for (m, _) in &u.macs {
            let mac = &ls[*m];
            if shared(init, mac).len() != init.loops.len()
                || !before(init, mac)
                || !before(mac, store)
            {
                return Err(NoFix::new(format!(
                    "the accumulation into `{acc}` (line {}) is not between its \
                     initialisation and its store",
                    mac.line()
                )));
            }
        }
        // The accumulator must not be read anywhere else.
        for (n, l) in ls.iter().enumerate() {
            let ours = u.macs.iter().any(|(m, _)| *m == n) || n == *st || Some(n) == u.init;
            if !ours && l.stmt.exprs().iter().any(|e| e.mentions(&acc)) {
                return Err(NoFix::new(format!(
                    "`{acc}` is also used on line {}",
                    l.line()
                )));
            }
        }
        let beta = match op {
            AssignOp::Add => beta_pre,
            AssignOp::Sub => {
                for t in &mut terms {
                    t.neg = !t.neg;
                }
                beta_pre
            }
            AssignOp::Set => {
                if u.pre.is_some() {
                    return Err(NoFix::new("the output is also written before the product"));
                }
                let access = |e: &Expr| self.access(e);
                let (a, neg, beta) = store_parts(value, &acc, &self.nest.out, &access)?;
                for x in &a {
                    self.check_scalar(x, Some(&acc))?;
                }
                for t in &mut terms {
                    t.factors.extend(a.iter().cloned());
                    t.neg ^= neg;
                }
                match beta {
                    None => Beta::Zero,
                    Some(b) if key(&b).is_empty() => Beta::One,
                    Some(b) => {
                        for x in &b {
                            self.check_scalar(x, Some(&acc))?;
                        }
                        Beta::Scaled(b)
                    }
                }
            }
            _ => return Err(NoFix::new("the output is stored with an unusual operator")),
        };
        Ok((terms, beta))
    }
}

fn is_acc_mac(l: &Leaf, acc: &Option<String>) -> bool {
    matches!(&l.stmt.kind, StmtKind::Assign { target: Expr::Var(v), op: AssignOp::Add | AssignOp::Sub, .. } if Some(v) == acc.as_ref())
}

/// The loop variable with role `c` in the nest.
fn role(nest: &Nest<'_>, c: char) -> Result<String, NoFix> {
    nest.loops
        .iter()
        .find(|l| l.role == c)
        .map(|l| l.var.clone())
        .ok_or_else(|| NoFix::new(format!("the nest has no {c} loop")))
}

/// A loop that must run over `0..end` (rectangular).
fn full(l: &Loop) -> Result<&Expr, NoFix> {
    if !matches!(l.start, Expr::Int(0)) {
        return Err(NoFix::new(format!(
            "the loop over `{}` does not start at 0",
            l.var
        )));
    }
    Ok(&l.end)
}

/// The (i, j) triangle a statement runs over, in the output's logical
/// coordinates (row `i`, column `j`), and the order `n` of the square.
fn triangle(l: &Leaf, i: &str, j: &str, routine: &str) -> Result<(Option<Tri>, Expr), NoFix> {
    let (Some(pi), Some(pj)) = (l.pos(i), l.pos(j)) else {
        return Err(NoFix::new(format!(
            "the statement on line {} does not run over both `{i}` and `{j}`",
            l.line()
        )));
    };
    let (outer, inner) = if pi < pj {
        (l.loops[pi], l.loops[pj])
    } else {
        (l.loops[pj], l.loops[pi])
    };
    let n = full(outer)?.clone();
    let (o, iv) = (outer.var.as_str(), inner.var.as_str());
    let (s, e) = (&inner.start, &inner.end);
    // `inner <= outer` or `inner >= outer`.
    let le = if is_zero(s) && same_poly(e, &n) {
        return Ok((None, n));
    } else if is_zero(s) && is_var_plus(e, o, 1) {
        true
    } else if is_var_plus(s, o, 0) && same_poly(e, &n) {
        false
    } else if (is_zero(s) && is_var_plus(e, o, 0)) || (is_var_plus(s, o, 1) && same_poly(e, &n)) {
        return Err(NoFix::new(format!(
            "the loop over `{iv}` leaves out the diagonal (`{iv}` {} `{o}`); {routine} \
             updates the diagonal too",
            if is_zero(s) { "<" } else { ">" }
        )));
    } else {
        return Err(NoFix::new(format!(
            "the loop over `{iv}` runs from `{s}` to `{e}`, which is not one triangle of \
             the {n}×{n} output with its diagonal"
        )));
    };
    // In (i, j): `j <= i` is the lower triangle.
    let lower = if iv == j { le } else { !le };
    Ok((Some(if lower { Tri::Lower } else { Tri::Upper }), n))
}

fn beta_text(b: &Beta, suffix: &str) -> Result<String, NoFix> {
    Ok(match b {
        Beta::Zero => format!("0.0{suffix}"),
        Beta::One => format!("1.0{suffix}"),
        Beta::Scaled(fs) => scalar(fs, false, suffix)?,
    })
}

fn text_of(e: &Expr) -> Result<String, NoFix> {
    if !printable(e, false) {
        return Err(NoFix::new(format!(
            "the bound `{e}` cannot be printed as C"
        )));
    }
    Ok(e.to_string())
}

/// The fix for a GS105–GS108 nest in C/C++ host code.
/// The fix of a SYRK, SYR2K, SYMM or TRMM finding: in C/C++ only.
pub fn fix_c(cx: &FixContext<'_>, finding: &Finding) -> FixResult {
    if cx.file.lang == Lang::Python {
        return Err(NoFix::new(format!(
            "{} is not rewritten in Python: the nest must match the BLAS routine's \
             triangle, uplo/side/diag convention and in-place semantics exactly, which \
             gemmscope proves for C/C++ only",
            finding.routine.as_str().to_uppercase()
        )));
    }
    fix(cx.file, cx.text, cx.nest()?)
}

pub fn fix(file: &File, text: &str, nest: &Nest<'_>) -> FixResult {
    if nest.tiled || nest.has_thread_loops() {
        return Err(NoFix::new("CUDA kernels are not rewritten in place"));
    }
    let outer = find_stmt(nest.func, nest.range)
        .ok_or_else(|| NoFix::new("the nest's outer loop was not found"))?;
    let mut ls = Vec::new();
    collect(
        std::slice::from_ref(outer),
        &mut Vec::new(),
        &mut Vec::new(),
        &mut ls,
    )?;
    let mut vars: Vec<String> = Vec::new();
    for l in &ls {
        for v in l.vars() {
            if !vars.iter().any(|x| x == v) {
                vars.push(v.to_string());
            }
        }
    }
    // Hoisted locals (`double a = alpha*A[i][k];`) that the normaliser has
    // substituted into their uses: dead once the nest goes, as long as
    // nothing reads them after it.
    let (dead, ls) = drop_dead_locals(nest.func, ls, &vars);
    let cx = Cx {
        file,
        f: nest.func,
        nest,
        vars,
        ext: HashMap::new(),
    };
    let (call, title, names, acc) = match nest.shape {
        Shape::Syrk | Shape::Syr2k => {
            upwards(&ls)?;
            rank_k(cx, &ls)?
        }
        Shape::Symm => {
            upwards(&ls)?;
            symm(cx, &ls)?
        }
        Shape::Trmm => trmm(cx, &ls)?,
        _ => return Err(NoFix::new("not a SYRK, SYR2K, SYMM or TRMM nest")),
    };
    // Loop counters and the accumulator must not be read after the nest.
    let mut watch: Vec<String> = Vec::new();
    for l in &ls {
        for v in l.vars() {
            watch.push(v.to_string());
        }
    }
    watch.extend(acc);
    watch.extend(dead);
    if let Some(v) = read_after(nest.func, outer.span, &watch) {
        return Err(NoFix::new(format!(
            "`{v}` is read after the nest, which a library call would not set"
        )));
    }
    finish(file, text, outer.span, call, title, names)
}

/// Splits off the declarations and assignments of scalar locals that no
/// other statement of the nest mentions and whose value calls nothing;
/// returns their names and the remaining statements.
fn drop_dead_locals<'a>(
    f: &Function,
    ls: Vec<Leaf<'a>>,
    vars: &[String],
) -> (Vec<String>, Vec<Leaf<'a>>) {
    let local = |l: &Leaf| -> Option<(String, Option<Expr>)> {
        match &l.stmt.kind {
            StmtKind::Decl {
                name, init, dims, ..
            } if dims.is_empty() => Some((name.clone(), init.clone())),
            StmtKind::Assign {
                target: Expr::Var(v),
                op: AssignOp::Set,
                value,
            } => Some((v.clone(), Some(value.clone()))),
            _ => None,
        }
    };
    let mut dead = Vec::new();
    let mut keep = Vec::new();
    for (n, l) in ls.iter().enumerate() {
        let is_dead = local(l).is_some_and(|(name, value)| {
            let mut call = false;
            if let Some(v) = &value {
                v.walk(&mut |x| call |= matches!(x, Expr::Call { .. }));
            }
            !call
                && !f.is_array(&name)
                && !vars.contains(&name)
                && !value.as_ref().is_some_and(|v| v.mentions(&name))
                && ls.iter().enumerate().all(|(m, o)| {
                    m == n
                        || local(o).is_some_and(|(x, v)| {
                            x == name && !v.as_ref().is_some_and(|v| v.mentions(&name))
                        })
                        || !o.stmt.exprs().iter().any(|e| e.mentions(&name))
                })
        });
        if is_dead {
            if let Some((name, _)) = local(l) {
                dead.push(name);
            }
        } else {
            keep.push(n);
        }
    }
    let ls = ls
        .into_iter()
        .enumerate()
        .filter(|(n, _)| keep.contains(n))
        .map(|(_, l)| l)
        .collect();
    (dead, ls)
}

/// (the calls, the title, the arrays (output first), the accumulator).
type Rewrite = (Vec<String>, String, Vec<String>, Option<String>);

fn finish(
    file: &File,
    text: &str,
    outer: Span,
    calls: Vec<String>,
    title: String,
    names: Vec<String>,
) -> FixResult {
    let (indent, only_ws) = indent_at(text, outer.start_byte);
    if !only_ws {
        return Err(NoFix::new("the nest does not start its own line"));
    }
    let mut edits = Vec::new();
    if let Some(inc) = include_edit(file, text, "cblas.h") {
        edits.push(inc);
    }
    edits.push(Replacement {
        start: outer.start_byte,
        end: outer.end_byte,
        new_text: calls.join(&format!("\n{indent}")),
    });
    let (out, ins) = names.split_first().expect("the output is named");
    let ins: Vec<String> = ins.iter().map(|n| format!("`{n}`")).collect();
    Ok(vec![Fix {
        title,
        edits,
        applicability: Applicability::Exact,
        assumes: vec![
            format!(
                "`{out}` does not overlap {} (BLAS reads the inputs while writing the output)",
                ins.join(" or ")
            ),
            "link with a CBLAS (-lopenblas); results differ in the last bits (summation order)"
                .into(),
        ],
    }])
}

// ---------------------------------------------------------------------------
// SYRK and SYR2K

fn rank_k(mut cx: Cx<'_, '_>, ls: &[Leaf]) -> Result<Rewrite, NoFix> {
    let nest = cx.nest;
    let routine = if nest.shape == Shape::Syrk {
        "syrk"
    } else {
        "syr2k"
    };
    let (i, j) = (role(nest, 'i')?, role(nest, 'j')?);
    let u = cx.gather(ls)?;
    // Every statement on C runs over the same triangle.
    let mut tri: Option<(Option<Tri>, Expr)> = None;
    for l in ls {
        let t = triangle(l, &i, &j, routine)?;
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
    let (tri, n) = tri.ok_or_else(|| NoFix::new("no statement runs over the output"))?;
    // The k loops: 0..K, K the same for every product.
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
    let (k, kext) = kk.ok_or_else(|| NoFix::new("the nest has no product"))?;
    cx.ext = HashMap::from([
        (i.clone(), n.clone()),
        (j.clone(), n.clone()),
        (k.clone(), kext.clone()),
    ]);
    let (terms, beta) = cx.settle(ls, &u, [&i, &j])?;
    let c = cx.op(&nest.out, &i, &j)?;
    // `ops` as (the read indexed by i, the read indexed by j).
    let split = |t: &Term| -> Result<(Access, Access), NoFix> {
        let [x, y] = [&t.ops[0], &t.ops[1]];
        let by = |a: &Access, v: &str, w: &str| {
            a.idx.iter().any(|e| e.mentions(v)) && !a.idx.iter().any(|e| e.mentions(w))
        };
        if by(x, &i, &j) && by(y, &j, &i) {
            Ok((x.clone(), y.clone()))
        } else if by(y, &i, &j) && by(x, &j, &i) {
            Ok((y.clone(), x.clone()))
        } else {
            Err(NoFix::new(format!(
                "the product `{}·{}` does not read one operand at `{i}` and the other at `{j}`",
                Expr::Var(x.base.clone()),
                Expr::Var(y.base.clone())
            )))
        }
    };
    let (a_op, b_op, bases, t0) = if nest.shape == Shape::Syrk {
        if terms.len() != 1 {
            return Err(NoFix::new(
                "the nest sums several products; SYRK computes one",
            ));
        }
        let (x, y) = split(&terms[0])?;
        if x.base != y.base {
            return Err(NoFix::new("the two factors are different arrays"));
        }
        let (oa, ob) = (cx.op(&x, &i, &k)?, cx.op(&y, &j, &k)?);
        if oa != ob {
            return Err(NoFix::new(format!(
                "`{}` is read at different positions for `{i}` and `{j}`; SYRK needs A·Aᵀ",
                x.base
            )));
        }
        (oa, None, vec![x.base.clone()], terms[0].clone())
    } else {
        if terms.len() != 2 {
            return Err(NoFix::new(format!(
                "the nest sums {} products; SYR2K sums two (A·Bᵀ + B·Aᵀ)",
                terms.len()
            )));
        }
        let (x0, y0) = split(&terms[0])?;
        let (x1, y1) = split(&terms[1])?;
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
        let (oa, oa2) = (cx.op(&x0, &i, &k)?, cx.op(&y1, &j, &k)?);
        let (ob, ob2) = (cx.op(&y0, &j, &k)?, cx.op(&x1, &i, &k)?);
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
        (
            oa,
            Some(ob),
            vec![x0.base.clone(), y0.base.clone()],
            terms[0].clone(),
        )
    };
    if bases.contains(&nest.out.base) {
        return Err(NoFix::new("the output is also an operand"));
    }
    let mut names = vec![nest.out.base.clone()];
    names.extend(bases.iter().cloned());
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    let (letter, suffix) = routine_letter(cx.f, &refs)?;
    let alpha = scalar(&t0.factors, t0.neg, suffix)?;
    let beta = beta_text(&beta, suffix)?;
    let (n_t, k_t) = (text_of(&n)?, text_of(&kext)?);
    let tr = trans(&a_op, &c);
    let call = match (tri, &b_op) {
        (Some(tri), None) => vec![format!(
            "cblas_{letter}syrk({}, {}, {tr}, {n_t}, {k_t}, {alpha}, {}, {}, {beta}, {}, {});",
            order(&c),
            tri.cblas(),
            a_op.ptr,
            a_op.ld,
            c.ptr,
            c.ld
        )],
        (Some(tri), Some(b)) => vec![format!(
            "cblas_{letter}syr2k({}, {}, {tr}, {n_t}, {k_t}, {alpha}, {}, {}, {}, {}, {beta}, \
             {}, {});",
            order(&c),
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
                    order(&c),
                    x.ptr,
                    x.ld,
                    y.ptr,
                    y.ld,
                    c.ptr,
                    c.ld
                )
            };
            match b {
                None => vec![gemm(&a_op, &a_op, &beta)],
                Some(b) => vec![
                    gemm(&a_op, b, &beta),
                    gemm(b, &a_op, &format!("1.0{suffix}")),
                ],
            }
        }
    };
    let title = match tri {
        Some(_) => format!("Replace the loop nest with cblas_{letter}{routine}"),
        None => format!(
            "Replace the loop nest with cblas_{letter}gemm (it fills the full square, where \
             {routine} would set one triangle)"
        ),
    };
    Ok((call, title, names, u.acc.clone()))
}

// ---------------------------------------------------------------------------
// SYMM

fn symm(mut cx: Cx<'_, '_>, ls: &[Leaf]) -> Result<Rewrite, NoFix> {
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
        return symm_rank_update(cx, ls);
    }
    let (i, j) = (role(nest, 'i')?, role(nest, 'j')?);
    // The output's loops: rectangular.
    for l in ls {
        for v in [&i, &j] {
            if let Some(lp) = l.loop_of(v) {
                let e = full(lp)?;
                let prev = cx.ext.insert(v.clone(), e.clone());
                if prev.is_some_and(|p| !same_poly(&p, e)) {
                    return Err(NoFix::new(format!(
                        "the loops over `{v}` have different bounds"
                    )));
                }
            }
        }
    }
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

trait Renamed {
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

/// The PolyBench form: for `k < i`, `C[k][j] += alpha*B[i][j]*A[i][k]` and
/// `t += B[k][j]*A[i][k]`; then `C[i][j] = beta*C[i][j] +
/// alpha*B[i][j]*A[i][i] + alpha*t`.
fn symm_rank_update(mut cx: Cx<'_, '_>, ls: &[Leaf]) -> Result<Rewrite, NoFix> {
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
    let (Some((ni, iname)), Some((na, aname, at)), Some((nu, c_k, ut)), Some((ns, value))) =
        (init, acc, upd, store)
    else {
        return Err(NoFix::new(
            "the nest is not the SYMM rank-update form (accumulator set to 0, the two \
             updates over k < i, the store of C[i][j])",
        ));
    };
    if iname != aname {
        return Err(NoFix::new(format!(
            "`{aname}` does not start at 0 in the nest"
        )));
    }
    let (li, la, lu, lst) = (&ls[ni], &ls[na], &ls[nu], &ls[ns]);
    // Loops: init and store at (i, j); both updates in one k loop 0..i inside.
    let ij_only = |l: &Leaf| {
        let mut v = l.vars();
        v.sort();
        let mut w = vec![i, j];
        w.sort();
        v == w
    };
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
    let k = kl.var.clone();
    if !is_zero(&kl.start) || !is_var_plus(&kl.end, i, 0) {
        return Err(NoFix::new(format!(
            "the loop over `{k}` does not run over `0..{i}` (the strict triangle)"
        )));
    }
    let m = cx.ext[i].clone();
    cx.ext.insert(k.clone(), m.clone());
    // The accumulation `t += S(i,k)·B(k,j)`.
    let pick = |t: &Term, v: &str, w: &str| -> Option<(Access, Access)> {
        let [x, y] = [&t.ops[0], &t.ops[1]];
        let both = |a: &Access| mentions(a, v) && mentions(a, w);
        if both(x) && !both(y) {
            Some((x.clone(), y.clone()))
        } else if both(y) && !both(x) {
            Some((y.clone(), x.clone()))
        } else {
            None
        }
    };
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
    let mut sum = Vec::new();
    split_sum(&value, false, &mut sum);
    let (mut beta, mut d, mut g) = (None, None, None);
    for (neg, t) in sum {
        let neg = neg ^ (count_neg(&t) % 2 == 1);
        let mut fs = Vec::new();
        split_prod(&t, &mut fs);
        let is_t = |f: &Expr| matches!(f, Expr::Var(v) if *v == aname);
        if fs.iter().filter(|f| is_t(f)).count() == 1 && g.is_none() {
            fs.retain(|f| !is_t(f));
            for f in &fs {
                cx.check_scalar(f, Some(&aname))?;
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
            let ts = cx.terms(&t, neg, Some(&aname))?;
            let t = ts
                .into_iter()
                .next()
                .ok_or_else(|| NoFix::new("a term of the update is not a product"))?;
            let ok = t.ops.iter().any(|a| same_access(a, &diag))
                && t.ops.iter().any(|a| same_access(a, &b_ij));
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
    let (Some(d), Some(mut g)) = (d, g) else {
        return Err(NoFix::new(
            "the store of C[i][j] does not add both the diagonal product and the accumulator",
        ));
    };
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

// ---------------------------------------------------------------------------
// TRMM

fn trmm(mut cx: Cx<'_, '_>, ls: &[Leaf]) -> Result<Rewrite, NoFix> {
    let nest = cx.nest;
    let out = nest.out.clone();
    let (i, j) = (role(nest, 'i')?, role(nest, 'j')?);
    let k = role(nest, 'k')?;
    // Classify: the product (into B or an accumulator), the accumulator's
    // start and store, a scaling of B afterwards.
    let acc = cx.accumulator(ls)?;
    let mut mac: Option<(usize, Term)> = None;
    let mut init: Option<(usize, bool)> = None; // (leaf, starts from B[i][j])
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
    let (nm, term) = mac.ok_or_else(|| NoFix::new("the multiply-accumulate was not found"))?;
    let ml = &ls[nm];
    if acc.is_some() && (init.is_none() || store.is_none()) {
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
    // Loops: i and j over 0..ext everywhere; k inside the `t` loop.
    for l in ls {
        for v in [&i, &j] {
            if let Some(lp) = l.loop_of(v) {
                let e = full(lp)?;
                let prev = cx.ext.insert(v.clone(), e.clone());
                if prev.is_some_and(|p| !same_poly(&p, e)) {
                    return Err(NoFix::new(format!(
                        "the loops over `{v}` have different bounds"
                    )));
                }
            }
        }
    }
    let (Some(pt), Some(pk)) = (ml.pos(&t), ml.pos(&k)) else {
        return Err(NoFix::new("the product is not inside the nest's loops"));
    };
    if ml.pos(&i).is_none() || ml.pos(&j).is_none() || ml.loops.len() != 3 {
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
    let n = cx.ext[&t].clone();
    cx.ext.insert(k.clone(), n.clone());
    // In place, row `t` may read only rows not yet overwritten: those after
    // it when `t` ascends, before it when it descends.
    let t_down = down(ml.loops[pt]);
    let (strict, incl) = if t_down {
        (
            is_zero(&kl.start) && is_var_plus(&kl.end, &t, 0),
            is_zero(&kl.start) && is_var_plus(&kl.end, &t, 1),
        )
    } else {
        (
            is_var_plus(&kl.start, &t, 1) && same_poly(&kl.end, &n),
            is_var_plus(&kl.start, &t, 0) && same_poly(&kl.end, &n),
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
    // Order: start → product → store → scaling, per element of B.
    let out_loops = |l: &Leaf| {
        let mut v = l.vars();
        v.sort();
        let mut w = vec![i.as_str(), j.as_str()];
        w.sort();
        v == w
    };
    let after =
        |a: &Leaf, b: &Leaf| before(a, b) && shared(a, b).iter().all(|l| l.var == i || l.var == j);
    let post_leaf = post.as_ref().map(|(np, _)| &ls[*np]);
    // B_new = post * (sa * (kept_inside*B + fac*sum) + kept_outside*B),
    // `fac` the product's own factors; TRMM is alpha*(B + sum) (unit, k > t)
    // or alpha*sum over k >= t (non-unit).
    let fac_one = key(&term.factors).is_empty() && !term.neg;
    let (unit, mut alpha, neg) = if let Some(a) = &acc {
        let (ni, kept_inside) =
            init.ok_or_else(|| NoFix::new("the accumulator has no initialisation"))?;
        let (ns, op, value) = store
            .clone()
            .ok_or_else(|| NoFix::new("the accumulator is never stored into B"))?;
        let (li, lst) = (&ls[ni], &ls[ns]);
        if !out_loops(li)
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
        if post_leaf.is_some_and(|p| !after(lst, p) || !out_loops(p)) {
            return Err(NoFix::new(
                "the scaling of B does not come after each element's store",
            ));
        }
        let (sa, sneg, kept_outside) = match op {
            AssignOp::Add => (Vec::new(), false, true),
            AssignOp::Set => {
                let access = |e: &Expr| cx.access(e);
                let (sa, sneg, sb) = store_parts(&value, a, &out, &access)?;
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
        match (kept_inside, kept_outside, strict) {
            (true, true, _) => return Err(NoFix::new("B[i][j] is added twice")),
            (true, false, true) if fac_one => (true, sa, sneg),
            (false, true, true) if fac_one && key(&sa).is_empty() && !sneg => {
                (true, Vec::new(), false)
            }
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
        }
    } else {
        if !strict {
            return Err(NoFix::new(format!(
                "`B[{i}][{j}] +=` over `{k}` from `{t}` reads B[{i}][{j}] while updating it; \
                 TRMM's diagonal is A(i,i)·B(i,j) or B(i,j) (unit)"
            )));
        }
        if post_leaf.is_some_and(|p| !after(ml, p) || !out_loops(p)) {
            return Err(NoFix::new(
                "the scaling of B does not come after each element's product",
            ));
        }
        if !fac_one {
            return Err(NoFix::new(
                "the product is scaled but the kept B[i][j] is not; TRMM scales both by alpha",
            ));
        }
        (true, Vec::new(), false)
    };
    if let Some((_, fs)) = &post {
        alpha.extend(fs.iter().cloned());
    }
    let b = cx.op(&out, &i, &j)?;
    let (a_op, b_read) = if side == "CblasLeft" {
        (cx.op(ta, &i, &k)?, cx.op(tb, &k, &j)?)
    } else {
        (cx.op(ta, &k, &j)?, cx.op(tb, &i, &k)?)
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
    let alpha = scalar(&alpha, neg, suffix)?;
    let (m_t, n_t) = (text_of(&cx.ext[&i])?, text_of(&cx.ext[&j])?);
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
    Ok((
        vec![call],
        format!("Replace the loop nest with cblas_{letter}trmm"),
        names,
        acc,
    ))
}

/// True if one of `a`'s subscripts mentions `v`.
fn mentions(a: &Access, v: &str) -> bool {
    a.idx.iter().any(|e| e.mentions(v))
}

/// The side of a SYMM/TRMM from the general operand `b` of an update of
/// the output at (`i`, `j`): `b` read along `j` only is `CblasLeft` (the
/// structured matrix replaces row `i`), along `i` only `CblasRight`
/// (it replaces column `j`); with the loop variable the structured matrix
/// runs over.
fn side_of(b: &Access, i: &str, j: &str) -> Option<(&'static str, String)> {
    match (mentions(b, i), mentions(b, j)) {
        (false, true) => Some(("CblasLeft", i.to_string())),
        (true, false) => Some(("CblasRight", j.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests on real source; the differential tests that compile and
    //! run both versions are in `tests/tests/fixes_symmetric.rs`.
    use crate::fixes::{analyze_with_fixes, apply_edits};
    use crate::{BuildContext, Lang, NoIncludes};

    /// The rewritten text, or the reason there is none.
    fn fixed(text: &str) -> Result<String, String> {
        let v = analyze_with_fixes(Lang::C, "a.c", text, &NoIncludes, &BuildContext::default());
        assert_eq!(v.len(), 1, "{v:#?}");
        match &v[0].fixes {
            Ok(f) => Ok(apply_edits(text, &f[0].edits).unwrap()),
            Err(e) => Err(e.reason.clone()),
        }
    }

    fn syrk(j_loop: &str) -> Result<String, String> {
        fixed(&format!(
            "void f(int n, int m, double A[n][m], double C[n][n]) {{\n    for (int i = 0; i < n; i++)\n        for ({j_loop})\n            for (int k = 0; k < m; k++)\n                C[i][j] += A[i][k] * A[j][k];\n}}\n"
        ))
    }

    #[test]
    fn the_triangle_picks_uplo_and_the_full_square_is_a_gemm() {
        let lower = syrk("int j = 0; j <= i; j++").unwrap();
        assert!(lower.contains("cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, n, m, 1.0, &A[0][0], m, 1.0, &C[0][0], n);"), "{lower}");
        let upper = syrk("int j = i; j < n; j++").unwrap();
        assert!(upper.contains("CblasUpper"), "{upper}");
        let full = syrk("int j = 0; j < n; j++").unwrap();
        assert!(full.contains("cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, m, 1.0, &A[0][0], m, &A[0][0], m, 1.0, &C[0][0], n);"), "{full}");
        let strict = syrk("int j = 0; j < i; j++").unwrap_err();
        assert!(strict.contains("leaves out the diagonal"), "{strict}");
        let odd = syrk("int j = 1; j <= i; j++").unwrap_err();
        assert!(odd.contains("not one triangle"), "{odd}");
    }

    #[test]
    fn trmm_in_place_order_and_diagonal() {
        let t = |k_loop: &str, body: &str| {
            fixed(&format!(
                "void f(int m, int n, double A[m][m], double B[m][n]) {{\n    for (int i = 0; i < m; i++)\n        for (int j = 0; j < n; j++)\n            for ({k_loop})\n                {body}\n}}\n"
            ))
        };
        let unit = t("int k = i + 1; k < m; k++", "B[i][j] += A[i][k] * B[k][j];").unwrap();
        assert!(unit.contains("cblas_dtrmm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasUnit, m, n, 1.0, &A[0][0], m, &B[0][0], n);"), "{unit}");
        let scaled = t(
            "int k = i + 1; k < m; k++",
            "B[i][j] += 3.0 * A[i][k] * B[k][j];",
        )
        .unwrap_err();
        assert!(scaled.contains("the kept B[i][j] is not"), "{scaled}");
    }

    #[test]
    fn python_nests_are_not_rewritten() {
        let py = "def f(C, A, n, m):\n    for i in range(n):\n        for j in range(i + 1):\n            for k in range(m):\n                C[i][j] += A[i][k] * A[j][k]\n";
        let v = analyze_with_fixes(
            Lang::Python,
            "a.py",
            py,
            &NoIncludes,
            &BuildContext::default(),
        );
        let why = v[0].fixes.as_ref().unwrap_err();
        assert!(why.reason.contains("C/C++ only"), "{}", why.reason);
    }
}
