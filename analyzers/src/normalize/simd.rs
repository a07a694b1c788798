//! x86 vector registers read as arrays of their lanes (C/C++, pass 0c).
//!
//! Pass 0 reads an intrinsic as the lane computation it stands for, with
//! the lane left as a symbol: `_mm256_loadu_ps(&A[e])` is `A[e + λ]`
//! (λ written `__simd8`: eight lanes), `_mm256_storeu_ps(&C[e], v)` is
//! `C[e + λ] = v`, a broadcast (`_mm256_broadcast_ss(&B[e])`,
//! `_mm256_set1_ps(x)`) is the same value in every lane, `B[e]`. The other
//! passes then follow locals and pointers through the straight-line code
//! as for scalars. This pass runs last and makes the lanes explicit:
//!
//! 1. Runs of statements that differ only by constants in their array
//!    indices, in arithmetic progression — an unrolled register block
//!    (`acc[0][0] = ... A[p*M] ... B[p]`, `acc[0][1] = ... A[p*M + 8] ...`,
//!    `acc[1][0] = ... B[K + p]`, ...) — are rolled back into loops over
//!    fresh variables, pairs first and then runs of equal loops, as
//!    [`super::lanes`] rolls CUDA vector lanes.
//! 2. Every vector register (a local or parameter of type `__m256`,
//!    `__m128d`, ...) becomes an array with one more extent, its lanes: a
//!    statement that assigns a register or reads or writes memory at lane
//!    λ is wrapped in a loop over λ (`for λ in 0..8: acc[u][v][λ] +=
//!    A[p*M + 8*v + λ] * B[u*K + p]`); a register read anywhere else is
//!    its lane 0. The vector member of a union (`x.v` beside `x.d[2]`)
//!    keeps pass 0's first-lane reading: its lanes are read back one by
//!    one through the array member, each accumulator apart.
//!
//! An eight-lane `_mm256_fmadd_ps` is then eight scalar multiply-adds, and
//! an AVX micro-kernel's accumulators are a register tile that the
//! contraction analysis maps to the C block it stores
//! (`contraction::FnCx::is_register`). Statements whose lane widths
//! disagree (conversions between widths) keep lane 0 only. The pass
//! changes nothing in a function without vector registers or lane symbols.

use std::collections::HashMap;

use crate::ir::{AssignOp, BinOp, ElemType, Expr, Function, Loop, LoopKind, Poly, Stmt, StmtKind};

/// The prefix of lane symbols; the lane count follows (`__simd8`).
const LANE: &str = "__simd";

/// At most this many statements of one block are compared when rolling.
const MAX_RUN: usize = 64;

/// The lane count and lane type of an x86 vector type name.
pub(crate) fn register_type(t: &str) -> Option<(usize, ElemType)> {
    Some(match t {
        "__m128" => (4, ElemType::F32),
        "__m128d" => (2, ElemType::F64),
        "__m256" => (8, ElemType::F32),
        "__m256d" => (4, ElemType::F64),
        "__m512" => (16, ElemType::F32),
        "__m512d" => (8, ElemType::F64),
        _ => return None,
    })
}

/// Whether the parameter `p` of `f` is an x86 vector register passed by
/// value (`__m256 a0`): writing it writes a local copy.
pub(super) fn is_register_param(f: &Function, p: &str) -> bool {
    f.vars.get(p).is_some_and(|v| {
        v.rank == 0 && matches!(&v.elem, Some(ElemType::Named(t)) if register_type(t).is_some())
    })
}

/// The lane count of a packed intrinsic (`_mm256_fmadd_ps` → 8,
/// `_mm_load_pd` → 2); `None` for scalar (`_ss`, `_sd`) and integer forms.
pub(super) fn intrinsic_width(name: &str) -> Option<usize> {
    let (bits, rest) = if let Some(r) = name.strip_prefix("_mm512_") {
        (512, r)
    } else if let Some(r) = name.strip_prefix("_mm256_") {
        (256, r)
    } else {
        (128, name.strip_prefix("_mm_")?)
    };
    if rest.ends_with("_ps") {
        Some(bits / 32)
    } else if rest.ends_with("_pd") {
        Some(bits / 64)
    } else {
        None
    }
}

