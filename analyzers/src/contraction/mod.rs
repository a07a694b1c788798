//! Shared analysis for the loop-nest rules (GS101–GS108, GS201, GS301): finds
//! multiply-accumulate statements, works out which loop variables index the
//! output and each operand, and classifies the nest as a GEMM, a batched
//! contraction, SYRK, SYR2K, SYMM, TRMM, GEMV or a direct convolution.
//!
//! A multiply-accumulate ("MAC") is `T[idx] += f`, `T[idx] -= f`, or a scalar
//! `s += f` whose value later lands in an array store (`C[idx] = s`,
//! `C[idx] += s`, `C[idx] = alpha*s + beta*C[idx]`) at an outer loop level,
//! with `s` (re)initialised at that level. `f` is a product of exactly two
//! array reads times scalars, or a sum of such products.
//!
//! Each loop variable that indexes the output or an operand gets a role from
//! where it occurs: output and both operands → batch; output and one operand →
//! M (with the operand we call A) or N (with B); both operands but not the
//! output → K (reduced). Variables in any other combination (only in the
//! output, or reduced over one operand only) make the nest something else.
//! Every rule file calls [`analyze`] and keeps the shapes it reports.

mod classify;
mod pack;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::finding::RuleMeta;
use crate::finding::{Backend, Dim, Dims, Finding, Major, OperandLayout, Routine};
use crate::ir::{
    Access, AssignOp, BinOp, ElemType, Expr, File, FnKind, Function, Loop, LoopKind, Poly, Span,
    Stmt, StmtKind, UnOp,
};

/// What a nest computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// C[i][j] += A[i][k] * B[k][j], rectangular, three distinct arrays.
    Gemm,
    /// Batch variables shared by all three arrays, or several variables per role.
    Batched,
    /// C += A·Aᵀ (or Aᵀ·A), possibly over one triangle.
    Syrk,
    /// C += A·Bᵀ + B·Aᵀ.
    Syr2k,
    /// Triangular-bound contraction that also reads the diagonal of A.
    Symm,
    /// In-place B += A·B with a triangular reduction bound.
    Trmm,
    /// y[i] += A[i][k] * x[k].
    Gemv,
    /// out[n][k][p][q] += in[n][c][p+r][q+s] * w[k][c][r][s].
    Conv,
}

/// One loop of the nest with the role letter of its variable.
#[derive(Clone, Debug)]
pub struct NestLoop {
    pub var: String,
    /// `i` (M), `j` (N), `k` (K), `b` (batch); for convolutions `n k p q c r s`.
    pub role: char,
    pub kind: LoopKind,
}

/// One analysed nest: everything a rule needs to fill a [`Finding`], and a
/// fix to rewrite it. Its facts ([`NestFacts`], read through `Deref`) hold
/// no borrow, so an analysis keeps them for its findings and a fix
/// [`Nest::attach`]es them to the file again, without re-analysing.
#[derive(Clone, Debug)]
pub struct Nest<'a> {
    pub func: &'a Function,
    facts: NestFacts,
}

impl std::ops::Deref for Nest<'_> {
    type Target = NestFacts;
    fn deref(&self) -> &NestFacts {
        &self.facts
    }
}

/// A rewrite may adjust a copy (the inner GEMM of a batched nest).
impl std::ops::DerefMut for Nest<'_> {
    fn deref_mut(&mut self) -> &mut NestFacts {
        &mut self.facts
    }
}

impl<'a> Nest<'a> {
    /// The nest of `facts` in `file` (the file the facts were found in).
    pub fn attach(file: &'a File, facts: NestFacts) -> Nest<'a> {
        Nest {
            func: &file.functions[facts.func_index],
            facts,
        }
    }

    pub fn facts(&self) -> &NestFacts {
        &self.facts
    }
}

/// What the analysis found about one nest, apart from the function it is in.
#[derive(Clone, Debug)]
pub struct NestFacts {
    /// The function's index in [`File::functions`].
    pub func_index: usize,
    pub shape: Shape,
    /// The operands were read through CUDA shared-memory tiles (GS103).
    pub tiled: bool,
    /// Span of the outermost loop that belongs to the idiom.
    pub range: Span,
    /// Span of the multiply-accumulate statement.
    pub key_range: Span,
    /// The idiom's loops, outer to inner (tile loops of a blocked nest excluded).
    pub loops: Vec<NestLoop>,
    pub dims: Dims,
    pub layouts: Vec<OperandLayout>,
    pub alpha: Option<String>,
    pub beta: Option<String>,
    pub dtype: Option<ElemType>,
    /// Some loop bound depends on another loop variable of the idiom.
    pub triangular: bool,
    /// The statement(s) as lowered, for `why`.
    pub text: String,
    pub confidence: f32,
    /// What the rewrites (`crate::fixes`) need beyond the finding: the
    /// output access as written, the first term's two operands oriented as
    /// classified (A then B; for GEMV A then x; for SYRK A twice), that
    /// term's scalar factors (a divisor `x / d` is the factor `1/d`) and
    /// sign, how many products the statement sums, and whether the store
    /// adds terms other than the accumulator and the output.
    pub out: Access,
    pub operands: [Access; 2],
    pub factors: Vec<Expr>,
    pub term_negated: bool,
    pub terms: usize,
    pub extra: bool,
    /// The elementwise function the store applies to the product
    /// (`y[j] = squash(sum)`), if any.
    pub epilogue: Option<String>,
}

impl Nest<'_> {
    /// Role letters outer to inner (`ikj`).
    pub fn order(&self) -> String {
        self.loops.iter().map(|l| l.role).collect()
    }

    /// Role letters with dashes (`i-k-j`), for messages.
    pub fn order_dashed(&self) -> String {
        self.loops
            .iter()
            .map(|l| l.role.to_string())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The loop kind of the loop with role `role`, if exactly one has it.
    pub fn kind_of(&self, role: char) -> Option<&LoopKind> {
        let mut it = self.loops.iter().filter(|l| l.role == role);
        let first = it.next()?;
        if it.next().is_some() {
            return None;
        }
        Some(&first.kind)
    }

    /// True if any loop of the nest is a CUDA thread index.
    pub fn has_thread_loops(&self) -> bool {
        self.loops
            .iter()
            .any(|l| matches!(l.kind, LoopKind::CudaThread { .. }))
    }

    /// Where the nest runs, from the function kind.
    pub fn backend(&self) -> Backend {
        match self.func.kind {
            FnKind::Host => Backend::Cpu,
            FnKind::CudaKernel | FnKind::CudaDevice => Backend::CudaKernel,
            FnKind::Python | FnKind::Module => Backend::PythonLoop,
        }
    }

    /// The finding's range: the kernel for CUDA kernels (and for a
    /// `__device__` function whose thread indices make the nest), else the
    /// outermost loop.
    pub fn finding_range(&self) -> Span {
        if self.func.kind == FnKind::CudaKernel
            || (self.func.kind == FnKind::CudaDevice && self.has_thread_loops())
        {
            self.func.span
        } else {
            self.range
        }
    }

    /// `1024×1024×1024 f32`.
    pub fn size_text(&self) -> String {
        let d = self.dims.display();
        match &self.dtype {
            Some(t) => format!("{d} {}", t.short()),
            None => d,
        }
    }

    /// BLAS-style routine name for the element type: `sgemm`, `dgemm`, `gemm`.
    pub fn blas(&self, routine: &str) -> String {
        let p = match &self.dtype {
            Some(ElemType::F32) => "s",
            Some(ElemType::F64 | ElemType::PyFloat) => "d",
            Some(ElemType::F16) => "h",
            _ => "",
        };
        format!("{p}{routine}")
    }

    /// Builds the finding with every field filled.
    /// A finding for this nest with its loop order and the standard `why`
    /// line ([`why_line`]).
    pub fn report(&self, meta: &'static RuleMeta, routine: Routine, message: String) -> Finding {
        self.finding(meta, routine, Some(self.order()), why_line(self), message)
    }

    pub fn finding(
        &self,
        meta: &RuleMeta,
        routine: Routine,
        loop_order: Option<String>,
        why: String,
        message: String,
    ) -> Finding {
        Finding {
            code: meta.code,
            rule: meta.name,
            idiom: meta.idiom,
            routine,
            backend: self.backend(),
            range: self.finding_range(),
            key_range: self.key_range,
            function: Some(self.func.name.clone()),
            dims: self.dims.clone(),
            dtype: self.dtype.clone(),
            layouts: self.layouts.clone(),
            loop_order,
            alpha: self.alpha.clone(),
            beta: self.beta.clone(),
            confidence: self.confidence,
            why,
            message,
            purpose: None,
            parallel: None,
        }
    }
}

/// Analyses every function of `file`; one [`Nest`] per idiom found.
pub fn analyze(file: &File) -> Vec<Nest<'_>> {
    let mut out = Vec::new();
    if file.exact_arithmetic() {
        return out;
    }
    for f in &file.functions {
        analyze_fn(file, f, &mut out);
    }
    out
}

// ---------------------------------------------------------------------------
// Statement sites

/// A statement with its enclosing loops (outer to inner).
struct Site<'a> {
    stmt: &'a Stmt,
    loops: Vec<&'a Stmt>,
}

fn collect_sites<'a>(body: &'a [Stmt], stack: &mut Vec<&'a Stmt>, out: &mut Vec<Site<'a>>) {
    for s in body {
        out.push(Site {
            stmt: s,
            loops: stack.clone(),
        });
        match &s.kind {
            StmtKind::Loop(l) => {
                stack.push(s);
                collect_sites(&l.body, stack, out);
                stack.pop();
            }
            StmtKind::If { then, els, .. } => {
                collect_sites(then, stack, out);
                collect_sites(els, stack, out);
            }
            StmtKind::Opaque(b) => collect_sites(b, stack, out),
            _ => {}
        }
    }
}

