//! C/C++ SYRK, SYR2K, SYMM and TRMM loop nests (GS105–GS108) → one
//! `cblas_?syrk` / `cblas_?syr2k` / `cblas_?symm` / `cblas_?trmm` call, plus
//! `#include <cblas.h>` once.
//!
//! One file per routine: [`rank_k`] (SYRK, SYR2K), [`symm`], [`symm_rank_update`]
//! (SYMM's PolyBench form), [`trmm`]; this file holds the statement-domain
//! checks they share ([`Leaf`], `Cx`) and the driver ([`fix`]).
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

mod rank_k;
mod symm;
mod symm_rank_update;
mod trmm;

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
    /// True if the statement runs in exactly the loops over `ij` (the
    /// output's), in either order.
    fn runs_in(&self, ij: [&str; 2]) -> bool {
        let mut v = self.vars();
        v.sort();
        let mut w = ij.to_vec();
        w.sort();
        v == w
    }

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
    /// Records the extents of the output's loops `ij`: every loop over one
    /// of them runs over 0..its extent, the same in all statements.
    fn output_extents(&mut self, ls: &[Leaf], ij: [&str; 2]) -> Result<(), NoFix> {
        for l in ls {
            for v in ij {
                if let Some(lp) = l.loop_of(v) {
                    let e = full(lp)?;
                    let prev = self.ext.insert(v.to_string(), e.clone());
                    if prev.is_some_and(|p| !same_poly(&p, e)) {
                        return Err(NoFix::new(format!(
                            "the loops over `{v}` have different bounds"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

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
        let out_loops = |l: &Leaf| l.runs_in(ij);
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
            rank_k::rank_k(cx, &ls)?
        }
        Shape::Symm => {
            upwards(&ls)?;
            symm::symm(cx, &ls)?
        }
        Shape::Trmm => trmm::trmm(cx, &ls)?,
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