fn lane_symbol(w: usize) -> Expr {
    Expr::Var(format!("{LANE}{w}"))
}

fn symbol_width(name: &str) -> Option<usize> {
    name.strip_prefix(LANE)?.parse().ok()
}

/// The element at lane λ of the vector at pointer `p` (`&A[e]` → `A[e + λ]`,
/// `p` → `p[λ]`), for a `w`-lane load or store.
pub(super) fn lane_at(p: Expr, w: usize) -> Expr {
    let lane = lane_symbol(w);
    match p {
        Expr::Unary(crate::ir::UnOp::AddrOf, x) => match *x {
            Expr::Index { base, mut idx } if !idx.is_empty() => {
                let last = idx.len() - 1;
                let e = std::mem::replace(&mut idx[last], Expr::Int(0));
                idx[last] = Expr::bin(BinOp::Add, e, lane);
                Expr::Index { base, idx }
            }
            other => Expr::Index {
                base: Box::new(other),
                idx: vec![lane],
            },
        },
        other => Expr::Index {
            base: Box::new(other),
            idx: vec![lane],
        },
    }
}

/// Runs the pass on one function.
pub(super) fn expand(f: &mut Function) {
    let mut regs: HashMap<String, (usize, usize)> = HashMap::new();
    for (n, v) in &f.vars {
        if let Some(ElemType::Named(t)) = &v.elem {
            if let Some((w, _)) = register_type(t) {
                regs.insert(n.clone(), (v.rank, w));
            }
        }
    }
    let mut symbols = false;
    for s in &f.body {
        s.walk(&mut |s| {
            for e in s.exprs() {
                e.walk(&mut |x| {
                    if matches!(x, Expr::Var(v) if v.starts_with(LANE)) {
                        symbols = true;
                    }
                });
            }
        });
    }
    if regs.is_empty() && !symbols {
        if has_register_array(f) {
            roll_unrolled(f);
        }
        return;
    }
    let mut cx = Cx {
        regs,
        next: first_free_unroll(&f.body),
    };
    let mut body = std::mem::take(&mut f.body);
    for s in &mut body {
        s.walk_mut(&mut |s| {
            s.exprs_mut(&mut |e| {
                let taken = std::mem::replace(e, Expr::Int(0));
                *e = taken.map(&mut |x| subscripted(x, &f.vars));
            })
        });
    }
    let body = cx.roll_block(body);
    f.body = cx.lanes_block(body);
    for (n, (rank, w)) in &cx.regs {
        let v = f.vars.entry(n.clone()).or_default();
        let lane_elem = match &v.elem {
            Some(ElemType::Named(t)) => register_type(t).map(|(_, e)| e),
            _ => None,
        };
        if v.shape.len() == *rank {
            v.shape.push(Expr::Int(*w as i64));
        }
        v.rank = rank + 1;
        v.is_array = true;
        v.vector_lanes = Some(*w);
        if let Some(e) = lane_elem {
            v.elem = Some(e);
        }
    }
}

/// Step 1 alone, for a function with no x86 registers: the unrolled runs
/// of statements over a CUDA register array of vectors (`acc[0][l] += ...`,
/// `acc[1][l] += ...` once [`super::lanes`] has made the lanes a subscript)
/// rolled back into loops.
pub(super) fn roll_unrolled(f: &mut Function) {
    let mut cx = Cx {
        regs: HashMap::new(),
        next: first_free_unroll(&f.body),
    };
    let body = std::mem::take(&mut f.body);
    f.body = cx.roll_block(body);
}

/// Whether `f` keeps a small local array of constant extents (not shared
/// memory) that some statement subscripts by a constant: the register
/// block of a kernel unrolled by hand (`float acc[4]; acc[0] += ...;
/// acc[1] += ...`), which step 1 rolls back into a loop.
fn has_register_array(f: &Function) -> bool {
    let regs: Vec<&String> = f
        .vars
        .iter()
        .filter(|(_, v)| {
            v.rank >= 1
                && !v.shared
                && v.shape.len() == v.rank
                && v.shape
                    .iter()
                    .all(|e| matches!(e, Expr::Int(n) if (1..=64).contains(n)))
        })
        .map(|(n, _)| n)
        .collect();
    if regs.is_empty() {
        return false;
    }
    let mut found = false;
    for s in &f.body {
        s.walk(&mut |s| {
            if let StmtKind::Assign {
                target: Expr::Index { base, idx },
                ..
            } = &s.kind
            {
                found |= matches!(base.as_ref(), Expr::Var(b) if regs.contains(&b))
                    && idx.iter().all(|i| matches!(i, Expr::Int(_)));
            }
        });
    }
    found
}