fn loop_of(s: &Stmt) -> &Loop {
    match &s.kind {
        StmtKind::Loop(l) => l,
        _ => unreachable!("site loops are loops"),
    }
}

fn same_stmts(a: &[&Stmt], b: &[&Stmt]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| std::ptr::eq(*x, *y))
}

fn is_prefix(a: &[&Stmt], b: &[&Stmt]) -> bool {
    a.len() <= b.len() && same_stmts(a, &b[..a.len()])
}

// ---------------------------------------------------------------------------
// Multiply-accumulate statements

/// One product of two array reads times scalars.
#[derive(Clone, Debug)]
struct Term {
    ops: [Access; 2],
    scalars: Vec<Expr>,
    /// The term is subtracted.
    neg: bool,
}

#[derive(Clone, Debug)]
struct Mac<'a> {
    site: usize,
    out: Access,
    /// Loops enclosing the MAC.
    loops: Vec<&'a Stmt>,
    /// How many of `loops` enclose the store (all of them for an array target).
    out_depth: usize,
    terms: Vec<Term>,
    alpha: Vec<String>,
    beta: Option<String>,
    /// The store has terms other than the accumulator and the output.
    extra: bool,
    /// The elementwise function the store applies to the sum
    /// (`y[j] = squash(sum)`).
    epilogue: Option<String>,
    tiled: bool,
    /// Every operand was read through a CUDA shared tile (none straight
    /// from global memory).
    staged: bool,
    text: String,
}

pub(crate) fn split_sum(e: &Expr, neg: bool, out: &mut Vec<(bool, Expr)>) {
    match e {
        Expr::Binary(BinOp::Add, a, b) => {
            split_sum(a, neg, out);
            split_sum(b, neg, out);
        }
        Expr::Binary(BinOp::Sub, a, b) => {
            split_sum(a, neg, out);
            split_sum(b, !neg, out);
        }
        Expr::Unary(UnOp::Neg, a) => split_sum(a, !neg, out),
        other => out.push((neg, other.clone())),
    }
}

/// Factors of a product; a divisor `x / d` is kept as the factor `1/d`.
pub(crate) fn split_prod(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Binary(BinOp::Mul, a, b) => {
            split_prod(a, out);
            split_prod(b, out);
        }
        Expr::Binary(BinOp::Div, a, b) => {
            split_prod(a, out);
            out.push(Expr::bin(BinOp::Div, Expr::Int(1), (**b).clone()));
        }
        Expr::Unary(UnOp::Neg, a) => split_prod(a, out),
        other => out.push(other.clone()),
    }
}

/// How many negations `split_prod` looks through.
/// How many negations the product chain of `e` carries (the ones
/// [`split_prod`] drops).
pub(crate) fn count_neg(e: &Expr) -> usize {
    match e {
        Expr::Binary(BinOp::Mul | BinOp::Div, a, b) => count_neg(a) + count_neg(b),
        Expr::Unary(UnOp::Neg, a) => 1 + count_neg(a),
        _ => 0,
    }
}

/// True if `e` reads an array element (`A[i]`, `*p`).
pub(crate) fn has_access(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        if matches!(x, Expr::Index { .. } | Expr::Unary(UnOp::Deref, _)) {
            found = true;
        }
    });
    found
}

pub(crate) fn is_zero(e: &Expr) -> bool {
    match e {
        Expr::Int(0) => true,
        Expr::Float(x) => *x == 0.0,
        Expr::Unary(UnOp::Neg, a) => is_zero(a),
        _ => false,
    }
}

/// The loaded value of a bounds-guarded tile load: `select(c, A[..], 0)`
/// (`c ? A[..] : 0.0f`) or `select(c, 0, A[..])` → `A[..]`; anything else as is.
fn guarded_load(e: &Expr) -> &Expr {
    match e {
        Expr::Call {
            func,
            recv: None,
            args,
            ..
        } if func == "select" && args.len() == 3 => {
            if is_zero(&args[2]) {
                &args[1]
            } else if is_zero(&args[1]) {
                &args[2]
            } else {
                e
            }
        }
        _ => e,
    }
}

/// For a flattened tile store index `g*S + w` (`w` a loop variable with
/// coefficient 1, `g` a sum of loop variables such as `row + offset`, `S`
/// free of them) and a read `p*S + q`, the substitution that turns the
/// store's index into the read's: `w → q` and `u → p - (g - u)` for one
/// variable `u` of `g`; `q` is the part of the read not divisible by `S`.
fn flat_tile_vars(
    store: &Expr,
    read: &Expr,
    is_loop: &dyn Fn(&str) -> bool,
) -> Option<Vec<(String, Expr)>> {
    let p = Poly::from_expr(store)?;
    let r = Poly::from_expr(read)?;
    let syms = p.symbols();
    let one = Poly::constant(1);
    let inner: Vec<&String> = syms
        .iter()
        .filter(|v| is_loop(v) && p.coeff(v).as_ref() == Some(&one))
        .collect();
    let [w] = inner.as_slice() else {
        return split_tile_vars(&p, &r, is_loop);
    };
    let w = (*w).clone();
    let rest = p.sub(&Poly::symbol(&w));
    let mut found = None;
    for u in syms.iter().filter(|u| **u != w && is_loop(u)) {
        let stride = rest.coeff(u)?;
        if stride.terms.len() != 1 || stride.symbols().iter().any(|s| is_loop(s)) {
            continue;
        }
        let Some(g) = divide_exact(&rest, &stride) else {
            continue;
        };
        let unit = g
            .terms
            .iter()
            .all(|(m, c)| *c == 1 && m.len() == 1 && is_loop(&m[0]) && m[0] != w);
        if unit {
            found = Some((u.clone(), stride, g));
            break;
        }
    }
    let Some((u, stride, g)) = found else {
        return split_tile_vars(&p, &r, is_loop);
    };
    let (mut hi, mut lo) = (Poly::default(), Poly::default());
    for (mono, coef) in &r.terms {
        let term = Poly {
            terms: [(mono.clone(), *coef)].into_iter().collect(),
        };
        match divide_term(&term, &stride) {
            Some(q) => hi = hi.add(&q),
            None => lo = lo.add(&term),
        }
    }
    if hi.is_zero() || lo.is_zero() {
        return None;
    }
    let others = g.sub(&Poly::symbol(&u));
    Some(vec![(u, hi.sub(&others).to_expr()), (w, lo.to_expr())])
}

/// The general case of [`flat_tile_vars`]: the store's index is `h*S + w`
/// with `h` and `w` each a sum of loop variables times integers (a vector
/// lane, `(c*4 + lane)*S + r`, or `r*S + c*4 + lane`), one variable of
/// each with coefficient 1, and `S` the symbolic (or constant) row stride.
/// That variable of `h` is solved from the read's `S` part and that of `w`
/// from its remainder; the others stay and cancel wherever the index is
/// used.
fn split_tile_vars(
    p: &Poly,
    r: &Poly,
    is_loop: &dyn Fn(&str) -> bool,
) -> Option<Vec<(String, Expr)>> {
    // Coefficient of each loop variable, and the part free of them.
    let linear = |x: &Poly| {
        let mut coeffs: BTreeMap<String, Poly> = BTreeMap::new();
        let mut rest = Poly::default();
        for (mono, c) in &x.terms {
            let lv: Vec<&String> = mono.iter().filter(|v| is_loop(v)).collect();
            let term = Poly {
                terms: [(mono.clone(), *c)].into_iter().collect(),
            };
            match lv.as_slice() {
                [] => rest = rest.add(&term),
                [v] => {
                    let k = term.coeff(v)?;
                    let e = coeffs.entry((*v).clone()).or_default();
                    *e = e.add(&k);
                }
                _ => return None,
            }
        }
        Some((coeffs, rest))
    };
    let (pc, prest) = linear(p)?;
    let (rc, rrest) = linear(r)?;
    // Candidate row strides: each coefficient without its integer factor.
    let mut strides: Vec<Poly> = Vec::new();
    for c in pc.values() {
        let unit = match c.terms.iter().collect::<Vec<_>>().as_slice() {
            [(mono, _)] if mono.is_empty() => continue,
            [(mono, _)] => Poly {
                terms: [((*mono).clone(), 1)].into_iter().collect(),
            },
            _ => c.clone(),
        };
        if !strides.contains(&unit) {
            strides.push(unit);
        }
    }
    // Constant strides too (`r*16 + c*4 + lane`), widest first.
    let mut consts: Vec<i64> = pc
        .values()
        .filter_map(|c| c.as_const())
        .map(i64::abs)
        .filter(|k| *k > 1)
        .collect();
    consts.sort_unstable_by(|a, b| b.cmp(a));
    consts.dedup();
    strides.extend(consts.into_iter().map(Poly::constant));
    // `c = k*S` for an integer `k`.
    let multiple = |c: &Poly, s: &Poly| -> Option<i64> {
        let (sm, sc) = s.terms.iter().next()?;
        let cc = c.terms.get(sm)?;
        if sc == &0 || cc % sc != 0 {
            return None;
        }
        let k = cc / sc;
        (s.scale(k) == *c).then_some(k)
    };
    let split = |coeffs: &BTreeMap<String, Poly>, rest: &Poly, s: &Poly| {
        let (mut hi, mut lo) = (Poly::default(), rest.clone());
        let mut hi_unit = Vec::new();
        let mut lo_unit = Vec::new();
        for (v, c) in coeffs {
            match multiple(c, s) {
                Some(k) => {
                    hi = hi.add(&Poly::symbol(v).scale(k));
                    if k == 1 {
                        hi_unit.push(v.clone());
                    }
                }
                None => {
                    lo = lo.add(&Poly::symbol(v).mul(c));
                    if c.as_const() == Some(1) {
                        lo_unit.push(v.clone());
                    }
                }
            }
        }
        (hi, lo, hi_unit, lo_unit)
    };
    for s in &strides {
        let (hp, lp, hu, lu) = split(&pc, &prest, s);
        let (hr, lr, _, _) = split(&rc, &rrest, s);
        if hp.is_zero() || lp.is_zero() || hr.is_zero() || lr.is_zero() {
            continue;
        }
        let (Some(u), Some(w)) = (hu.first(), lu.first()) else {
            continue;
        };
        let hu = hr.sub(&hp.sub(&Poly::symbol(u)));
        let lw = lr.sub(&lp.sub(&Poly::symbol(w)));
        return Some(vec![(u.clone(), hu.to_expr()), (w.clone(), lw.to_expr())]);
    }
    None
}

