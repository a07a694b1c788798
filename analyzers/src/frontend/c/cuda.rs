//! CUDA kernels: thread-index bindings become `CudaThread` loops (IR
//! convention 7).
//!
//! `int row = blockIdx.y * blockDim.y + threadIdx.y;` (any operand order, any
//! block extent) wraps the rest of the kernel body in
//! `Loop { kind: CudaThread { axis: 'y', split: false }, var: "row", start: 0,
//! end }`. The end comes from a bounds guard: a trailing
//! `if (row < M && col < N) { ... }` is absorbed, an early
//! `if (row >= M || col >= N) return;` is removed; with no guard the end is
//! the launch's extent `gridDim.y * S` for `blockIdx.y * S + t` (size
//! inference reads it from the launches), else `Expr::Other("gridDim")`. A 1-D index split (`row = idx / N; col = idx % N`)
//! gives two loops with `split: true`, and `idx` is re-declared as
//! `row * N + col` inside them. So does a name for one half of a split
//! block split again (`warp = threadIdx.x / 32; wr = warp / (BN / WN);
//! wc = warp % (BN / WN)`), where that name is a thread loop of its own.

use std::collections::{HashMap, VecDeque};

use crate::ir::{AssignOp, BinOp, Expr, Loop, LoopKind, Poly, Span, Stmt, StmtKind};

enum Seg {
    Stmt(Stmt),
    Bind {
        var: String,
        axis: char,
        split: bool,
        span: Span,
    },
    /// `var = idx / div` (row) or `var = idx % div` (col), kept as `orig`
    /// unless both halves are found.
    Split {
        var: String,
        idx: String,
        div: Expr,
        row: bool,
        orig: Stmt,
    },
}

/// `(name, value)` if `s` defines a scalar once: `int x = e;` or `x = e;`.
fn definition(s: &Stmt) -> Option<(&str, &Expr)> {
    match &s.kind {
        StmtKind::Decl {
            name,
            dims,
            init: Some(e),
            ..
        } if dims.is_empty() => Some((name, e)),
        StmtKind::Assign {
            target: Expr::Var(name),
            op: AssignOp::Set,
            value,
        } => Some((name, value)),
        _ => None,
    }
}

fn is_builtin(v: &str) -> bool {
    v.starts_with("threadIdx.")
        || v.starts_with("blockIdx.")
        || v.starts_with("blockDim.")
        || v.starts_with("gridDim.")
}

/// A thread-index atom: `threadIdx.a`, or one half of a split by a
/// constant, named `threadIdx.a/D` and `threadIdx.a%D` (see [`split_atoms`]).
fn is_thread_atom(v: &str) -> bool {
    v.starts_with("threadIdx.")
}

/// The axis of a global thread index `blockIdx.a * S + t`, `t` one thread
/// atom (`threadIdx.a`, or `threadIdx.x / D` / `% D` for a thread block
/// that is split in two).
fn thread_axis(e: &Expr) -> Option<char> {
    let p = Poly::from_expr(e)?;
    for axis in ['x', 'y', 'z'] {
        let b = format!("blockIdx.{axis}");
        let c = p.coeff(&b)?;
        if c.is_zero()
            || c.symbols()
                .iter()
                .any(|s| s.starts_with("threadIdx.") || s.starts_with("blockIdx."))
        {
            continue;
        }
        let rest = p.sub(&c.mul(&Poly::symbol(&b)));
        let atoms: Vec<String> = rest.symbols().into_iter().collect();
        if let [t] = atoms.as_slice() {
            if is_thread_atom(t) && rest == Poly::symbol(t) {
                return Some(axis);
            }
        }
    }
    None
}

/// The axis of a single builtin or thread atom (`blockIdx.y` → `y`,
/// `threadIdx.x/16` → `x`) and whether it is a block index.
fn atom_axis(v: &str) -> Option<(char, bool)> {
    let (block, rest) = if let Some(r) = v.strip_prefix("blockIdx.") {
        (true, r)
    } else {
        (false, v.strip_prefix("threadIdx.")?)
    };
    let axis = rest.chars().next()?;
    if !matches!(axis, 'x' | 'y' | 'z') || (block && rest.len() != 1) {
        return None;
    }
    Some((axis, block))
}