/// The first `__unrollN` number no loop of `body` uses.
fn first_free_unroll(body: &[Stmt]) -> usize {
    let mut next = 0;
    for s in body {
        s.walk(&mut |s| {
            if let StmtKind::Loop(l) = &s.kind {
                if let Some(n) = l
                    .var
                    .strip_prefix(crate::ir::UNROLL_LOOP_PREFIX)
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    next = next.max(n + 1);
                }
            }
        });
    }
    next
}

struct Cx {
    /// Vector registers: name → (declared rank, lanes).
    regs: HashMap<String, (usize, usize)>,
    next: usize,
}

/// The root name and subscript count of an access chain `x[a][b]`.
fn chain(e: &Expr) -> Option<(&str, usize)> {
    match e {
        Expr::Var(v) => Some((v, 0)),
        Expr::Index { base, idx } => chain(base).map(|(v, n)| (v, n + idx.len())),
        _ => None,
    }
}

impl Cx {
    // ---- 1. rolling unrolled runs ---------------------------------------

    fn roll_block(&mut self, stmts: Vec<Stmt>) -> Vec<Stmt> {
        let mut stmts: Vec<Stmt> = stmts
            .into_iter()
            .map(|mut s| {
                match &mut s.kind {
                    StmtKind::Loop(l) => l.body = self.roll_block(std::mem::take(&mut l.body)),
                    StmtKind::If { then, els, .. } => {
                        *then = self.roll_block(std::mem::take(then));
                        *els = self.roll_block(std::mem::take(els));
                    }
                    StmtKind::Opaque(b) => *b = self.roll_block(std::mem::take(b)),
                    _ => {}
                }
                s
            })
            .collect();
        // Pairs first, then runs of the loops they make, and so on.
        for _ in 0..3 {
            let (next, changed) = self.roll_once(stmts);
            stmts = next;
            if !changed {
                break;
            }
        }
        stmts
    }

    fn roll_once(&mut self, stmts: Vec<Stmt>) -> (Vec<Stmt>, bool) {
        let mut out = Vec::with_capacity(stmts.len());
        let mut changed = false;
        let mut i = 0;
        while i < stmts.len() {
            let max = (stmts.len() - i).min(MAX_RUN);
            let mut done = false;
            for len in (2..=max).rev() {
                if let Some(l) = self.roll(&stmts[i..i + len]) {
                    out.push(l);
                    i += len;
                    done = true;
                    changed = true;
                    break;
                }
            }
            if !done {
                out.push(stmts[i].clone());
                i += 1;
            }
        }
        (out, changed)
    }

    /// `run[k]` = `run[0]` with every array index advanced by `k·D`: one
    /// loop over a fresh variable.
    fn roll(&mut self, run: &[Stmt]) -> Option<Stmt> {
        let step = super::lanes::run_step(run, zip_stmt)?;
        if step.iter().all(Poly::is_zero) || !worth_rolling(&run[0]) {
            return None;
        }
        let var = format!("{}{}", crate::ir::UNROLL_LOOP_PREFIX, self.next);
        self.next += 1;
        let lane = Poly::symbol(&var);
        let mut body = run[0].clone();
        let mut k = 0;
        shift_stmt(&mut body, &step, &lane, &mut k);
        let span = run[0].span.cover(run[run.len() - 1].span);
        Some(Stmt {
            kind: StmtKind::Loop(Loop {
                var,
                start: Expr::Int(0),
                end: Expr::Int(run.len() as i64),
                step: Expr::Int(1),
                kind: LoopKind::Serial,
                header: span,
                body: vec![body],
            }),
            span,
        })
    }

    // ---- 2. lanes made explicit -------------------------------------------