/// A flat register index read back in mixed radix: the store's index and
/// the MAC's are sums of loop variables times coefficients of the same
/// shape (`(w*TM + m)*(WN*TN) + x*TN + n` on both sides, a warp tile
/// `w`, `x` split over the thread's `m`, `n`), with the same coefficient
/// for the same position: each of the store's variables (`own`) is solved
/// for from the MAC's variable of its coefficient, `u → v - (the store's
/// others with that coefficient)` (a vector lane and the column it
/// offsets). The parts free of loop variables must agree.
fn radix_vars(
    store: &Expr,
    read: &Expr,
    own: &dyn Fn(&str) -> bool,
    is_loop: &dyn Fn(&str) -> bool,
) -> Option<Vec<(String, Expr)>> {
    // Coefficient → the variables it multiplies, and the rest.
    let classes = |x: &Poly, var: &dyn Fn(&str) -> bool| {
        let mut out: Vec<(Poly, Vec<String>)> = Vec::new();
        let mut rest = Poly::default();
        for (mono, c) in &x.terms {
            let vs: Vec<&String> = mono.iter().filter(|v| var(v)).collect();
            let term = Poly {
                terms: [(mono.clone(), *c)].into_iter().collect(),
            };
            match vs.as_slice() {
                [] => rest = rest.add(&term),
                [v] if mono.iter().filter(|m| m == v).count() == 1 => {
                    let k = term.coeff(v)?;
                    match out.iter_mut().find(|(q, _)| *q == k) {
                        Some((_, list)) => list.push((*v).clone()),
                        None => out.push((k, vec![(*v).clone()])),
                    }
                }
                _ => return None,
            }
        }
        Some((out, rest))
    };
    let (pc, prest) = classes(&Poly::from_expr(store)?, own)?;
    let (rc, rrest) = classes(&Poly::from_expr(read)?, &|v| is_loop(v) && !own(v))?;
    if prest != rrest || pc.len() != rc.len() || pc.len() < 2 {
        return None;
    }
    let mut map = Vec::new();
    for (k, vars) in &pc {
        let (_, rv) = rc.iter().find(|(q, _)| q == k)?;
        let [v] = rv.as_slice() else { return None };
        let (u, others) = vars.split_first()?;
        let mut e = Poly::symbol(v);
        for o in others {
            e = e.sub(&Poly::symbol(o));
        }
        map.push((u.clone(), e.to_expr()));
    }
    Some(map)
}

/// One index of a tile solved for one of the writer's variables: `u` with
/// coefficient 1 in the store's index `p`, `u → r - (p - u)`.
fn solve_one(
    store: &Expr,
    read: &Expr,
    is_loop: &dyn Fn(&str) -> bool,
) -> Option<Vec<(String, Expr)>> {
    let p = Poly::from_expr(store)?;
    let r = Poly::from_expr(read)?;
    let one = Poly::constant(1);
    let u = p
        .symbols()
        .into_iter()
        .find(|v| is_loop(v) && p.coeff(v).as_ref() == Some(&one))?;
    let rest = p.sub(&Poly::symbol(&u));
    Some(vec![(u, r.sub(&rest).to_expr())])
}

/// `c / d` when the one-term `d` divides every term of `c`.
fn divide_exact(c: &Poly, d: &Poly) -> Option<Poly> {
    let mut out = Poly::default();
    for (mono, coef) in &c.terms {
        let term = Poly {
            terms: [(mono.clone(), *coef)].into_iter().collect(),
        };
        out = out.add(&divide_term(&term, d)?);
    }
    Some(out)
}

/// `t / s` for one term `t` and a one-term `s`, when it divides exactly.
fn divide_term(t: &Poly, s: &Poly) -> Option<Poly> {
    let ((tm, tc), (sm, sc)) = (t.terms.iter().next()?, s.terms.iter().next()?);
    if s.terms.len() != 1 || *sc == 0 || tc % sc != 0 {
        return None;
    }
    let mut rest = tm.clone();
    for x in sm {
        let i = rest.iter().position(|y| y == x)?;
        rest.remove(i);
    }
    Some(Poly {
        terms: [(rest, tc / sc)].into_iter().collect(),
    })
}

/// `e` in polynomial normal form where it is one, so that variables that
/// cancel (`c*4 + (d - c*4)`) are gone.
fn simplified(e: Expr) -> Expr {
    match Poly::from_expr(&e) {
        Some(p) => p.to_expr(),
        None => e,
    }
}

/// A stage index `x % S`: `(x, S)`.
fn ring_index(e: &Expr) -> Option<(&Expr, &Expr)> {
    match e {
        Expr::Binary(BinOp::Rem, x, s) => Some((x, s)),
        _ => None,
    }
}

fn mentions_any(e: &Expr, vars: &[String]) -> bool {
    vars.iter().any(|v| e.mentions(v))
}

struct FnCx<'a> {
    file: &'a File,
    f: &'a Function,
    sites: Vec<Site<'a>>,
    /// Loop variables and assigned names of a tiled CUDA function (empty
    /// elsewhere): what [`FnCx::access`] keeps out of atoms.
    moving: std::collections::HashSet<String>,
    /// Set by [`FnCx::ring_pair`] when a store of the read's own loop
    /// fills the stage too late (or too early) for the read.
    stale: std::cell::Cell<bool>,
}