/// The extent of one atom's range, for a loop over it: `gridDim.a`,
/// `blockDim.a`, `D` for `threadIdx.a%D`, `blockDim.a/D` for `threadIdx.a/D`.
fn atom_end(v: &str, div: Option<&Expr>) -> Expr {
    let axis = atom_axis(v).map_or('x', |a| a.0);
    if v.starts_with("blockIdx.") {
        return Expr::Var(format!("gridDim.{axis}"));
    }
    let dim = Expr::Var(format!("blockDim.{axis}"));
    match (v.contains('%'), v.contains('/'), div) {
        (true, _, Some(d)) => d.clone(),
        (_, true, Some(d)) => Expr::bin(BinOp::Div, dim, d.clone()),
        _ => dim,
    }
}

/// Rewrites `threadIdx.a / D` and `threadIdx.a % D` (`D` free of thread
/// indices) into the atoms `threadIdx.a/D` and `threadIdx.a%D`, so that the
/// two halves of a split thread block read as two thread indices. Returns
/// each atom's divisor.
fn split_atoms(body: &mut [Stmt], divs: &mut HashMap<String, Expr>) {
    fn rewrite(e: Expr, divs: &mut HashMap<String, Expr>) -> Expr {
        e.map(&mut |x| match x {
            Expr::Binary(op @ (BinOp::Div | BinOp::Rem), a, d)
                if matches!(a.as_ref(), Expr::Var(v) if v.starts_with("threadIdx.") && !v.contains(['/', '%']))
                    && !d.vars().iter().any(|v| is_builtin(v))
                    && d.eval(&|_| Some(1)).is_some() =>
            {
                let Expr::Var(v) = *a else { unreachable!() };
                let d_text = match *d {
                    Expr::Int(_) | Expr::Var(_) => d.to_string(),
                    _ => format!("({d})"),
                };
                let name = format!("{v}{}{d_text}", if op == BinOp::Div { '/' } else { '%' });
                divs.insert(name.clone(), *d);
                Expr::Var(name)
            }
            other => other,
        })
    }
    for s in body {
        let mut f = |e: &mut Expr| {
            let taken = std::mem::replace(e, Expr::Int(0));
            *e = rewrite(taken, divs);
        };
        match &mut s.kind {
            StmtKind::Loop(l) => {
                f(&mut l.start);
                f(&mut l.end);
                f(&mut l.step);
                split_atoms(&mut l.body, divs);
            }
            StmtKind::Assign { target, value, .. } => {
                f(target);
                f(value);
            }
            StmtKind::Decl { dims, init, .. } => {
                dims.iter_mut().for_each(&mut f);
                if let Some(v) = init {
                    f(v);
                }
            }
            StmtKind::If { cond, then, els } => {
                f(cond);
                split_atoms(then, divs);
                split_atoms(els, divs);
            }
            StmtKind::Opaque(b) => split_atoms(b, divs),
            StmtKind::Expr(e) => f(e),
            StmtKind::Return(e) => {
                if let Some(e) = e {
                    f(e);
                }
            }
            StmtKind::Barrier => {}
        }
    }
}