    fn lanes_block(&mut self, stmts: Vec<Stmt>) -> Vec<Stmt> {
        let mut out = Vec::with_capacity(stmts.len());
        for mut s in stmts {
            match &mut s.kind {
                StmtKind::Loop(l) => {
                    l.body = self.lanes_block(std::mem::take(&mut l.body));
                    out.push(s);
                }
                StmtKind::If { then, els, .. } => {
                    *then = self.lanes_block(std::mem::take(then));
                    *els = self.lanes_block(std::mem::take(els));
                    self.lane_zero(&mut s);
                    out.push(s);
                }
                StmtKind::Opaque(b) => {
                    *b = self.lanes_block(std::mem::take(b));
                    out.push(s);
                }
                StmtKind::Decl {
                    name,
                    init: Some(_),
                    ..
                } if self.regs.get(name.as_str()).is_some_and(|(r, _)| *r == 0) => {
                    // `__m256 acc = e;`: declared, then assigned lane by lane.
                    let name = name.clone();
                    let StmtKind::Decl { init, .. } = &mut s.kind else {
                        continue;
                    };
                    let value = init.take().unwrap_or(Expr::Int(0));
                    let span = s.span;
                    out.push(s);
                    let a = Stmt {
                        kind: StmtKind::Assign {
                            target: Expr::Var(name),
                            op: AssignOp::Set,
                            value,
                        },
                        span,
                    };
                    out.push(self.lane_stmt(a));
                }
                StmtKind::Assign { .. } => out.push(self.lane_stmt(s)),
                _ => {
                    self.lane_zero(&mut s);
                    out.push(s);
                }
            }
        }
        out
    }

    /// The lane count of a whole register named by `e`, if it is one.
    fn whole(&self, e: &Expr) -> Option<usize> {
        let (root, n) = chain(e)?;
        let (rank, w) = self.regs.get(root)?;
        (n == *rank).then_some(*w)
    }

    /// One assignment wrapped in a lane loop, or read at lane 0.
    fn lane_stmt(&mut self, mut s: Stmt) -> Stmt {
        let StmtKind::Assign { target, value, .. } = &s.kind else {
            return s;
        };
        let mut widths = Vec::new();
        let note = |x: &Expr, widths: &mut Vec<usize>| match x {
            Expr::Var(v) if symbol_width(v).is_some() => widths.extend(symbol_width(v)),
            _ => {}
        };
        target.walk(&mut |x| note(x, &mut widths));
        value.walk(&mut |x| note(x, &mut widths));
        let lane_target = self.whole(target);
        let mut reads = Vec::new();
        self.registers_read(value, &mut reads);
        let wrap = lane_target.is_some() || !widths.is_empty();
        let mut all: Vec<usize> = widths;
        all.extend(lane_target);
        all.extend(reads.iter().copied());
        all.sort_unstable();
        all.dedup();
        // A scalar target reading a lane symbol outside a call is a
        // horizontal step this reading does not follow: lane 0.
        if !wrap || all.len() != 1 || (lane_target.is_none() && !target_has_lane(target)) {
            self.lane_zero(&mut s);
            return s;
        }
        let w = all[0];
        let var = format!("{}{}", crate::ir::LANE_LOOP_PREFIX, self.next);
        self.next += 1;
        let lane = Expr::Var(var.clone());
        s.exprs_mut(&mut |e| {
            let taken = std::mem::replace(e, Expr::Int(0));
            *e = self.at_lane(taken, &lane);
        });
        let span = s.span;
        Stmt {
            kind: StmtKind::Loop(Loop {
                var,
                start: Expr::Int(0),
                end: Expr::Int(w as i64),
                step: Expr::Int(1),
                kind: LoopKind::Serial,
                header: span,
                body: vec![s],
            }),
            span,
        }
    }

    fn registers_read(&self, e: &Expr, out: &mut Vec<usize>) {
        if let Some(w) = self.whole(e) {
            out.push(w);
            return;
        }
        match e {
            Expr::Index { base, idx } => {
                self.registers_read(base, out);
                idx.iter().for_each(|i| self.registers_read(i, out));
            }
            Expr::Unary(_, a) | Expr::Transpose(a) => self.registers_read(a, out),
            Expr::Binary(_, a, b) | Expr::MatMul(a, b) => {
                self.registers_read(a, out);
                self.registers_read(b, out);
            }
            // A call's arguments are not lanes of its value.
            _ => {}
        }
    }