/// The names of a CUDA function with shared-memory tiles whose value
/// changes in it: loop variables and assignment targets (none elsewhere:
/// only a tiled kernel's indices are read through atoms).
fn moving_names(f: &Function, sites: &[Site<'_>]) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    if !matches!(f.kind, FnKind::CudaKernel | FnKind::CudaDevice)
        || !f.vars.values().any(|v| v.shared)
    {
        return out;
    }
    for s in sites {
        match &s.stmt.kind {
            // A thread index is fixed within a thread: a quotient or
            // remainder of a thread id computed from it (`tid % (BK/4)`)
            // is one symbol like the others.
            StmtKind::Loop(l) if matches!(l.kind, LoopKind::CudaThread { .. }) => {}
            StmtKind::Loop(l) => {
                out.insert(l.var.clone());
            }
            StmtKind::Assign {
                target: Expr::Var(v),
                ..
            } => {
                out.insert(v.clone());
            }
            _ => {}
        }
    }
    out
}

impl<'a> FnCx<'a> {
    fn is_array(&self, n: &str) -> bool {
        self.f.is_array(n)
    }

    /// True when some array in `bases` is assigned anywhere inside `root`.
    fn writes_any(&self, root: &Stmt, bases: &[&str]) -> bool {
        let mut found = false;
        root.walk(&mut |s| {
            if let StmtKind::Assign { target, .. } = &s.kind {
                if let Some(t) = self.access(target) {
                    if bases.contains(&t.base.as_str()) {
                        found = true;
                    }
                }
            }
        });
        found
    }

    fn access(&self, e: &Expr) -> Option<Access> {
        let a = Access::of(e, &|n| self.f.is_array(n))?;
        if self.moving.is_empty() {
            return Some(a);
        }
        Some(Access {
            base: a.base,
            idx: a.idx.into_iter().map(|i| self.atomize(i)).collect(),
        })
    }

    /// In a CUDA index, a quotient or remainder of names that do not change
    /// in the kernel (`CEIL_DIV(BN, WN)`, a template constant substituted
    /// as `(BN + WN - 1)/WN`) becomes one symbol named by its text, so that
    /// the index stays a polynomial over the loop variables.
    fn atomize(&self, e: Expr) -> Expr {
        let mut any = false;
        e.walk(&mut |x| {
            if matches!(x, Expr::Binary(BinOp::Div | BinOp::Rem, ..)) {
                any = true;
            }
        });
        if !any {
            return e;
        }
        e.map(&mut |x| match x {
            Expr::Binary(BinOp::Div | BinOp::Rem, ..)
                if x.vars().iter().all(|v| !self.moving.contains(v))
                    && !has_access(&x)
                    && Poly::from_expr(&x).is_none() =>
            {
                Expr::Var(format!("({x})"))
            }
            other => other,
        })
    }

    fn is_loop_var(&self, name: &str) -> bool {
        self.sites
            .iter()
            .any(|s| matches!(&s.stmt.kind, StmtKind::Loop(l) if l.var == name))
    }

    fn is_shared(&self, base: &str) -> bool {
        self.f.vars.get(base).is_some_and(|v| v.shared)
    }

    /// A local array of a CUDA function that is neither shared nor a
    /// parameter: a per-thread register tile (`float regM[TM]`).
    fn is_register(&self, base: &str) -> bool {
        self.is_vector_register(base) || self.is_thread_register(base)
    }

    /// A local x86 vector register array of a host function (`__m256
    /// acc[6][2]`, read lane by lane: normalize/simd.rs): a register block
    /// of C as a CUDA thread's is.
    fn is_vector_register(&self, base: &str) -> bool {
        !self.f.params.iter().any(|p| p == base)
            && self
                .f
                .vars
                .get(base)
                .is_some_and(|v| v.vector_lanes.is_some() && !v.shared)
    }

    fn is_thread_register(&self, base: &str) -> bool {
        matches!(self.f.kind, FnKind::CudaKernel | FnKind::CudaDevice)
            && !self.f.params.iter().any(|p| p == base)
            && self
                .f
                .vars
                .get(base)
                .is_some_and(|v| v.is_array && !v.shared && !v.shape.is_empty())
    }

    /// Maps a read of a shared tile (or of a register tile loaded from one)
    /// back to the global array through the tiles' load statements
    /// (`As[ty][tx] = A[row*K + t*T + tx]`, `regM[i] = As[...]`); `shared`
    /// is set when a shared tile was on the way. `at` is the site of the
    /// statement that reads.
    ///
    /// A ring of stages (a read whose stage index is `x % S`) has several
    /// stores, one per fetch (a prologue and the steady state): each that
    /// maps is taken, the others (a first stage filled at a constant
    /// index) are passed over, and all that map must agree.
    fn untile(&self, read: &Access, shared: &mut bool, depth: usize, at: usize) -> Option<Access> {
        if depth > 4 {
            return None;
        }
        if self.is_shared(&read.base) {
            *shared = true;
        }
        let ring = read.idx.iter().any(|e| ring_index(e).is_some());
        let mut found: Option<(Access, bool, usize)> = None;
        for (si, s) in self.sites.iter().enumerate() {
            let StmtKind::Assign {
                target,
                op: AssignOp::Set,
                value,
            } = &s.stmt.kind
            else {
                continue;
            };
            let Some(t) = self.access(target) else {
                continue;
            };
            if t.base != read.base || t.idx.len() != read.idx.len() {
                continue;
            }
            let Some(src) = self.access(guarded_load(value)) else {
                continue;
            };
            let through = self.is_shared(&src.base) || self.is_register(&src.base);
            if src.base == read.base {
                continue;
            }
            self.stale.set(false);
            let mapped = self
                .map_tile(&t, &src, read, false, (si, at))
                .or_else(|| self.map_tile(&t, &src, read, true, (si, at)));
            let Some(mapped) = mapped else {
                // A fetch of the read's own loop that misses its stage
                // decides: the read is of a stage not (or no longer) filled.
                if ring && !self.stale.get() {
                    continue;
                }
                return None;
            };
            if !ring {
                if through {
                    return self.untile(&mapped, shared, depth + 1, si);
                }
                return Some(mapped);
            }
            match &found {
                Some((m, _, _)) if !same_access(m, &mapped) => return None,
                Some(_) => {}
                None => found = Some((mapped, through, si)),
            }
        }
        let (mapped, through, si) = found?;
        if through {
            return self.untile(&mapped, shared, depth + 1, si);
        }
        Some(mapped)
    }

    /// Solves one stage index of a ring: the store's `xw % S` (or a plain
    /// `xw`, a prologue filling stage `s` with tile `s`) against the read's
    /// `xr % S`, for a variable `u` of `xw` with coefficient 1 that moves
    /// (a loop variable, `is_loop`, or a counter the function bumps):
    /// `u → xr - (xw - u)`. `None` where the pair is no ring index;
    /// `Some(None)` where it is one but cannot be matched: no such `u`, two
    /// moduli, or, for a store in the read's own loop, a fetch that does
    /// not run 0 to S-1 iterations ahead of the read (1 to S when the store
    /// comes after the read in the loop body: the read would see a stage
    /// before it is filled, or after it is filled again).
    #[allow(clippy::option_option)]
    fn ring_pair(
        &self,
        ti: &Expr,
        ri: &Expr,
        is_loop: &dyn Fn(&str) -> bool,
        (store_at, read_at): (usize, usize),
    ) -> Option<Option<(String, Expr)>> {
        let (xr, sr) = ring_index(ri)?;
        let xw = match ring_index(ti) {
            Some((xw, sw)) => {
                let same = match (Poly::from_expr(sw), Poly::from_expr(sr)) {
                    (Some(p), Some(q)) => p == q,
                    _ => sw == sr,
                };
                if !same {
                    return Some(None);
                }
                xw
            }
            None => ti,
        };
        // A constant stage offset counts modulo a constant stage count
        // (`(n + 2) % 2` is stage `n % 2`: a flipped flip).
        let stages = self.file.eval(sr).filter(|s| *s > 0);
        let reduce = |p: Poly| match stages {
            Some(s) => {
                let c = p.terms.get(&Vec::new()).copied().unwrap_or(0);
                p.sub(&Poly::constant(c))
                    .add(&Poly::constant(c.rem_euclid(s)))
            }
            None => p,
        };
        let solve = || {
            let p = reduce(Poly::from_expr(xw)?);
            let r = reduce(Poly::from_expr(xr)?);
            let one = Poly::constant(1);
            let u = p.symbols().into_iter().find(|v| {
                (is_loop(v) || self.is_counter(v)) && p.coeff(v).as_ref() == Some(&one)
            })?;
            let rest = p.sub(&Poly::symbol(&u));
            if rest.symbols().contains(&u) {
                return None;
            }
            let sol = r.sub(&rest);
            // The lag, where the fetch and the read share their loop.
            let name = u.strip_prefix("__w_").unwrap_or(&u);
            let loop_of_u = |site: usize| {
                self.sites.get(site).and_then(|s| {
                    s.loops
                        .iter()
                        .find(|l| loop_of(l).var == name)
                        .map(|l| *l as *const Stmt)
                })
            };
            if let (Some(a), Some(b)) = (loop_of_u(store_at), loop_of_u(read_at)) {
                if std::ptr::eq(a, b) {
                    let d = Poly::symbol(name).sub(&sol).as_const()?;
                    let stages = self.file.eval(sr);
                    let (lo, hi) = if store_at < read_at {
                        (0, stages.map_or(1, |s| s.saturating_sub(1)))
                    } else {
                        (1, stages.unwrap_or(1))
                    };
                    if d < lo || d > hi {
                        self.stale.set(true);
                        return None;
                    }
                }
            }
            Some((u, sol.to_expr()))
        };
        Some(solve())
    }

    /// A local the function bumps (`f += 1`): a fetch counter.
    fn is_counter(&self, name: &str) -> bool {
        self.sites.iter().any(|s| {
            matches!(&s.stmt.kind, StmtKind::Assign {
                target: Expr::Var(v),
                op: AssignOp::Add | AssignOp::Sub,
                ..
            } if v == name)
        })
    }

    /// A name some statement assigns (a state variable, not a binding).
    fn is_assigned(&self, name: &str) -> bool {
        self.sites.iter().any(
            |s| matches!(&s.stmt.kind, StmtKind::Assign { target: Expr::Var(v), .. } if v == name),
        )
    }

    /// The global access a tile read stands for, from the tile's store
    /// `t = src`. With `apart`, the writer's loop variables are renamed
    /// apart from the reader's (a tile row written as `c*4 + lane` by one
    /// thread and read at column `tx` by another), each index solved for
    /// one of them, and the writer's variables must cancel.
    fn map_tile(
        &self,
        t: &Access,
        src: &Access,
        read: &Access,
        apart: bool,
        sites: (usize, usize),
    ) -> Option<Access> {
        let writer: Vec<String> = if apart {
            let mut v: Vec<String> = t
                .idx
                .iter()
                .flat_map(|e| e.vars())
                .filter(|v| self.is_loop_var(v))
                .collect();
            v.sort();
            v.dedup();
            v
        } else {
            Vec::new()
        };
        let ren = |e: &Expr| {
            let mut e = e.clone();
            for v in &writer {
                e = e.substitute(v, &Expr::Var(format!("__w_{v}")));
            }
            e
        };
        let is_loop = |v: &str| v.starts_with("__w_") || self.is_loop_var(v);
        let mut map: HashMap<String, Expr> = HashMap::new();
        for (ti, ri) in t.idx.iter().zip(&read.idx) {
            let ti = ren(ti);
            if let Some(solved) = self.ring_pair(&ti, ri, &is_loop, sites) {
                let (v, e) = solved?;
                if map.insert(v, e).is_some() {
                    return None;
                }
                continue;
            }
            let pairs = match &ti {
                // A state variable (`buf`, `stage`) is no free index: the
                // read must name the same one.
                Expr::Var(v) if !is_loop(v) && self.is_assigned(v) => {
                    if ti != *ri {
                        return None;
                    }
                    continue;
                }
                Expr::Var(v) => vec![(v.clone(), ri.clone())],
                // A flattened tile `As[ty*T + tx]` read as `As[ty*T + k]`.
                _ => match flat_tile_vars(&ti, ri, &is_loop) {
                    Some(p) => p,
                    None if apart => solve_one(&ti, ri, &is_loop)?,
                    None => return None,
                },
            };
            for (v, e) in pairs {
                if map.insert(v, e).is_some() {
                    return None;
                }
            }
        }
        let idx: Vec<Expr> = src
            .idx
            .iter()
            .map(|e| {
                simplified(ren(e).map(&mut |x| match x {
                    Expr::Var(ref v) => map.get(v).cloned().unwrap_or(x),
                    other => other,
                }))
            })
            .collect();
        if apart
            && idx
                .iter()
                .any(|e| e.vars().iter().any(|v| v.starts_with("__w_")))
        {
            return None;
        }
        Some(Access {
            base: src.base.clone(),
            idx,
        })
    }

    /// Parses `f` into products of two array reads; `None` if any term is not one.
    fn terms(
        &self,
        value: &Expr,
        lvars: &[String],
        tiled: &mut bool,
        direct: &mut bool,
        at: usize,
    ) -> Option<Vec<Term>> {
        let mut sum = Vec::new();
        split_sum(value, false, &mut sum);
        let mut terms = Vec::new();
        for (neg, t) in sum {
            let mut fs = Vec::new();
            split_prod(&t, &mut fs);
            // `-A*B` and `A*(-B)` both negate the term.
            let neg = neg ^ (count_neg(&t) % 2 == 1);
            let mut ops = Vec::new();
            let mut scalars = Vec::new();
            for f in fs {
                let acc = self.access(&f);
                match acc {
                    Some(a) if a.idx.iter().any(|e| mentions_any(e, lvars)) => {
                        let cuda_tile =
                            matches!(self.f.kind, FnKind::CudaKernel | FnKind::CudaDevice)
                                && (self.is_shared(&a.base) || self.is_register(&a.base));
                        if cuda_tile {
                            let mut shared = false;
                            let g = self.untile(&a, &mut shared, 0, at)?;
                            g.polys()?;
                            if !shared {
                                return None;
                            }
                            *tiled = true;
                            ops.push(g);
                        } else {
                            // A packed panel is read as the array it copies.
                            let a = self.unpack(&a, at).unwrap_or(a);
                            a.polys()?;
                            *direct = true;
                            ops.push(a);
                        }
                    }
                    // A spare slot of a register array holding an operand
                    // for the loop (`r[TM] = Bs[...]` read as `r[TM]`).
                    Some(a) if self.scratch_slot(&a, lvars, at).is_some() => {
                        let g = self.scratch_slot(&a, lvars, at)?;
                        *tiled = true;
                        ops.push(g);
                    }
                    _ if !mentions_any(&f, lvars) && !has_access(&f) => scalars.push(f),
                    _ if !mentions_any(&f, lvars) && acc.is_some() => scalars.push(f),
                    _ => return None,
                }
            }
            if ops.len() != 2 {
                return None;
            }
            let b = ops.pop()?;
            let a = ops.pop()?;
            terms.push(Term {
                ops: [a, b],
                scalars,
                neg,
            });
        }
        if terms.is_empty() {
            None
        } else {
            Some(terms)
        }
    }

    /// A register-array element at a fixed index (`r[TM]`, a slot past the
    /// accumulators) that the loop fills from a shared tile: the global
    /// access it stands for, where that moves with the loop (`lvars`).
    fn scratch_slot(&self, a: &Access, lvars: &[String], at: usize) -> Option<Access> {
        if !matches!(self.f.kind, FnKind::CudaKernel | FnKind::CudaDevice)
            || !self.is_register(&a.base)
            || a.idx.iter().any(|e| mentions_any(e, lvars))
        {
            return None;
        }
        let mut shared = false;
        let g = self.untile(a, &mut shared, 0, at)?;
        g.polys()?;
        (shared && g.idx.iter().any(|e| mentions_any(e, lvars))).then_some(g)
    }

    fn lvars(loops: &[&Stmt]) -> Vec<String> {
        loops.iter().map(|s| loop_of(s).var.clone()).collect()
    }

    fn macs(&self) -> Vec<Mac<'a>> {
        let mut out = Vec::new();
        for (n, site) in self.sites.iter().enumerate() {
            let StmtKind::Assign { target, op, value } = &site.stmt.kind else {
                continue;
            };
            if !matches!(op, AssignOp::Add | AssignOp::Sub) || site.loops.is_empty() {
                continue;
            }
            let lvars = Self::lvars(&site.loops);
            let (mut tiled, mut direct) = (false, false);
            let Some(terms) = self.terms(value, &lvars, &mut tiled, &mut direct, n) else {
                continue;
            };
            let staged = tiled && !direct;
            let opstr = if *op == AssignOp::Add { "+=" } else { "-=" };
            let text = format!("{target} {opstr} {value}");
            let mut alpha: Vec<String> = terms[0].scalars.iter().map(|s| s.to_string()).collect();
            // `C -= A*B` is `alpha = -1`.
            if terms[0].neg ^ (*op == AssignOp::Sub) {
                alpha.insert(0, "-1".into());
            }
            if let Some(out_acc) = self.access(target) {
                if self.is_register(&out_acc.base) {
                    if let Some(m) =
                        self.register_mac(n, &out_acc, &terms, &alpha, (tiled, staged), &text)
                    {
                        out.push(m);
                        continue;
                    }
                    // An x86 register whose store is not followed holds
                    // part of a product (one named accumulator of a block):
                    // no nest of its own.
                    if self.is_vector_register(&out_acc.base) {
                        continue;
                    }
                }
                out.push(Mac {
                    site: n,
                    out: out_acc,
                    loops: site.loops.clone(),
                    out_depth: site.loops.len(),
                    terms,
                    alpha,
                    beta: None,
                    extra: false,
                    epilogue: None,
                    tiled,
                    staged,
                    text,
                });
            } else if let Expr::Var(s) = target {
                if self.is_array(s) {
                    continue;
                }
                if let Some(m) = self.scalar_mac(n, s, terms, alpha, (tiled, staged), text) {
                    out.push(m);
                }
            }
        }
        out
    }

    /// Completes a register-tile accumulator `R[e] += f` (one thread's
    /// TM×TN block of C) with the later loop that stores it,
    /// `C[g(v)] = alpha*R[v] + beta*C[g(v)]`: the MAC then reads as if it
    /// accumulated into `C[g(e)]` directly, inside all its loops.
    fn register_mac(
        &self,
        n: usize,
        reg: &Access,
        terms: &[Term],
        alpha: &[String],
        (tiled, staged): (bool, bool),
        text: &str,
    ) -> Option<Mac<'a>> {
        let site = &self.sites[n];
        let is_loop = |v: &str| self.is_loop_var(v);
        for st in self.sites.iter().skip(n + 1) {
            let StmtKind::Assign { target, op, value } = &st.stmt.kind else {
                continue;
            };
            if !matches!(op, AssignOp::Set | AssignOp::Add) {
                continue;
            }
            let Some(out) = self.access(target) else {
                continue;
            };
            if out.base == reg.base || self.is_register(&out.base) || self.is_shared(&out.base) {
                continue;
            }
            let mut read: Option<Access> = None;
            // The outermost read: `tmp[j][l]` also holds the row `tmp[j]`.
            value.walk(&mut |x| {
                if let Some(a) = self.access(x) {
                    // The whole access, not its row (`R[q][u]` in `R[q][u][l]`).
                    if a.base == reg.base && read.as_ref().is_none_or(|r| r.idx.len() < a.idx.len())
                    {
                        read = Some(a);
                    }
                }
            });
            let Some(read) = read else { continue };
            if read.idx.len() != reg.idx.len() {
                return None;
            }
            let common = st
                .loops
                .iter()
                .zip(&site.loops)
                .take_while(|(a, b)| std::ptr::eq(**a, **b))
                .count();
            let own: Vec<String> = st.loops[common..]
                .iter()
                .map(|l| loop_of(l).var.clone())
                .collect();
            // The store's own loop variables renamed apart from the MAC's
            // (both may be `i` and `j`), then solved for from the register
            // index the MAC writes.
            let ren = |e: &Expr| {
                let mut e = e.clone();
                for v in &own {
                    e = e.substitute(v, &Expr::Var(format!("__st_{v}")));
                }
                e
            };
            let is_loop2 = |v: &str| v.starts_with("__st_") || is_loop(v);
            let own_var = |v: &str| v.starts_with("__st_");
            // Each flat index solved as a row and column (`flat_tile_vars`),
            // or, where that leaves the store's variables, in mixed radix.
            let solve = |radix: bool| -> Option<Vec<(String, Expr)>> {
                let mut map: Vec<(String, Expr)> = Vec::new();
                for (se, me) in read.idx.iter().zip(&reg.idx) {
                    match ren(se) {
                        Expr::Var(v) => map.push((v, me.clone())),
                        se if radix => map.extend(radix_vars(&se, me, &own_var, &is_loop)?),
                        se => match flat_tile_vars(&se, me, &is_loop2) {
                            Some(p) => map.extend(p),
                            // One subscript of a multi-dimensional tile
                            // (`R[m][n + lane]`): no stride to split by.
                            None if read.idx.len() > 1 => map.extend(solve_one(&se, me, &own_var)?),
                            None => return None,
                        },
                    }
                }
                Some(map)
            };
            let subst = |map: &[(String, Expr)], e: &Expr| {
                let mut e = ren(e);
                for (v, x) in map {
                    e = e.substitute(v, x);
                }
                e
            };
            let moved = |map: &[(String, Expr)], a: &Access| Access {
                base: a.base.clone(),
                idx: a.idx.iter().map(|e| simplified(subst(map, e))).collect(),
            };
            // Every loop of the store's own must be solved for: mapped, or
            // cancelled out of the moved index (a vector lane and the
            // column it offsets).
            let solved = |map: &[(String, Expr)]| {
                !own.is_empty()
                    && map.iter().all(|(m, _)| m.starts_with("__st_"))
                    && !moved(map, &out)
                        .idx
                        .iter()
                        .any(|e| e.vars().iter().any(|v| v.starts_with("__st_")))
            };
            let map = solve(false)
                .filter(|m| solved(m))
                .or_else(|| solve(true).filter(|m| solved(m)))?;
            let moved = |a: &Access| moved(&map, a);
            // alpha and beta as for a scalar accumulator's store.
            let mut alpha = alpha.to_vec();
            let (mut beta, mut extra, mut seen) = (None, false, false);
            let mut sum = Vec::new();
            split_sum(value, false, &mut sum);
            for (_, t) in sum {
                let mut fs = Vec::new();
                split_prod(&t, &mut fs);
                if let Some(p) = fs
                    .iter()
                    .position(|f| self.access(f).as_ref() == Some(&read))
                {
                    if seen {
                        return None;
                    }
                    seen = true;
                    fs.remove(p);
                    if fs.iter().any(has_access) {
                        return None;
                    }
                    alpha.extend(fs.iter().map(|f| f.to_string()));
                } else if *op == AssignOp::Set
                    && fs.iter().any(|f| self.access(f).as_ref() == Some(&out))
                {
                    fs.retain(|f| self.access(f).as_ref() != Some(&out));
                    if fs.iter().any(has_access) {
                        extra = true;
                    } else if !fs.is_empty() {
                        beta = Some(product_text(&fs));
                    }
                } else {
                    extra = true;
                }
            }
            if !seen {
                return None;
            }
            return Some(Mac {
                site: n,
                out: moved(&out),
                loops: site.loops.clone(),
                out_depth: site.loops.len(),
                terms: terms.to_vec(),
                alpha,
                beta,
                extra,
                epilogue: None,
                tiled,
                staged,
                text: format!("{text}; {target} {} {value}", assign_text(*op)),
            });
        }
        None
    }

    /// Completes a scalar accumulator `s += f` with its store and init.
    fn scalar_mac(
        &self,
        n: usize,
        s: &str,
        terms: Vec<Term>,
        mut alpha: Vec<String>,
        (tiled, staged): (bool, bool),
        text: String,
    ) -> Option<Mac<'a>> {
        let site = &self.sites[n];
        let (q, store) = self.sites.iter().enumerate().skip(n + 1).find(|(_, st)| {
            st.loops.len() < site.loops.len()
                && is_prefix(&st.loops, &site.loops)
                && matches!(&st.stmt.kind, StmtKind::Assign { target, value, .. }
                    if value.mentions(s) && self.access(target).is_some())
        })?;
        let _ = q;
        let StmtKind::Assign { target, op, value } = &store.stmt.kind else {
            return None;
        };
        let out = self.access(target)?;
        let (value, epilogue) = activation(value, s, *op);
        // The accumulator must be (re)initialised at the store's level.
        let init = self.sites[..n].iter().any(|p| {
            same_stmts(&p.loops, &store.loops)
                && match &p.stmt.kind {
                    StmtKind::Assign {
                        target: Expr::Var(v),
                        op: AssignOp::Set,
                        ..
                    } => v == s,
                    StmtKind::Decl { name, .. } => name == s,
                    _ => false,
                }
        });
        if !init {
            return None;
        }
        let mut beta = None;
        let mut extra = false;
        let mut seen_acc = false;
        match op {
            AssignOp::Set | AssignOp::Add | AssignOp::Sub => {
                let mut sum = Vec::new();
                split_sum(value, false, &mut sum);
                for (_, t) in sum {
                    let mut fs = Vec::new();
                    split_prod(&t, &mut fs);
                    if let Some(p) = fs.iter().position(|f| matches!(f, Expr::Var(v) if v == s)) {
                        if seen_acc
                            || fs
                                .iter()
                                .any(|f| f.mentions(s) && !matches!(f, Expr::Var(v) if v == s))
                        {
                            return None;
                        }
                        seen_acc = true;
                        fs.remove(p);
                        alpha.extend(fs.iter().map(|f| f.to_string()));
                    } else if *op == AssignOp::Set
                        && fs.iter().any(|f| self.access(f).as_ref() == Some(&out))
                    {
                        fs.retain(|f| self.access(f).as_ref() != Some(&out));
                        if fs.iter().any(has_access) {
                            extra = true;
                        } else if !fs.is_empty() {
                            beta = Some(product_text(&fs));
                        }
                    } else {
                        extra = true;
                    }
                }
            }
            _ => return None,
        }
        if !seen_acc {
            return None;
        }
        // `C -= s` subtracts the product: `alpha = -1` (twice negated: 1).
        if *op == AssignOp::Sub {
            if alpha.first().map(String::as_str) == Some("-1") {
                alpha.remove(0);
            } else {
                alpha.insert(0, "-1".into());
            }
        }
        let shown = match &epilogue {
            Some(g) => format!("{g}({value})"),
            None => value.to_string(),
        };
        let text = format!("{text}; {target} {} {shown}", assign_text(*op));
        Some(Mac {
            site: n,
            out,
            loops: site.loops.clone(),
            out_depth: store.loops.len(),
            terms,
            alpha,
            beta,
            extra,
            epilogue,
            tiled,
            staged,
            text,
        })
    }
}