/// Prepares the splits of a 1-D thread block written through a name and
/// with bit operations (`int tx = threadIdx.x; row = tx & 31; col = tx >>
/// 5;`) for [`split_atoms`]: where a name defined once as `threadIdx.a` is
/// divided, taken modulo, masked or shifted right, the builtin is read in
/// its place, and `t & (2^n - 1)` / `t >> n` on a thread index become
/// `t % 2^n` / `t / 2^n` (equal for the non-negative thread index).
fn split_through_aliases(body: &mut Vec<Stmt>) {
    let is_thread = |e: &Expr| matches!(e, Expr::Var(v) if v.starts_with("threadIdx.") && !v.contains(['/', '%']));
    let all: &[Stmt] = body.as_slice();
    let mut aliases: HashMap<String, Expr> = HashMap::new();
    for s in all.iter() {
        s.walk(&mut |s| {
            if let Some((name, v)) = definition(s) {
                if is_thread(v) && Stmt::defs_of(all, name) == 1 {
                    aliases.insert(name.to_string(), v.clone());
                }
            }
        });
    }
    let rewrite = |e: Expr| -> Expr {
        e.map(&mut |x| match x {
            Expr::Binary(op @ (BinOp::Div | BinOp::Rem | BinOp::BitAnd | BinOp::Shr), a, d) => {
                let a = match *a {
                    Expr::Var(v) if aliases.contains_key(&v) => aliases[&v].clone(),
                    other => other,
                };
                if !is_thread(&a) {
                    return Expr::Binary(op, Box::new(a), d);
                }
                match (op, d.as_ref()) {
                    // `t & 31` → `t % 32`, for a mask of low bits only.
                    (BinOp::BitAnd, Expr::Int(m)) if *m > 0 && (*m & (*m + 1)) == 0 => {
                        Expr::bin(BinOp::Rem, a, Expr::Int(*m + 1))
                    }
                    (BinOp::Shr, Expr::Int(n)) if (0..31).contains(n) => {
                        Expr::bin(BinOp::Div, a, Expr::Int(1 << *n))
                    }
                    _ => Expr::Binary(op, Box::new(a), d),
                }
            }
            other => other,
        })
    };
    for s in body.iter_mut() {
        s.walk_mut(&mut |s| {
            s.exprs_mut(&mut |e| {
                let taken = std::mem::replace(e, Expr::Int(0));
                *e = rewrite(taken);
            });
        });
    }
    // Where a thread index is split by a divisor `D` (both `t / D` and
    // `t % D` occur), its other uses (`((float4 *)tile)[tx] = v`) are
    // `D * (t / D) + t % D`: the same value, read through the two halves.
    let mut splits: HashMap<String, Vec<(bool, i64)>> = HashMap::new();
    for s in body.iter() {
        s.walk(&mut |s| {
            for e in s.exprs() {
                e.walk(&mut |x| {
                    if let Expr::Binary(op @ (BinOp::Div | BinOp::Rem), a, d) = x {
                        if let (Expr::Var(t), Expr::Int(d)) = (a.as_ref(), d.as_ref()) {
                            if is_thread(a) {
                                let e = splits.entry(t.clone()).or_default();
                                let key = (*op == BinOp::Div, *d);
                                if !e.contains(&key) {
                                    e.push(key);
                                }
                            }
                        }
                    }
                });
            }
        });
    }
    // Split by several divisors (`tx & 15` for one tile, `tx & 3` for
    // another): any gives the same value; the first the code uses is
    // taken, the split of the first tile it fills.
    let whole: HashMap<String, i64> = splits
        .into_iter()
        .filter_map(|(t, keys)| {
            keys.iter()
                .find(|(div, d)| *d > 1 && keys.contains(&(!div, *d)))
                .map(|(_, d)| (t, *d))
        })
        .collect();
    if whole.is_empty() {
        return;
    }
    // The names the code gives the halves (`col = tx >> 3`), read in their
    // place so that the thread loops bound to them are the ones used.
    let mut names: HashMap<(String, bool), String> = HashMap::new();
    for s in body.iter() {
        if let Some((n, Expr::Binary(op @ (BinOp::Div | BinOp::Rem), a, d))) = definition(s) {
            if let (Expr::Var(t), Expr::Int(d)) = (a.as_ref(), d.as_ref()) {
                if whole.get(t) == Some(d) && Stmt::defs_of(body, n) == 1 {
                    names
                        .entry((t.clone(), *op == BinOp::Div))
                        .or_insert_with(|| n.to_string());
                }
            }
        }
    }
    let halves = |t: &str, d: i64| {
        let half = |div: bool| match names.get(&(t.to_string(), div)) {
            Some(n) => Expr::var(n),
            None => Expr::bin(
                if div { BinOp::Div } else { BinOp::Rem },
                Expr::var(t),
                Expr::Int(d),
            ),
        };
        Expr::bin(
            BinOp::Add,
            Expr::bin(BinOp::Mul, Expr::Int(d), half(true)),
            half(false),
        )
    };
    // Leaves first: a split `t / D` is kept, a bare `t` (or its alias)
    // becomes the sum of its halves.
    fn through(
        e: Expr,
        whole: &HashMap<String, i64>,
        aliases: &HashMap<String, Expr>,
        halves: &dyn Fn(&str, i64) -> Expr,
    ) -> Expr {
        match e {
            Expr::Binary(op @ (BinOp::Div | BinOp::Rem), a, d)
                if matches!(a.as_ref(), Expr::Var(_)) =>
            {
                Expr::Binary(op, a, Box::new(through(*d, whole, aliases, halves)))
            }
            Expr::Var(v) => {
                let t = match aliases.get(&v) {
                    Some(Expr::Var(t)) => t.clone(),
                    _ => v.clone(),
                };
                match whole.get(&t) {
                    Some(d) => halves(&t, *d),
                    None => Expr::Var(v),
                }
            }
            other => other.map_children(&mut |c| through(c, whole, aliases, halves)),
        }
    }
    for s in body.iter_mut() {
        s.walk_mut(&mut |s| {
            // The alias's own definition stays.
            if definition(s).is_some_and(|(n, v)| aliases.contains_key(n) || is_thread(v)) {
                return;
            }
            s.exprs_mut(&mut |e| {
                let taken = std::mem::replace(e, Expr::Int(0));
                *e = through(taken, &whole, &aliases, &halves);
            });
        });
    }
    // An alias of a split index no longer read is dropped, so that it is
    // not bound as a thread loop of its own beside its halves.
    let unused: Vec<String> = aliases
        .iter()
        .filter(|(_, t)| matches!(t, Expr::Var(t) if whole.contains_key(t)))
        .map(|(n, _)| n.clone())
        .filter(|n| {
            let mut read = false;
            for s in body.iter() {
                s.walk(&mut |s| {
                    if definition(s).is_some_and(|(d, _)| d == n) {
                        return;
                    }
                    read |= s.exprs().iter().any(|e| e.mentions(n));
                });
            }
            !read
        })
        .collect();
    body.retain(|s| !definition(s).is_some_and(|(n, _)| unused.iter().any(|u| u == n)));
}