    /// `e` at lane `lane`: lane symbols replaced, whole registers indexed.
    fn at_lane(&self, e: Expr, lane: &Expr) -> Expr {
        if self.whole(&e).is_some() {
            return Expr::Index {
                base: Box::new(e),
                idx: vec![lane.clone()],
            };
        }
        match e {
            Expr::Var(v) if symbol_width(&v).is_some() => lane.clone(),
            other => other.map_children(&mut |c| self.at_lane(c, lane)),
        }
    }

    /// Every lane symbol and whole-register read of `s` at lane 0.
    fn lane_zero(&self, s: &mut Stmt) {
        s.exprs_mut(&mut |e| {
            let taken = std::mem::replace(e, Expr::Int(0));
            *e = self.at_lane(taken, &Expr::Int(0));
        });
    }
}

/// `*(p + e)` and `(p + e)[i]`, with `p` a pointer, as `p[e]` and
/// `p[e + i]`: one form for the accesses that rolling compares.
fn subscripted(x: Expr, vars: &HashMap<String, crate::ir::VarInfo>) -> Expr {
    let split = |sum: &Expr| -> Option<(String, Expr)> {
        let mut terms = Vec::new();
        crate::contraction::split_sum(sum, false, &mut terms);
        let at = terms.iter().position(|(neg, t)| {
            !neg && matches!(t, Expr::Var(v) if vars.get(v).is_some_and(|i| i.is_array))
        })?;
        let (_, Expr::Var(p)) = terms.remove(at) else {
            return None;
        };
        if terms.is_empty() {
            return None;
        }
        let rest = terms
            .into_iter()
            .map(|(neg, t)| {
                if neg {
                    Expr::bin(BinOp::Mul, Expr::Int(-1), t)
                } else {
                    t
                }
            })
            .reduce(|a, b| Expr::bin(BinOp::Add, a, b))?;
        Some((p, rest))
    };
    match x {
        Expr::Unary(crate::ir::UnOp::Deref, ref inner)
            if matches!(**inner, Expr::Binary(BinOp::Add, ..)) =>
        {
            match split(inner) {
                Some((p, rest)) => Expr::Index {
                    base: Box::new(Expr::Var(p)),
                    idx: vec![rest],
                },
                None => x,
            }
        }
        Expr::Index { ref base, ref idx }
            if idx.len() == 1 && matches!(**base, Expr::Binary(BinOp::Add, ..)) =>
        {
            match split(base) {
                Some((p, rest)) => Expr::Index {
                    base: Box::new(Expr::Var(p)),
                    idx: vec![Expr::bin(BinOp::Add, rest, idx[0].clone())],
                },
                None => x,
            }
        }
        other => other,
    }
}

/// Whether an assignment's target is memory at a lane (`C[e + λ]`).
fn target_has_lane(t: &Expr) -> bool {
    let mut found = false;
    t.walk(&mut |x| {
        if matches!(x, Expr::Var(v) if symbol_width(v).is_some()) {
            found = true;
        }
    });
    found
}

/// A statement worth a loop: an assignment to memory or a loop (not a run
/// of scalar copies).
fn worth_rolling(s: &Stmt) -> bool {
    match &s.kind {
        StmtKind::Assign { target, .. } => matches!(target, Expr::Index { .. }),
        StmtKind::Loop(_) => true,
        _ => false,
    }
}

fn zip_stmt(a: &Stmt, b: &Stmt, d: &mut Vec<Poly>) -> bool {
    match (&a.kind, &b.kind) {
        (
            StmtKind::Assign {
                target: t1,
                op: o1,
                value: v1,
            },
            StmtKind::Assign {
                target: t2,
                op: o2,
                value: v2,
            },
        ) => o1 == o2 && super::lanes::zip(t1, t2, d) && super::lanes::zip(v1, v2, d),
        (StmtKind::Loop(l1), StmtKind::Loop(l2)) => {
            if l1.start != l2.start
                || l1.end != l2.end
                || l1.step != l2.step
                || l1.kind != l2.kind
                || l1.body.len() != l2.body.len()
            {
                return false;
            }
            // The second loop's variable read as the first's.
            let v = Expr::Var(l1.var.clone());
            l1.body.iter().zip(&l2.body).all(|(x, y)| {
                let mut y = y.clone();
                y.exprs_mut(&mut |e| {
                    let taken = std::mem::replace(e, Expr::Int(0));
                    *e = taken.substitute(&l2.var, &v);
                });
                rename_loops(&mut y, &l2.var, &l1.var);
                zip_stmt(x, &y, d)
            })
        }
        _ => false,
    }
}