/// A store that applies one elementwise function to the accumulated sum
/// (`l2[j] = squash(sum)`, `y[i] = tanh(s + b[i])`): the value inside and
/// the function's name. Still the product: the library call computes the
/// sum, and the function is applied after it.
fn activation<'e>(value: &'e Expr, acc: &str, op: AssignOp) -> (&'e Expr, Option<String>) {
    match value {
        Expr::Call {
            func,
            recv: None,
            args,
            kwargs,
        } if op == AssignOp::Set
            && args.len() == 1
            && kwargs.is_empty()
            && args[0].mentions(acc)
            && !func.starts_with("_mm") =>
        {
            (&args[0], Some(func.clone()))
        }
        _ => (value, None),
    }
}

fn assign_text(op: AssignOp) -> &'static str {
    match op {
        AssignOp::Set => "=",
        AssignOp::Add => "+=",
        AssignOp::Sub => "-=",
        AssignOp::Mul => "*=",
        AssignOp::Div => "/=",
        AssignOp::Other => "?=",
    }
}

fn product_text(fs: &[Expr]) -> String {
    fs.iter()
        .map(|f| f.to_string())
        .collect::<Vec<_>>()
        .join("*")
}

// ---------------------------------------------------------------------------
// Classification

/// Roles of the variables of one term, oriented so that `ops[0]` is A (the
/// operand holding the M variables) and `ops[1]` is B (or the vector x).
#[derive(Clone, Debug, PartialEq)]
struct Roles {
    m: Vec<String>,
    n: Vec<String>,
    k: Vec<String>,
    batch: Vec<String>,
}