fn conjuncts(e: &Expr, op: BinOp, out: &mut Vec<Expr>) {
    match e {
        Expr::Binary(o, a, b) if *o == op => {
            conjuncts(a, op, out);
            conjuncts(b, op, out);
        }
        other => out.push(other.clone()),
    }
}

fn plus_one(e: &Expr) -> Expr {
    match Poly::from_expr(e) {
        Some(p) => p.add(&Poly::constant(1)).to_expr(),
        None => Expr::bin(BinOp::Add, e.clone(), Expr::Int(1)),
    }
}

/// A bounds test on a bound variable: `Some((var, Some(end)))` for an upper
/// bound, `Some((var, None))` for a harmless lower bound (`v >= 0`).
/// `inside` says whether the test is the in-bounds form (`v < E`) or the
/// out-of-bounds form (`v >= E`).
fn bound_test(e: &Expr, vars: &[String], inside: bool) -> Option<(String, Option<Expr>)> {
    let Expr::Binary(op, a, b) = e else {
        return None;
    };
    let (var, op, other) = match (a.as_ref(), b.as_ref()) {
        (Expr::Var(v), o) if vars.contains(v) => (v.clone(), *op, o.clone()),
        (o, Expr::Var(v)) if vars.contains(v) => {
            let flipped = match op {
                BinOp::Lt => BinOp::Gt,
                BinOp::Gt => BinOp::Lt,
                BinOp::Le => BinOp::Ge,
                BinOp::Ge => BinOp::Le,
                o => *o,
            };
            (v.clone(), flipped, o.clone())
        }
        _ => return None,
    };
    if vars.iter().any(|v| other.mentions(v)) {
        return None;
    }
    let zero = matches!(other, Expr::Int(0));
    match (op, inside) {
        (BinOp::Lt, true) => Some((var, Some(other))),
        (BinOp::Le, true) => Some((var, Some(plus_one(&other)))),
        (BinOp::Ge, true) if zero => Some((var, None)),
        (BinOp::Ge, false) => Some((var, Some(other))),
        (BinOp::Gt, false) => Some((var, Some(plus_one(&other)))),
        (BinOp::Lt, false) if zero => Some((var, None)),
        _ => None,
    }
}

fn join(terms: Vec<Expr>, op: BinOp) -> Option<Expr> {
    terms.into_iter().reduce(|a, b| Expr::bin(op, a, b))
}