fn rename_loops(s: &mut Stmt, from: &str, to: &str) {
    s.walk_mut(&mut |st| {
        if let StmtKind::Loop(l) = &mut st.kind {
            if l.var == from {
                l.var = to.to_string();
            }
        }
    });
}

/// `s` with its `k`-th array index (in [`zip_stmt`]'s order) advanced by
/// `lane·step[k]`.
fn shift_stmt(s: &mut Stmt, step: &[Poly], lane: &Poly, k: &mut usize) {
    match &mut s.kind {
        StmtKind::Assign { target, value, .. } => {
            for e in [target, value] {
                let taken = std::mem::replace(e, Expr::Int(0));
                *e = super::lanes::shift(taken, step, lane, k);
            }
        }
        StmtKind::Loop(l) => {
            for b in &mut l.body {
                shift_stmt(b, step, lane, k);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::{Lang, StmtKind};
    use crate::NoIncludes;

    /// Loop variables and extents of `f`'s loops, outer to inner.
    fn loops(src: &str) -> Vec<(String, String)> {
        let mut f = crate::frontend::lower(Lang::C, "t.c", src, &NoIncludes);
        crate::normalize::normalize(&mut f);
        let mut out = Vec::new();
        f.functions[0].walk(&mut |s| {
            if let StmtKind::Loop(l) = &s.kind {
                let kind = if l.var.starts_with(crate::ir::LANE_LOOP_PREFIX) {
                    "lane"
                } else if l.var.starts_with(crate::ir::UNROLL_LOOP_PREFIX) {
                    "unroll"
                } else {
                    "loop"
                };
                out.push((kind.to_string(), l.end.to_string()));
            }
        });
        out
    }

    #[test]
    fn an_unrolled_register_block_is_rolled_and_its_lanes_are_a_loop() {
        let src = "#include <immintrin.h>
        void k(const float *a, const float *b, float *c, int n) {
            __m256 acc[2];
            __m256 x;
            for (int p = 0; p < n; p++) {
                x = _mm256_loadu_ps(&b[p * 16]);
                acc[0] = _mm256_fmadd_ps(_mm256_set1_ps(a[p]), x, acc[0]);
                x = _mm256_loadu_ps(&b[p * 16 + 8]);
                acc[1] = _mm256_fmadd_ps(_mm256_set1_ps(a[p]), x, acc[1]);
            }
            _mm256_storeu_ps(&c[0], acc[0]);
            _mm256_storeu_ps(&c[8], acc[1]);
        }";
        let l = loops(src);
        let got: Vec<&str> = l
            .iter()
            .map(|(k, e)| format!("{k}:{e}"))
            .map(|s| s.leak() as &str)
            .collect();
        assert!(got.starts_with(&["loop:n"]), "{got:?}");
        // The two fused multiply-adds are one loop over the unrolled copies
        // with eight lanes inside; the two stores likewise.
        assert_eq!(
            got.iter().filter(|s| **s == "unroll:2").count(),
            2,
            "{got:?}"
        );
        assert!(
            got.iter().filter(|s| **s == "lane:8").count() >= 2,
            "{got:?}"
        );
    }

    #[test]
    fn widths_follow_the_intrinsic_names() {
        assert_eq!(super::intrinsic_width("_mm256_fmadd_ps"), Some(8));
        assert_eq!(super::intrinsic_width("_mm256_loadu_pd"), Some(4));
        assert_eq!(super::intrinsic_width("_mm_load_ps"), Some(4));
        assert_eq!(super::intrinsic_width("_mm512_storeu_pd"), Some(8));
        assert_eq!(super::intrinsic_width("_mm_load_ss"), None);
        assert_eq!(super::intrinsic_width("_mm256_setr_epi32"), None);
        assert_eq!(super::intrinsic_width("fmadd_ps"), None);
    }
}