fn access_vars(a: &Access, vars: &[String]) -> BTreeSet<String> {
    a.uses(vars)
}

/// Classifies the variables of one term; swaps the operands so that A holds M.
fn roles(out: &Access, term: &mut Term, idiom_vars: &[String]) -> Option<Roles> {
    let o = access_vars(out, idiom_vars);
    let x = access_vars(&term.ops[0], idiom_vars);
    let y = access_vars(&term.ops[1], idiom_vars);
    let mut r = Roles {
        m: vec![],
        n: vec![],
        k: vec![],
        batch: vec![],
    };
    for v in idiom_vars {
        match (o.contains(v), x.contains(v), y.contains(v)) {
            (true, true, true) => r.batch.push(v.clone()),
            (true, true, false) => r.m.push(v.clone()),
            (true, false, true) => r.n.push(v.clone()),
            (false, true, true) => r.k.push(v.clone()),
            (false, false, false) => {}
            _ => return None,
        }
    }
    // Orientation: A is the operand sharing C's row variable (the first
    // subscript of a multi-dimensional C; for a flattened C, the operand the
    // code names A — `b[..]*a[..]` in column-major BLAS style — else the
    // first factor as written). A GEMV's matrix is A whatever the order.
    let swap = if r.m.is_empty() || r.n.is_empty() {
        r.m.is_empty()
    } else if out.idx.len() >= 2 {
        let first = out.idx.iter().find_map(|e| {
            idiom_vars
                .iter()
                .find(|v| e.mentions(v) && (r.m.contains(v) || r.n.contains(v)))
        });
        first.is_some_and(|v| r.n.contains(v))
    } else {
        operand_letter(&term.ops[0].base) == Some('b')
            && operand_letter(&term.ops[1].base) == Some('a')
    };
    if swap {
        term.ops.swap(0, 1);
        std::mem::swap(&mut r.m, &mut r.n);
    }
    Some(r)
}

/// For an in-place update of row `row` reading rows `k`: true when those
/// rows come later in iteration order than `row` (`k` starts above `row`
/// while `row` ascends, or ends at or below it while `row` descends), so
/// that the reads see the original values.
fn reads_ahead(loops: &[&Loop], row: &str, k: &str) -> bool {
    let (Some(lr), Some(lk)) = (
        loops.iter().find(|l| l.var == row),
        loops.iter().find(|l| l.var == k),
    ) else {
        return false;
    };
    let step = match &lr.step {
        Expr::Int(s) => *s,
        Expr::Unary(UnOp::Neg, e) if matches!(**e, Expr::Int(_)) => -1,
        _ => return false,
    };
    let row_p = Poly::symbol(row);
    let offset = |e: &Expr| Poly::from_expr(e).and_then(|p| p.sub(&row_p).as_const());
    let starts_after = lk.start.mentions(row) && offset(&lk.start).is_some_and(|c| c >= 1);
    let ends_before = lk.end.mentions(row) && offset(&lk.end).is_some_and(|c| c <= 0);
    (step > 0 && starts_after) || (step < 0 && ends_before)
}

/// The matrix letter an array's name suggests: `A`, `d_a`, `h_A`, `self.a`
/// → `a`; `B`, `dB` → `b`; anything longer or else → `None`.
fn operand_letter(base: &str) -> Option<char> {
    let name = base.rsplit('.').next().unwrap_or(base);
    let name = name
        .strip_prefix("d_")
        .or_else(|| name.strip_prefix("h_"))
        .or_else(|| {
            name.strip_prefix('d')
                .filter(|r| r.len() == 1 && r.chars().all(|c| c.is_ascii_uppercase()))
        })
        .unwrap_or(name);
    let mut cs = name.chars();
    let c = cs.next()?.to_ascii_lowercase();
    (cs.next().is_none() && (c == 'a' || c == 'b')).then_some(c)
}

/// True if `u` is `w` times a small constant or a stride-like symbol: the
/// index of a sliding window (`p*stride + r`, `p + r`).
fn window_multiple(u: &Poly, w: &Poly) -> bool {
    if u.is_zero() || w.is_zero() {
        return false;
    }
    if u == w || (2..=4).any(|c| &w.scale(c) == u) {
        return true;
    }
    u.symbols()
        .iter()
        .filter(|s| s.to_ascii_lowercase().contains("stride"))
        .any(|s| &w.mul(&Poly::symbol(s)) == u)
}