/// `E / D` simplified when `D` divides every term of `E`.
fn divide(e: &Expr, d: &Expr) -> Expr {
    if let (Some(pe), Some(pd)) = (Poly::from_expr(e), Poly::from_expr(d)) {
        if pd.terms.len() == 1 {
            let (m, c) = pd
                .terms
                .iter()
                .next()
                .map(|(m, c)| (m.clone(), *c))
                .unwrap_or_default();
            let mut out = Poly::default();
            let mut ok = c != 0;
            for (mono, coef) in &pe.terms {
                let mut rest = mono.clone();
                for s in &m {
                    match rest.iter().position(|x| x == s) {
                        Some(i) => {
                            rest.remove(i);
                        }
                        None => ok = false,
                    }
                }
                if !ok || coef % c != 0 {
                    ok = false;
                    break;
                }
                out.terms.insert(rest, coef / c);
            }
            if ok {
                return out.to_expr();
            }
        }
    }
    Expr::bin(BinOp::Div, e.clone(), d.clone())
}

pub(crate) fn bind_threads(body: Vec<Stmt>, body_span: Span) -> Vec<Stmt> {
    bind(body, body_span, true)
}

fn bind_plain(body: Vec<Stmt>, body_span: Span) -> Vec<Stmt> {
    bind(body, body_span, false)
}