/// Pairs (output var, reduced var) that index one dimension together.
fn windows(a: &Access, outs: &[String], ks: &[String]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for e in &a.idx {
        let Some(p) = Poly::from_expr(e) else {
            continue;
        };
        let present = p.symbols();
        for u in outs.iter().filter(|u| present.contains(*u)) {
            for w in ks.iter().filter(|w| present.contains(*w)) {
                let (Some(cu), Some(cw)) = (p.coeff(u), p.coeff(w)) else {
                    continue;
                };
                let only_pair = a.idx.len() >= 2
                    && present
                        .iter()
                        .filter(|s| outs.contains(s) || ks.contains(s))
                        .count()
                        == 2;
                if only_pair || window_multiple(&cu, &cw) {
                    found.push((u.clone(), w.clone()));
                }
            }
        }
    }
    found
}

/// Rows are separate allocations: `T**`, `T *a[N]`, `vector<vector<T>>`,
/// Python lists of lists. Never a NumPy/PyTorch array, nor a C/C++ array
/// with a declared multi-dimensional shape (`float A[M][N]`, the parameter
/// forms `float A[][N]` and `float (*A)[N]`, C99 VLA `float A[n][k]`,
/// nested `std::array`), which is one contiguous block.
fn jagged(f: &Function, a: &Access) -> bool {
    let python = matches!(f.kind, FnKind::Python | FnKind::Module);
    a.idx.len() >= 2
        && f.vars.get(&a.base).is_some_and(|v| {
            let contiguous = v.shape.len() >= 2;
            v.is_array && !v.ndarray && (python || !contiguous)
        })
}

/// The layout of `a` as a matrix with logical rows `row` and columns `col`.
fn layout(f: &Function, role: &str, a: &Access, row: &str, col: &str) -> Option<OperandLayout> {
    let pos = |v: &str| a.idx.iter().position(|e| e.mentions(v));
    let (pr, pc) = (pos(row)?, pos(col)?);
    let (major, ld) = if pr != pc {
        (if pr < pc { Major::Row } else { Major::Col }, None)
    } else {
        let p = Poly::from_expr(&a.idx[pr])?;
        let (cr, cc) = (p.coeff(row)?, p.coeff(col)?);
        let one = Poly::constant(1);
        if cc == one && cr != one {
            (Major::Row, Some(cr.to_string()))
        } else if cr == one && cc != one {
            (Major::Col, Some(cc.to_string()))
        } else {
            (Major::Row, None)
        }
    };
    Some(OperandLayout {
        role: role.to_string(),
        name: a.base.clone(),
        major,
        ld,
        jagged: jagged(f, a),
    })
}

/// A loop's extent as the problem size: for a bound that depends on another
/// loop (triangular `j <= i`, blocked `i < min(ii+T, N)`), that loop's size.
fn full_extent(var: &str, loops: &[&Loop], depth: u32) -> Option<Expr> {
    let l = loops.iter().find(|l| l.var == var)?;
    if depth < 8 {
        if let Some(w) = loops
            .iter()
            .find(|o| o.var != var && (l.start.mentions(&o.var) || l.end.mentions(&o.var)))
        {
            return full_extent(&w.var.clone(), loops, depth + 1);
        }
    }
    if l.step == Expr::Int(1) {
        return Some(l.extent());
    }
    // A blocked/unrolled loop: its span, not its trip count.
    Some(
        Poly::from_expr(&l.end)
            .zip(Poly::from_expr(&l.start))
            .map(|(e, s)| e.sub(&s).to_expr())
            .unwrap_or_else(|| Expr::bin(BinOp::Sub, l.end.clone(), l.start.clone())),
    )
}

fn dim_of(file: &File, e: Expr) -> Dim {
    Dim::of(file, &e)
}

fn product_dim(file: &File, vars: &[String], loops: &[&Loop]) -> Option<Dim> {
    let mut acc: Option<Expr> = None;
    // A loop stepping over a vector register block (`i += 16`) spans the
    // block's lanes and unrolled copies: they add nothing to its extent.
    let stepped = vars.iter().any(|v| {
        !crate::ir::is_register_digit(v)
            && loops
                .iter()
                .any(|l| l.var == *v && matches!(l.step, Expr::Int(s) if s > 1))
    });
    for v in vars {
        if stepped && crate::ir::is_register_digit(v) {
            continue;
        }
        let e = full_extent(v, loops, 0)?;
        acc = Some(match acc {
            None => e,
            Some(a) => Expr::bin(BinOp::Mul, a, e),
        });
    }
    acc.map(|e| dim_of(file, e))
}

/// The K of a tiled kernel: tile loop `t < (K + T - 1)/T` (or `t < K; t += T`)
/// times the inner loop `k < T`.
fn tiled_k(file: &File, vars: &[String], loops: &[&Loop]) -> Option<Dim> {
    let ls: Vec<&&Loop> = loops.iter().filter(|l| vars.contains(&l.var)).collect();
    if ls.len() != 2 {
        return product_dim(file, vars, loops);
    }
    let t = ls[0];
    if t.step != Expr::Int(1) {
        return full_extent(&t.var, loops, 0).map(|e| dim_of(file, e));
    }
    if let Expr::Binary(BinOp::Div, a, b) = &t.end {
        if let (Some(pa), Some(pb)) = (Poly::from_expr(a), Poly::from_expr(b)) {
            let k = pa.sub(&pb).add(&Poly::constant(1));
            if pb.symbols().iter().all(|s| !k.symbols().contains(s)) && !pb.is_zero() {
                return Some(dim_of(file, k.to_expr()));
            }
        }
        return Some(dim_of(file, (**a).clone()));
    }
    product_dim(file, vars, loops)
}

/// A classification with the nest's idiom variables, enclosing loops and
/// whether some bound is triangular.
type ClassifiedNest<'a> = (Classified, Vec<String>, Vec<&'a Loop>, bool);

struct Classified {
    shape: Shape,
    roles: Roles,
    term: Term,
    /// The operand role names and (row, col) variables for layouts.
    layouts: Vec<OperandLayout>,
    conv_letters: HashMap<String, char>,
}

/// True if the two accesses are the same after renaming `from` to `to`.
fn same_after_rename(a: &Access, b: &Access, from: &str, to: &str) -> bool {
    if a.base != b.base || a.idx.len() != b.idx.len() {
        return false;
    }
    let to_e = Expr::var(to);
    a.idx.iter().zip(&b.idx).all(|(x, y)| {
        let y = y.clone().substitute(from, &to_e);
        match (Poly::from_expr(x), Poly::from_expr(&y)) {
            (Some(p), Some(q)) => p == q,
            _ => *x == y,
        }
    })
}

/// True if the two accesses read the same element (indices compared as polynomials).
pub(crate) fn same_access(a: &Access, b: &Access) -> bool {
    a.base == b.base
        && a.idx.len() == b.idx.len()
        && a.idx
            .iter()
            .zip(&b.idx)
            .all(|(x, y)| match (Poly::from_expr(x), Poly::from_expr(y)) {
                (Some(p), Some(q)) => p == q,
                _ => x == y,
            })
}

/// `a` with the variables `x` and `y` exchanged (`S[i][k]` → `S[k][i]`).
fn swap_vars(a: &Access, x: &str, y: &str) -> Access {
    const TMP: &str = "__swap_tmp__";
    let idx = a
        .idx
        .iter()
        .map(|e| {
            e.clone()
                .substitute(x, &Expr::var(TMP))
                .substitute(y, &Expr::var(x))
                .substitute(TMP, &Expr::var(y))
        })
        .collect();
    Access {
        base: a.base.clone(),
        idx,
    }
}

/// True if `base` is read on its diagonal (`A[i][i]`, `A[i*lda + i]`) anywhere in `body`.
fn reads_diagonal(cx: &FnCx<'_>, body: &Stmt, base: &str, vars: &[String]) -> bool {
    let mut found = false;
    body.walk(&mut |s| {
        for e in s.exprs() {
            e.walk(&mut |x| {
                let Some(a) = cx.access(x) else { return };
                if a.base != base {
                    return;
                }
                if a.idx.len() == 2 {
                    if let (Some(p), Some(q)) =
                        (Poly::from_expr(&a.idx[0]), Poly::from_expr(&a.idx[1]))
                    {
                        if p == q && vars.iter().any(|v| p.symbols().contains(v)) {
                            found = true;
                        }
                    }
                } else if a.idx.len() == 1 {
                    if let Some(p) = Poly::from_expr(&a.idx[0]) {
                        let vs: Vec<&String> =
                            vars.iter().filter(|v| p.symbols().contains(*v)).collect();
                        if vs.len() == 1 {
                            // `A[i*lda + i]`: the coefficient is `lda + 1`.
                            if let Some(c) = p.coeff(vs[0]) {
                                if c.terms.get(&Vec::new()) == Some(&1) && c.terms.len() > 1 {
                                    found = true;
                                }
                            }
                        }
                    }
                }
            });
        }
    });
    found
}

/// The variable of `vars` with the smallest stride in `a` (the innermost
/// subscript); on a tie the later one in `vars`, i.e. the inner loop.
fn innermost_pos(a: &Access, vars: &[String]) -> Option<String> {
    let mut best: Option<(usize, bool, String)> = None;
    for v in vars {
        let Some(p) = a.idx.iter().rposition(|e| e.mentions(v)) else {
            continue;
        };
        let unit = Poly::from_expr(&a.idx[p])
            .and_then(|q| q.coeff(v))
            .is_some_and(|c| c == Poly::constant(1));
        let cand = (p, unit, v.clone());
        if best.as_ref().is_none_or(|b| (cand.0, cand.1) >= (b.0, b.1)) {
            best = Some(cand);
        }
    }
    best.map(|b| b.2)
}