fn bind(mut body: Vec<Stmt>, body_span: Span, atoms: bool) -> Vec<Stmt> {
    let mut divs: HashMap<String, Expr> = HashMap::new();
    let plain = body.clone();
    if atoms {
        split_through_aliases(&mut body);
        split_atoms(&mut body, &mut divs);
    }
    let all = body.clone();
    let once = |name: &str| Stmt::defs_of(&all, name) == 1;
    let mut aliases: HashMap<String, Expr> = HashMap::new();
    let mut bound: Vec<String> = Vec::new();
    let mut ends: HashMap<String, Expr> = HashMap::new();
    let mut unguarded: HashMap<String, Expr> = HashMap::new();
    let mut axes: HashMap<String, char> = HashMap::new();
    let mut segs: Vec<Seg> = Vec::new();
    // Aliases of split thread atoms that are split again: bound only where
    // the alias becomes a thread loop of its own.
    let mut resplit: Vec<String> = Vec::new();
    let mut queue: VecDeque<Stmt> = body.into();

    while let Some(s) = queue.pop_front() {
        // Aliases of the builtins (`tx = threadIdx.x`) stay as variables but
        // are seen through when looking for bindings.
        if let Some((name, value)) = definition(&s) {
            if let Expr::Var(v) = value {
                if is_builtin(v) && once(name) {
                    aliases.insert(name.to_string(), value.clone());
                    segs.push(Seg::Stmt(s));
                    continue;
                }
            }
            let seen = value.clone().map(&mut |e| match &e {
                Expr::Var(v) => aliases.get(v).cloned().unwrap_or(e),
                _ => e,
            });
            if once(name) {
                if let Some(axis) = thread_axis(&seen) {
                    bound.push(name.to_string());
                    axes.insert(name.to_string(), axis);
                    // Without a guard, the launch's extent: `gridDim.y * S`
                    // for `blockIdx.y * S + t`.
                    let grid = Expr::Var(format!("gridDim.{axis}"));
                    if let Some(c) =
                        Poly::from_expr(&seen).and_then(|p| p.coeff(&format!("blockIdx.{axis}")))
                    {
                        unguarded
                            .insert(name.to_string(), Expr::bin(BinOp::Mul, grid, c.to_expr()));
                    }
                    segs.push(Seg::Bind {
                        var: name.to_string(),
                        axis,
                        split: false,
                        span: s.span,
                    });
                    continue;
                }
                if let Expr::Binary(op @ (BinOp::Div | BinOp::Rem), a, d) = value {
                    if let Expr::Var(idx) = a.as_ref() {
                        // A name for one half of a split block (`warp =
                        // threadIdx.x / 32`) split again (`warp % (BN/WN)`).
                        let half = aliases
                            .get(idx)
                            .is_some_and(|v| matches!(v, Expr::Var(t) if is_thread_atom(t) && t.contains(['/', '%'])));
                        if half {
                            resplit.push(idx.clone());
                        }
                        if (bound.contains(idx) || half) && !d.mentions(idx) {
                            segs.push(Seg::Split {
                                var: name.to_string(),
                                idx: idx.clone(),
                                div: (**d).clone(),
                                row: *op == BinOp::Div,
                                orig: s.clone(),
                            });
                            bound.push(name.to_string());
                            continue;
                        }
                    }
                }
            }
        }
        if let StmtKind::If { cond, then, els } = &s.kind {
            if els.is_empty() && !bound.is_empty() {
                // `if (row >= M || col >= N) return;`
                if matches!(
                    then.as_slice(),
                    [Stmt {
                        kind: StmtKind::Return(None),
                        ..
                    }]
                ) {
                    let mut terms = Vec::new();
                    conjuncts(cond, BinOp::Or, &mut terms);
                    let tests: Option<Vec<_>> =
                        terms.iter().map(|t| bound_test(t, &bound, false)).collect();
                    if let Some(tests) = tests {
                        for (v, end) in tests {
                            if let Some(end) = end {
                                ends.entry(v).or_insert(end);
                            }
                        }
                        continue;
                    }
                }
                // A trailing `if (row < M && col < N) { ... }`.
                if queue.is_empty() {
                    let mut terms = Vec::new();
                    conjuncts(cond, BinOp::And, &mut terms);
                    let mut rest = Vec::new();
                    let mut found = false;
                    for t in terms {
                        match bound_test(&t, &bound, true) {
                            Some((v, end)) => {
                                found = true;
                                if let Some(end) = end {
                                    ends.entry(v).or_insert(end);
                                }
                            }
                            None => rest.push(t),
                        }
                    }
                    if found {
                        match join(rest, BinOp::And) {
                            None => queue.extend(then.iter().cloned()),
                            Some(c) => queue.push_back(Stmt {
                                kind: StmtKind::If {
                                    cond: c,
                                    then: then.clone(),
                                    els: Vec::new(),
                                },
                                span: s.span,
                            }),
                        }
                        continue;
                    }
                }
            }
        }
        segs.push(Seg::Stmt(s));
    }

    // Builtins bound to names of their own (`bx = blockIdx.x`,
    // `ty = threadIdx.y`, `threadRow = threadIdx.x / 16`) on an axis that has
    // no global index: the row and column are written inline in every index
    // (`A[(by*BS + ty)*K + k]`), so each of them is a thread loop.
    let bound_axes: Vec<char> = segs
        .iter()
        .filter_map(|s| match s {
            Seg::Bind { axis, .. } => Some(*axis),
            Seg::Split { idx, .. } => axes.get(idx).copied(),
            Seg::Stmt(_) => None,
        })
        .collect();
    // Only in a kernel that names both a block and a thread index so (a
    // lone `t = threadIdx.x` is one block's worth of work, not a grid).
    // Builtins read as written (`As[threadIdx.y][threadIdx.x]`) on such an
    // axis are loops over themselves, outermost.
    let mut raw: Vec<String> = Vec::new();
    for seg in &segs {
        let Seg::Stmt(st) = seg else { continue };
        if definition(st).is_some_and(|(n, _)| aliases.contains_key(n)) {
            continue;
        }
        st.walk(&mut |x| {
            for e in x.exprs() {
                for v in e.vars() {
                    if atom_axis(&v).is_some_and(|a| !bound_axes.contains(&a.0))
                        && !raw.contains(&v)
                    {
                        raw.push(v);
                    }
                }
            }
        });
    }
    raw.sort_by_key(|v| (!v.starts_with("blockIdx."), v.clone()));
    let named = |block: bool| {
        aliases
            .values()
            .any(|v| matches!(v, Expr::Var(v) if atom_axis(v).is_some_and(|a| a.1 == block)))
            || raw
                .iter()
                .any(|v| atom_axis(v).is_some_and(|a| a.1 == block))
    };
    let grid = named(true) && named(false);
    let mut fallback = false;
    if grid {
        for v in raw.iter().rev() {
            let axis = atom_axis(v).map_or('x', |a| a.0);
            ends.entry(v.clone())
                .or_insert_with(|| atom_end(v, divs.get(v)));
            segs.insert(
                0,
                Seg::Bind {
                    var: v.clone(),
                    axis,
                    split: v.contains(['/', '%']),
                    span: body_span,
                },
            );
            fallback = true;
        }
    }
    for seg in segs.iter_mut().filter(|_| grid) {
        let Seg::Stmt(st) = seg else { continue };
        let Some((name, Expr::Var(v))) = definition(st) else {
            continue;
        };
        if !aliases.contains_key(name) || v.starts_with("blockDim.") || v.starts_with("gridDim.") {
            continue;
        }
        let Some((axis, _)) = atom_axis(v) else {
            continue;
        };
        if bound_axes.contains(&axis) {
            continue;
        }
        let name = name.to_string();
        ends.entry(name.clone())
            .or_insert_with(|| atom_end(v, divs.get(v)));
        let split = v.contains(['/', '%']);
        *seg = Seg::Bind {
            var: name,
            axis,
            split,
            span: st.span,
        };
        fallback = true;
    }
    if !fallback && !divs.is_empty() && bound_axes.is_empty() {
        // The split atoms served no binding: keep the body as written.
        return bind_plain(plain, body_span);
    }

    // Resolve 1-D splits: both `/` and `%` of the same index and divisor.
    let mut pairs: Vec<(String, String, String, Expr)> = Vec::new(); // idx, row, col, div
    let is_bind = |v: &str| {
        segs.iter()
            .any(|s| matches!(s, Seg::Bind { var, .. } if var == v))
    };
    for s in &segs {
        if let Seg::Split { idx, .. } = s {
            if resplit.contains(idx) && !is_bind(idx) {
                continue;
            }
        }
        if let Seg::Split {
            var,
            idx,
            div,
            row: true,
            ..
        } = s
        {
            let col = segs.iter().find_map(|t| match t {
                Seg::Split {
                    var: c,
                    idx: i2,
                    div: d2,
                    row: false,
                    ..
                } if i2 == idx && d2 == div => Some(c.clone()),
                _ => None,
            });
            if let Some(col) = col {
                if !pairs.iter().any(|p| &p.0 == idx) {
                    pairs.push((idx.clone(), var.clone(), col, div.clone()));
                }
            }
        }
    }
    let mut resolved: Vec<Seg> = Vec::new();
    let mut halves: Vec<String> = Vec::new();
    for s in segs {
        match s {
            Seg::Bind { ref var, .. } if pairs.iter().any(|p| &p.0 == var) => {}
            Seg::Split {
                var,
                idx,
                div,
                row,
                orig,
            } => {
                let pair = pairs
                    .iter()
                    .find(|p| p.0 == idx && (if row { p.1 == var } else { p.2 == var }));
                let Some(pair) = pair else {
                    resolved.push(Seg::Stmt(orig));
                    continue;
                };
                let axis = axes.get(&idx).copied().unwrap_or('x');
                if row {
                    let end = ends
                        .get(&var)
                        .cloned()
                        .or_else(|| ends.get(&idx).map(|e| divide(e, &div)));
                    if let Some(e) = end {
                        ends.insert(var.clone(), e);
                    }
                } else {
                    ends.insert(var.clone(), div.clone());
                }
                resolved.push(Seg::Bind {
                    var: var.clone(),
                    axis,
                    split: true,
                    span: orig.span,
                });
                halves.push(idx.clone());
                if halves.iter().filter(|h| **h == idx).count() == 2 {
                    // Keep `idx` meaningful for later uses: idx = row*div + col.
                    resolved.push(Seg::Stmt(Stmt {
                        kind: StmtKind::Decl {
                            name: idx.clone(),
                            elem: None,
                            dims: Vec::new(),
                            shared: false,
                            init: Some(Expr::bin(
                                BinOp::Add,
                                Expr::bin(BinOp::Mul, Expr::Var(pair.1.clone()), div),
                                Expr::Var(pair.2.clone()),
                            )),
                        },
                        span: orig.span,
                    }));
                }
            }
            other => resolved.push(other),
        }
    }

    // Build the nest from the inside out.
    let mut acc: Vec<Stmt> = Vec::new();
    for s in resolved.into_iter().rev() {
        match s {
            Seg::Stmt(s) => acc.insert(0, s),
            Seg::Bind {
                var,
                axis,
                split,
                span,
            } => {
                let end = ends
                    .get(&var)
                    .or_else(|| unguarded.get(&var))
                    .cloned()
                    .unwrap_or_else(|| Expr::Other("gridDim".into()));
                let whole = Span {
                    end_byte: body_span.end_byte,
                    end_line: body_span.end_line,
                    end_col: body_span.end_col,
                    ..span
                };
                let body = std::mem::take(&mut acc);
                acc.push(Stmt {
                    kind: StmtKind::Loop(Loop {
                        var,
                        start: Expr::Int(0),
                        end,
                        step: Expr::Int(1),
                        kind: LoopKind::CudaThread { axis, split },
                        header: span,
                        body,
                    }),
                    span: whole,
                });
            }
            Seg::Split { orig, .. } => acc.insert(0, orig),
        }
    }
    acc
}