// ---------------------------------------------------------------------------
// Per-function driver

fn analyze_fn<'a>(file: &'a File, f: &'a Function, out: &mut Vec<Nest<'a>>) {
    let mut sites = Vec::new();
    collect_sites(&f.body, &mut Vec::new(), &mut sites);
    let moving = moving_names(f, &sites);
    let cx = FnCx {
        file,
        f,
        sites,
        moving,
        stale: std::cell::Cell::new(false),
    };
    let macs = cx.macs();

    // Group MACs by (outermost idiom loop, output array): one finding per nest.
    struct Group<'a> {
        outer: *const Stmt,
        base: String,
        items: Vec<(Mac<'a>, ClassifiedNest<'a>)>,
    }
    let mut groups: Vec<Group<'a>> = Vec::new();
    let classified: Vec<_> = macs.iter().map(|m| cx.classify(m, &macs)).collect();
    for (mac, cl) in macs.into_iter().zip(classified) {
        let Some((c, idiom, loops, tri)) = cl else {
            continue;
        };
        let Some(outer) = mac
            .loops
            .iter()
            .find(|s| idiom.contains(&loop_of(s).var))
            .map(|s| *s as *const Stmt)
        else {
            continue;
        };
        match groups
            .iter_mut()
            .find(|g| g.outer == outer && g.base == mac.out.base)
        {
            Some(g) => g.items.push((mac, (c, idiom, loops, tri))),
            None => groups.push(Group {
                outer,
                base: mac.out.base.clone(),
                items: vec![(mac, (c, idiom, loops, tri))],
            }),
        }
    }

    for g in groups {
        let mut items = g.items;
        // SYR2K written as two statements: two GEMMs with swapped operands.
        let mut shape = items[0].1 .0.shape;
        if items.len() >= 2 {
            let (x, y) = (&items[0].1 .0.term.ops, &items[1].1 .0.term.ops);
            if items[0].1 .0.shape == Shape::Gemm
                && items[1].1 .0.shape == Shape::Gemm
                && x[0].base == y[1].base
                && x[1].base == y[0].base
            {
                shape = Shape::Syr2k;
            } else if items.iter().any(|it| it.1 .0.shape == Shape::Symm) {
                // Prefer the statement whose M variable is the outer loop
                // (PolyBench's `temp2 += B[k][j]*A[i][k]`) as the key.
                shape = Shape::Symm;
                let natural = |it: &(Mac<'a>, ClassifiedNest<'a>)| {
                    let (c, idiom, loops, _) = &it.1;
                    let outer = loops.iter().find(|l| idiom.contains(&l.var));
                    c.shape == Shape::Symm
                        && outer.is_some_and(|l| c.roles.m.first() == Some(&l.var))
                };
                let p = items
                    .iter()
                    .position(natural)
                    .or_else(|| items.iter().position(|it| it.1 .0.shape == Shape::Symm))
                    .unwrap_or(0);
                items.swap(0, p);
            }
        }
        let other_beta = items.iter().skip(1).find_map(|it| it.0.beta.clone());
        let (mut mac, (c, idiom, loops, triangular)) = items.swap_remove(0);
        if mac.beta.is_none() {
            mac.beta = other_beta;
        }
        out.push(build_nest(
            &cx, mac, c, shape, idiom, loops, triangular, g.outer,
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn build_nest<'a>(
    cx: &FnCx<'a>,
    mac: Mac<'a>,
    c: Classified,
    shape: Shape,
    idiom: Vec<String>,
    loops: Vec<&'a Loop>,
    triangular: bool,
    outer: *const Stmt,
) -> Nest<'a> {
    let file = cx.file;
    let f = cx.f;
    let r = &c.roles;
    // Tile loops of a blocked nest (their vars appear only in the bounds of
    // idiom loops) belong to the range too.
    let tile_vars: Vec<String> = loops
        .iter()
        .filter(|l| !idiom.contains(&l.var))
        .filter(|l| {
            loops.iter().any(|o| {
                idiom.contains(&o.var) && (o.start.mentions(&l.var) || o.end.mentions(&l.var))
            })
        })
        .map(|l| l.var.clone())
        .collect();
    let range = mac
        .loops
        .iter()
        .find(|s| {
            let v = &loop_of(s).var;
            idiom.contains(v) || tile_vars.contains(v)
        })
        .map(|s| s.span)
        .unwrap_or_else(|| {
            mac.loops
                .iter()
                .find(|s| std::ptr::eq(**s, outer))
                .map_or(cx.sites[mac.site].stmt.span, |s| s.span)
        });
    let mut nest_loops: Vec<NestLoop> = loops
        .iter()
        .filter(|l| idiom.contains(&l.var))
        .map(|l| NestLoop {
            var: l.var.clone(),
            role: if shape == Shape::Conv {
                *c.conv_letters.get(&l.var).unwrap_or(&'?')
            } else if r.batch.contains(&l.var) {
                'b'
            } else if r.m.contains(&l.var) {
                'i'
            } else if r.n.contains(&l.var) {
                'j'
            } else {
                'k'
            },
            kind: l.kind.clone(),
        })
        .collect();
    // A register block's digits are one loop of their role, not more.
    let mut seen = std::collections::HashSet::new();
    nest_loops.retain(|l| seen.insert(l.role) || !crate::ir::is_register_digit(&l.var));
    let dims = if shape == Shape::Gemv {
        Dims {
            m: product_dim(file, &r.m, &loops),
            n: None,
            k: product_dim(file, &r.k, &loops),
            batch: None,
        }
    } else {
        Dims {
            m: product_dim(file, &r.m, &loops),
            n: product_dim(file, &r.n, &loops),
            k: if mac.tiled {
                tiled_k(file, &r.k, &loops)
            } else {
                product_dim(file, &r.k, &loops)
            },
            batch: if r.batch.is_empty() {
                None
            } else {
                product_dim(file, &r.batch, &loops)
            },
        }
    };
    let elem_of = |n: &str| f.vars.get(n).and_then(|v| v.elem.clone());
    let dtype = elem_of(&mac.out.base)
        .or_else(|| elem_of(&c.term.ops[0].base))
        .or_else(|| elem_of(&c.term.ops[1].base));

    // alpha from the product's scalars and the store; beta from a scaling of
    // the output inside the nest (`C[i][j] *= beta`, `C = beta*C`), before the
    // MAC; a scaling after it (`B[i][j] = alpha*B[i][j]`) is alpha.
    let mut alpha = mac.alpha.clone();
    let mut beta = mac.beta.clone();
    let outer_stmt = mac.loops.iter().find(|s| std::ptr::eq(**s, outer));
    if let Some(os) = outer_stmt {
        let mut seen_mac = false;
        let key = cx.sites[mac.site].stmt;
        os.walk(&mut |s| {
            if std::ptr::eq(s, key) {
                seen_mac = true;
                return;
            }
            let StmtKind::Assign { target, op, value } = &s.kind else {
                return;
            };
            let Some(t) = cx.access(target) else { return };
            if t.base != mac.out.base {
                return;
            }
            let scale = match op {
                AssignOp::Mul if !has_access(value) => Some(value.to_string()),
                AssignOp::Set => {
                    let mut fs = Vec::new();
                    split_prod(value, &mut fs);
                    let n_out = fs
                        .iter()
                        .filter(|x| cx.access(x).as_ref() == Some(&t))
                        .count();
                    fs.retain(|x| cx.access(x).as_ref() != Some(&t));
                    (n_out == 1 && !fs.is_empty() && !fs.iter().any(has_access))
                        .then(|| product_text(&fs))
                }
                _ => None,
            };
            if let Some(sc) = scale {
                if seen_mac {
                    alpha.push(sc);
                } else if beta.is_none() {
                    beta = Some(sc);
                }
            }
        });
    }
    let alpha = (!alpha.is_empty()).then(|| alpha.join("*"));

    let mut confidence: f32 = match shape {
        Shape::Gemm | Shape::Gemv => 0.95,
        Shape::Batched | Shape::Syrk | Shape::Syr2k => 0.9,
        Shape::Conv | Shape::Symm | Shape::Trmm => 0.85,
    };
    if mac.tiled {
        confidence -= 0.05;
    }
    if mac.extra && shape != Shape::Symm {
        confidence -= 0.15;
    }
    let terms = mac.terms.len();
    let func_index = file
        .functions
        .iter()
        .position(|g| std::ptr::eq(g, f))
        .expect("the nest's function is one of the file's");
    let facts = NestFacts {
        func_index,
        out: mac.out.clone(),
        operands: c.term.ops.clone(),
        factors: c.term.scalars.clone(),
        term_negated: c.term.neg,
        terms,
        extra: mac.extra,
        epilogue: mac.epilogue.clone(),
        shape,
        tiled: mac.tiled,
        range,
        key_range: cx.sites[mac.site].stmt.span,
        loops: nest_loops,
        dims,
        layouts: c.layouts,
        alpha,
        beta,
        dtype,
        triangular,
        text: mac.text,
        confidence,
    };
    Nest { func: f, facts }
}

/// `i, j, k` for `why` lines.
pub fn var_list(n: &Nest<'_>) -> String {
    let roles = if n.shape == Shape::Conv {
        "nkpqcrs"
    } else {
        "bijk"
    };
    let rank = |c: char| roles.find(c).unwrap_or(99);
    let mut ls: Vec<&NestLoop> = n.loops.iter().collect();
    ls.sort_by_key(|l| rank(l.role));
    ls.iter()
        .map(|l| l.var.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The standard `why` line: statement, loop variables and order.
pub fn why_line(n: &Nest<'_>) -> String {
    format!(
        "{} over {} (loop order {})",
        n.text,
        var_list(n),
        n.order_dashed()
    )
}
