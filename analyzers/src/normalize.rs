//! Normalisation passes over the IR, run between the front ends and the
//! detectors, so that detectors see one canonical form:
//!
//! 1. **Self-updates become compound assignments**: `x = x + e` and
//!    `x = e + x` become `x += e`; `x = x - e` becomes `x -= e` (scalars and
//!    array elements alike).
//! 2. **Forward substitution of let-bound locals**: a local that is assigned
//!    exactly once (a declaration with an initialiser, or one `=`), never
//!    compound-assigned, is not a parameter or loop variable, and whose value
//!    is a plain index expression (names, numbers, arithmetic, array reads,
//!    pointer sums) is replaced by its value at every later use. This makes
//!    hoisted operands (`aik = A[i][k]`), pointer aliases
//!    (`float *Ai = A + i*K; Ai[k]`), index temporaries (`int idx = i*N + j`)
//!    and Python row aliases (`row = A[i]; row[k]`) look like direct
//!    accesses. Accumulators (`sum = 0; sum += ...`) have a compound
//!    assignment and are left alone. A local declared in several blocks
//!    (`const int s = f % S;` in one loop, `const int s = t % S;` in
//!    another), or beside loops of its own name elsewhere, and written by
//!    nothing but its initialisers, is substituted in the rest of each
//!    declaring block (not inside a loop that counts with its name).
//!
//! 3. **Induction variables folded into the loop counter** (run before 2):
//!    a variable bumped once per iteration by a loop-invariant amount
//!    (`for (a = a0, b = b0; a <= aEnd; a += aStep, b += bStep)`, or a
//!    pointer advanced per tile, `A += BK; B += BK * N;`) is replaced in the
//!    body by its value at that point (`b + n*bStep`, `A + n*BK` before the
//!    bump, `(n+1)` after), with `n` the iteration number. A loop whose
//!    start is not zero (or whose step does not divide the bump) is
//!    re-indexed first over `n` from 0 (its old variable becomes
//!    `start + n*step`). A pointer bumped once outside any serial loop
//!    (`A += row * K;` at the top of a kernel) is replaced by the sum at
//!    every later use. The bumped name must not be read after the loop.
//!
//! 2a. **Straight-line evaluation** (`straight.rs`, before 3): locals
//!    written more than once (a temporary per unrolled copy, a pointer reset
//!    per iteration or bumped several times) are followed through each
//!    statement list and their reads replaced by their current values.
//!
//! 2a'. **A double buffer's guarded flip hoisted** (`guarded.rs`, between
//!    2a and 2b): `if (k < K) { ...; w ^= 1; }` on a loop whose last
//!    iteration alone fails the guard, with `w` read nowhere after the
//!    flip, becomes the unguarded flip after the `if`.
//!
//! 2b. **Stage indices of a ring of tiles** (`stages.rs`, after 2a, before
//!    3): a wrapped counter (`s = (s + 1) % S`, `buf ^= 1`) becomes the
//!    remainder of the loop's iteration number, and counters bumped in
//!    lockstep by an uncounted fetch loop become functions of the one that
//!    counts by 1.
//!
//! 0. **x86 vector intrinsics read as their lane computation** (C/C++,
//!    before everything else): a packed load `_mm256_loadu_ps(&A[e])` /
//!    `_mm_load_pd(&A[e])` → `A[e + λ]` with λ a lane symbol, a broadcast
//!    `_mm256_broadcast_ss(p)` → `*p`, `_mm256_set1_ps(x)` → `x`,
//!    `_mm256_fmadd_ps(a, b, c)` → `a*b + c` (`add`, `sub`, `mul` alike), and
//!    the statement `_mm256_storeu_ps(&C[e], v)` → `C[e + λ] = v`
//!    (masked loads and stores alike); pass 0c (`simd.rs`, after every
//!    other pass) rolls unrolled register blocks into loops and makes λ a
//!    loop over the lanes of each register; a union of a
//!    vector and an array of its lanes (`x.v` / `x.d[2]`) reads `x.d[0]`
//!    as `x.v`. A loop over `j` in
//!    steps of 8 then reads as the scalar loop over `j` it vectorises: an
//!    AVX GEMM over broadcast rows of A and loaded rows of B is a GEMM nest.
//!    Helpers called as statements are inlined next: a call
//!    statement `AddDot(k, &A(i,0), lda, &B(0,j), &C(i,j));` to a C/C++
//!    function of the same file whose body is small and returns nothing is
//!    replaced by that body, with scalar parameters bound to the argument
//!    expressions and pointer parameters to the pointer sums the arguments
//!    denote (`&a[e]` → `a + e`), its locals renamed apart. A GEMM split
//!    into an i-j loop and a helper computing one dot product (or a small
//!    block of C) is then one nest.
//!
//! 0b. **CUDA vector types expanded into lanes** (C/C++/CUDA, after 0):
//!    `float4` loads and stores through `reinterpret_cast<float4 *>` become
//!    one scalar access per lane, vector locals are evaluated lane by lane,
//!    and the lane statements are rolled back into a loop over a lane
//!    variable (`lanes.rs`).
//!
//! 4. **Register staging arrays forwarded** (CUDA, after 2): reads of a
//!    local array filled by a vector copy (`R[e + q]` after `R[l + e] =
//!    A[g(l)]`) replaced by the value copied, and the stores so forwarded
//!    rolled into a lane loop (`staging.rs`).
//!
//! The passes are pure functions of the IR: no I/O, no source text.

mod guarded;
mod lanes;
mod simd;
mod stages;
mod staging;
mod straight;

use std::collections::{HashMap, HashSet};

use crate::ir::{AssignOp, BinOp, ElemType, Expr, File, Function, LoopKind, Poly, Stmt, StmtKind};

/// Substituted values larger than this (in expression nodes) are not
/// propagated, so that chains like `a = b*b; c = a*a; ...` cannot blow up.
const MAX_SUBST_NODES: usize = 256;

/// Runs every pass, in order.
pub fn normalize(file: &mut File) {
    if file.lang != crate::ir::Lang::Python {
        for f in &mut file.functions {
            let fields = vector_fields(f);
            for s in &mut f.body {
                s.walk_mut(&mut vector_lanes);
            }
            union_lanes(f, &fields);
            lanes::expand(f);
        }
    }
    inline_helpers(file);
    for f in &mut file.functions {
        for s in &mut f.body {
            self_updates(s);
        }
        straight::evaluate(f);
        guarded::hoist(f);
        stages::rewrite(f);
        induction(f);
        forward_substitute(f);
        staging::forward(f);
        for s in &mut f.body {
            simplify_trip_counts(s);
        }
    }
    if file.lang != crate::ir::Lang::Python {
        file.functions.iter_mut().for_each(simd::expand);
    }
}

/// A re-indexed loop's trip count `(end - start + step - 1) / step` with
/// its numerator simplified once the names in it are substituted
/// (`aBegin + wA - 1 - aBegin` → `wA - 1`).
fn simplify_trip_counts(s: &mut Stmt) {
    match &mut s.kind {
        StmtKind::Loop(l) => {
            if let Expr::Binary(BinOp::Div, a, _) = &mut l.end {
                if let Some(p) = Poly::from_expr(a) {
                    **a = p.to_expr();
                }
            }
            l.body.iter_mut().for_each(simplify_trip_counts);
        }
        StmtKind::If { then, els, .. } => {
            then.iter_mut().for_each(simplify_trip_counts);
            els.iter_mut().for_each(simplify_trip_counts);
        }
        StmtKind::Opaque(b) => b.iter_mut().for_each(simplify_trip_counts),
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Pass 0: vector intrinsics, then helpers inlined at their call statements

/// The operation of an x86 SIMD intrinsic name (`_mm256_fmadd_ps` →
/// `fmadd`), for the single- and double-precision packed forms.
fn intrinsic_op(name: &str) -> Option<&str> {
    let rest = name
        .strip_prefix("_mm512_")
        .or_else(|| name.strip_prefix("_mm256_"))
        .or_else(|| name.strip_prefix("_mm_"))?;
    let op = rest
        .strip_suffix("_ps")
        .or_else(|| rest.strip_suffix("_pd"))
        .or_else(|| rest.strip_suffix("_ss"))
        .or_else(|| rest.strip_suffix("_sd"))?;
    Some(op)
}

fn deref_of(p: Expr) -> Expr {
    match p {
        Expr::Unary(crate::ir::UnOp::AddrOf, x) => *x,
        other => Expr::Unary(crate::ir::UnOp::Deref, Box::new(other)),
    }
}

fn lane_expr(e: Expr) -> Expr {
    e.map(&mut |x| match x {
        Expr::Call {
            ref func,
            recv: None,
            ref args,
            ..
        } => {
            let Some(op) = intrinsic_op(func) else {
                return x;
            };
            let a = args.clone();
            let w = simd::intrinsic_width(func);
            match (op, a.len()) {
                // A packed load is lane λ of the memory it reads (simd.rs).
                ("loadu" | "load", 1) | ("maskload", 2) if w.is_some() => {
                    simd::lane_at(a[0].clone(), w.unwrap_or(1))
                }
                ("loadu" | "load" | "broadcast" | "loaddup", 1) => deref_of(a[0].clone()),
                ("setzero", 0) => Expr::Int(0),
                ("set1", 1) => a[0].clone(),
                ("fmadd", 3) => Expr::bin(
                    BinOp::Add,
                    Expr::bin(BinOp::Mul, a[0].clone(), a[1].clone()),
                    a[2].clone(),
                ),
                ("add", 2) => Expr::bin(BinOp::Add, a[0].clone(), a[1].clone()),
                ("sub", 2) => Expr::bin(BinOp::Sub, a[0].clone(), a[1].clone()),
                ("mul", 2) => Expr::bin(BinOp::Mul, a[0].clone(), a[1].clone()),
                _ => x,
            }
        }
        other => other,
    })
}

/// The fields of local unions that hold an x86 vector (`x.v` in
/// `typedef union { __m128d v; double d[2]; } v2df_t`): assigned from an
/// intrinsic, or from other such fields.
fn vector_fields(f: &Function) -> HashSet<String> {
    let mut out: HashSet<String> = HashSet::new();
    for _ in 0..2 {
        for s in &f.body {
            s.walk(&mut |s| {
                let StmtKind::Assign {
                    target: Expr::Var(t),
                    value,
                    ..
                } = &s.kind
                else {
                    return;
                };
                if !t.contains('.') || out.contains(t) {
                    return;
                }
                let mut vector = false;
                value.walk(&mut |x| match x {
                    Expr::Call { func, .. } if intrinsic_op(func).is_some() => vector = true,
                    Expr::Var(v) if out.contains(v) => vector = true,
                    _ => {}
                });
                if vector {
                    out.insert(t.clone());
                }
            });
        }
    }
    out
}

/// Lane 0 of such a union read through its array member (`x.d[0]`) is
/// the vector field as the first-lane reading has it (`x.v`).
fn union_lanes(f: &mut Function, fields: &HashSet<String>) {
    if fields.is_empty() {
        return;
    }
    let first = |base: &str| {
        let (x, _) = base.rsplit_once('.')?;
        let mut v: Vec<&String> = fields
            .iter()
            .filter(|n| n.rsplit_once('.').is_some_and(|(y, _)| y == x))
            .collect();
        v.sort();
        (v.len() == 1 && v[0] != base).then(|| v[0].clone())
    };
    for s in &mut f.body {
        s.walk_mut(&mut |s| {
            s.exprs_mut(&mut |e| {
                let taken = std::mem::replace(e, Expr::Int(0));
                *e = taken.map(&mut |x| match &x {
                    Expr::Index { base, idx } if idx.len() == 1 && idx[0] == Expr::Int(0) => {
                        match base.as_ref() {
                            Expr::Var(b) => first(b).map_or(x.clone(), Expr::Var),
                            _ => x,
                        }
                    }
                    _ => x,
                });
            })
        });
    }
}

/// Pass 0a on one statement (see the module docs).
fn vector_lanes(s: &mut Stmt) {
    let f = |e: &mut Expr| {
        let taken = std::mem::replace(e, Expr::Int(0));
        *e = lane_expr(taken);
    };
    match &mut s.kind {
        StmtKind::Expr(Expr::Call {
            func,
            recv: None,
            args,
            ..
        }) if matches!(intrinsic_op(func), Some("storeu" | "store" | "stream"))
            && args.len() == 2
            || matches!(intrinsic_op(func), Some("maskstore")) && args.len() == 3 =>
        {
            let target = match simd::intrinsic_width(func) {
                Some(w) => simd::lane_at(args[0].clone(), w),
                None => deref_of(args[0].clone()),
            };
            let value = lane_expr(args[args.len() - 1].clone());
            s.kind = StmtKind::Assign {
                target,
                op: AssignOp::Set,
                value,
            };
        }
        _ => s.exprs_mut(&mut { f }),
    }
}

/// Helpers larger than this (in statements) are not inlined.
const MAX_INLINE_STMTS: usize = 256;

/// At most this many calls are inlined into one function (helpers that
/// call each other cannot loop).
const MAX_INLINES: usize = 64;

/// A helper fit to be inlined: host/device code with a body, no value
/// returned, no early return, small.
fn inlinable(f: &Function) -> bool {
    let mut n = 0usize;
    let mut ok = !f.body.is_empty();
    for s in &f.body {
        s.walk(&mut |s| {
            n += 1;
            if matches!(s.kind, StmtKind::Return(_)) {
                ok = false;
            }
        });
    }
    ok && n <= MAX_INLINE_STMTS
        && matches!(
            f.kind,
            crate::ir::FnKind::Host | crate::ir::FnKind::CudaDevice
        )
}

/// The value a pointer parameter takes from its argument: `&a[e]` → `a + e`.
fn pointer_arg(e: &Expr, caller: &Function) -> Option<Expr> {
    match e {
        Expr::Unary(crate::ir::UnOp::AddrOf, inner) => match inner.as_ref() {
            // `&x[e]`: `x` is an array or a pointer, whatever its
            // declaration said (see `array_args`).
            Expr::Index { base, idx }
                if idx.len() == 1 && matches!(base.as_ref(), Expr::Var(_)) =>
            {
                Some(Expr::bin(BinOp::Add, (**base).clone(), idx[0].clone()))
            }
            Expr::Index { base, idx } if idx.len() == 1 => {
                let base = pointer_arg(base, caller)?;
                Some(Expr::bin(BinOp::Add, base, idx[0].clone()))
            }
            _ => None,
        },
        Expr::Var(b) if caller.is_array(b) => Some(e.clone()),
        // `a[i]` of a `float **a` / `float a[][N]`: its row, a pointer.
        Expr::Index { base, idx }
            if idx.len() == 1
                && matches!(base.as_ref(), Expr::Var(b) if caller.vars.get(b).is_some_and(|v| v.is_array && v.rank >= 2)) =>
        {
            Some(e.clone())
        }
        Expr::Binary(BinOp::Add | BinOp::Sub, a, _) if pointer_arg(a, caller).is_some() => {
            Some(e.clone())
        }
        _ => None,
    }
}

/// Renames `from` to `to` everywhere in `s` (reads, targets, declarations,
/// loop variables).
fn rename_stmt(s: &mut Stmt, from: &str, to: &str) {
    let with = Expr::var(to);
    // The fields of a renamed struct or union local (`x.v` → `x_1.v`).
    let prefix = format!("{from}.");
    s.walk_mut(&mut |s| {
        s.exprs_mut(&mut |e| {
            let taken = std::mem::replace(e, Expr::Int(0));
            *e = taken.map(&mut |x| match x {
                Expr::Var(v) if v.starts_with(&prefix) => {
                    Expr::Var(format!("{to}.{}", &v[prefix.len()..]))
                }
                other => other,
            });
        });
    });
    s.walk_mut(&mut |s| {
        match &mut s.kind {
            StmtKind::Decl { name, .. } if name == from => *name = to.to_string(),
            StmtKind::Loop(l) if l.var == from => l.var = to.to_string(),
            _ => {}
        }
        if let StmtKind::Assign {
            target: Expr::Var(v),
            ..
        } = &mut s.kind
        {
            if v == from {
                *v = to.to_string();
            }
        }
    });
    subst_stmt(s, from, &with);
}

/// A helper whose one `return` is its last statement, at the top of its
/// body (`float dot(...) { ...; return s; }`): inlined where a call to it
/// is a statement's value, as that body with `__ret_N = e` for the return.
fn value_helper(f: &Function) -> Option<Function> {
    let (last, rest) = f.body.split_last()?;
    let StmtKind::Return(Some(e)) = &last.kind else {
        return None;
    };
    let mut g = f.clone();
    g.body = rest.to_vec();
    if !inlinable(&g) {
        return None;
    }
    // The returned value's type, where it is a local's.
    let info = match e {
        Expr::Var(v) => f.vars.get(v).cloned(),
        _ => None,
    }
    .map(|mut v| {
        v.is_array = false;
        v.rank = 0;
        v.shape.clear();
        v
    })
    .unwrap_or_default();
    g.vars.insert(RET.to_string(), info);
    g.body.push(Stmt {
        kind: StmtKind::Assign {
            target: Expr::var(RET),
            op: AssignOp::Set,
            value: e.clone(),
        },
        span: last.span,
    });
    Some(g)
}

/// The name the returned value takes in a value helper's body (renamed
/// apart per call).
const RET: &str = "__ret";

fn inline_helpers(file: &mut File) {
    let mut helpers: HashMap<String, Function> = file
        .functions
        .iter()
        .filter(|f| inlinable(f))
        .map(|f| (f.name.clone(), f.clone()))
        .collect();
    for f in &file.functions {
        if let Some(g) = value_helper(f) {
            helpers.entry(format!("{}()", f.name)).or_insert(g);
        }
    }
    if helpers.is_empty() {
        return;
    }
    for f in &mut file.functions {
        let mut body = std::mem::take(&mut f.body);
        let mut counter = 0usize;
        inline_block(f, &mut body, &helpers, &mut counter, &mut Vec::new());
        f.body = body;
    }
}

fn inline_block(
    caller: &mut Function,
    stmts: &mut Vec<Stmt>,
    helpers: &HashMap<String, Function>,
    counter: &mut usize,
    loop_vars: &mut Vec<String>,
) {
    let depth = loop_vars.len();
    if depth > 32 {
        return;
    }
    let mut i = 0;
    while i < stmts.len() {
        // Only a call inside loops whose arguments move with them
        // (`&C(i,j)`): a call made once, or repeated with the same
        // arguments (a benchmark loop), is the helper's own nest.
        let call = match &stmts[i].kind {
            StmtKind::Expr(Expr::Call {
                func,
                recv: None,
                args,
                kwargs,
            }) if kwargs.is_empty()
                && args.iter().any(|a| loop_vars.iter().any(|v| a.mentions(v))) =>
            {
                let (name, targs) = callee(func);
                helpers
                    .get(func)
                    .or_else(|| helpers.get(name))
                    .filter(|h| h.params.len() == args.len() && h.span != caller.span)
                    .map(|h| (h.clone(), args.clone(), targs))
            }
            _ => None,
        };
        // `x = f(args)` / `x += f(args)` with `f` a value helper: its body,
        // then the statement reading what it returned.
        if *counter < MAX_INLINES {
            if let Some(n) = inline_value_call(caller, stmts, i, helpers, counter, loop_vars) {
                i += n;
                continue;
            }
        }
        if let Some((h, args, targs)) = call.filter(|_| *counter < MAX_INLINES) {
            if let Some(body) = instantiate(caller, &h, &args, &targs, counter) {
                let n = body.len();
                let span = stmts[i].span;
                let body: Vec<Stmt> = body
                    .into_iter()
                    .map(|mut s| {
                        s.walk_mut(&mut |s| s.span = span);
                        s
                    })
                    .collect();
                stmts.splice(i..=i, body);
                if *counter >= MAX_INLINES {
                    i += n;
                }
                // Otherwise the inlined statements are visited next: the
                // helper's own helper calls are inlined too.
                continue;
            }
        }
        match &mut stmts[i].kind {
            StmtKind::Loop(l) => {
                loop_vars.push(l.var.clone());
                inline_block(caller, &mut l.body, helpers, counter, loop_vars);
                loop_vars.pop();
            }
            StmtKind::If { then, els, .. } => {
                inline_block(caller, then, helpers, counter, loop_vars);
                inline_block(caller, els, helpers, counter, loop_vars);
            }
            StmtKind::Opaque(b) => inline_block(caller, b, helpers, counter, loop_vars),
            _ => {}
        }
        i += 1;
    }
}

/// Inlines the one value-helper call in `stmts[i]`'s value, if any: the
/// helper's body goes before the statement, whose call becomes the
/// returned value's name. Returns how many statements were put in front.
fn inline_value_call(
    caller: &mut Function,
    stmts: &mut Vec<Stmt>,
    i: usize,
    helpers: &HashMap<String, Function>,
    counter: &mut usize,
    loop_vars: &[String],
) -> Option<usize> {
    let value = match &stmts[i].kind {
        StmtKind::Assign { value, .. } => value,
        StmtKind::Decl { init: Some(v), .. } => v,
        _ => return None,
    };
    let mut calls = Vec::new();
    value.walk(&mut |x| {
        if let Expr::Call {
            func,
            recv: None,
            args,
            kwargs,
        } = x
        {
            if kwargs.is_empty() {
                let (name, _) = callee(func);
                if let Some(h) = helpers.get(&format!("{name}()")) {
                    calls.push((x.clone(), h.clone(), args.clone()));
                }
            }
        }
    });
    let [(call, h, args)] = calls.as_slice() else {
        return None;
    };
    if h.params.len() != args.len()
        || h.span == caller.span
        || !args.iter().any(|a| loop_vars.iter().any(|v| a.mentions(v)))
    {
        return None;
    }
    let mut body = instantiate(caller, h, args, &[], counter)?;
    let ret = format!("{RET}_{}", *counter);
    for s in body.iter_mut() {
        rename_stmt(s, RET, &ret);
    }
    let ret_info = h.vars.get(RET).cloned().unwrap_or_default();
    caller.vars.entry(ret.clone()).or_insert(ret_info);
    let span = stmts[i].span;
    let body: Vec<Stmt> = body
        .into_iter()
        .map(|mut s| {
            s.walk_mut(&mut |s| s.span = span);
            s
        })
        .collect();
    let n = body.len();
    let with = Expr::var(&ret);
    let call = call.clone();
    stmts[i].exprs_mut(&mut |e| {
        let taken = std::mem::replace(e, Expr::Int(0));
        *e = taken.map(&mut |x| if x == call { with.clone() } else { x });
    });
    stmts.splice(i..i, body);
    Some(n)
}

/// The function a call names, as helpers are named, and the template
/// arguments it gives: `wt::load<BM, 4>` → (`load`, [`BM`, `4`]) (a
/// namespace's functions are named without it; an unqualified template
/// call comes from the front end without its arguments).
fn callee(func: &str) -> (&str, Vec<String>) {
    let (head, targs) = match func.find('<') {
        Some(at) if func.ends_with('>') => (&func[..at], &func[at + 1..func.len() - 1]),
        _ => (func, ""),
    };
    let name = head.rsplit("::").next().unwrap_or(head);
    let mut args = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in targs.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                args.push(targs[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !targs.trim().is_empty() {
        args.push(targs[start..].trim().to_string());
    }
    (name, args)
}

/// A template argument as the expression it binds: a name or an integer
/// (`None` for anything else, which the inliner does not bind).
fn template_value(t: &str) -> Option<Expr> {
    if let Ok(v) = t.parse::<i64>() {
        return Some(Expr::Int(v));
    }
    let ident = t
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && t.chars().all(|c| c.is_alphanumeric() || c == '_');
    ident.then(|| Expr::var(t))
}

/// The helper's body for one call, or `None` when an argument does not
/// bind (a pointer parameter given something that is not a pointer sum,
/// a template value argument that is no name or integer).
fn instantiate(
    caller: &mut Function,
    h: &Function,
    args: &[Expr],
    targs: &[String],
    counter: &mut usize,
) -> Option<Vec<Stmt>> {
    if targs.len() > h.template_order.len() {
        return None;
    }
    *counter += 1;
    let mut body = h.body.clone();
    // Locals and loop variables renamed apart from the caller's names.
    let mut locals: Vec<String> = Vec::new();
    for s in &body {
        s.walk(&mut |s| match &s.kind {
            StmtKind::Decl { name, .. } => locals.push(name.clone()),
            StmtKind::Loop(l) => locals.push(l.var.clone()),
            _ => {}
        });
    }
    locals.sort();
    locals.dedup();
    for l in &locals {
        if h.params.contains(l) {
            continue;
        }
        let to = format!("{l}_{}", *counter);
        for s in body.iter_mut() {
            rename_stmt(s, l, &to);
        }
        if let Some(info) = h.vars.get(l) {
            caller
                .vars
                .entry(to.clone())
                .or_insert_with(|| info.clone());
        }
    }
    // Parameters: written parameters cannot be bound to expressions.
    let mut binds: Vec<(String, Expr)> = Vec::new();
    let mut starts: Vec<Stmt> = Vec::new();
    for (p, a) in h.params.iter().zip(args) {
        let info = h.vars.get(p).cloned().unwrap_or_default();
        let value = if info.is_array {
            // `&C[i][j]` for a parameter used only as `*c`: a reference.
            if let Some(r) = reference_arg(a, p, &body) {
                for s in body.iter_mut() {
                    deref_stmt(s, p, &r);
                }
                continue;
            }
            let v = pointer_arg(a, caller)?;
            // The array passed by `&x[e]` is one of the parameter's type.
            if let Expr::Unary(crate::ir::UnOp::AddrOf, inner) = a {
                if let Expr::Index { base, .. } = inner.as_ref() {
                    if let Expr::Var(x) = base.as_ref() {
                        let known = caller.vars.get(x).is_some_and(|v| v.is_array);
                        if !known {
                            let mut vi = info.clone();
                            vi.shape.clear();
                            caller.vars.insert(x.clone(), vi);
                        }
                    }
                }
            }
            v
        } else {
            let copy = simd::is_register_param(h, p) && !has_side_effects(a);
            if !copy && (Stmt::defs_of(&body, p) > 0 || has_side_effects(a)) {
                return None;
            }
            a.clone()
        };
        // A pointer parameter the helper advances, or a vector register
        // passed by value that it writes.
        let copied = info.is_array || simd::is_register_param(h, p);
        if copied && Stmt::defs_of(&body, p) > 0 {
            // A pointer parameter the helper advances (`a += 4` over a
            // packed panel): a local of the caller, starting at the argument.
            let local = format!("{p}_{}", *counter);
            for s in body.iter_mut() {
                rename_stmt(s, p, &local);
            }
            caller.vars.insert(local.clone(), info.clone());
            starts.push(Stmt {
                kind: StmtKind::Decl {
                    name: local,
                    elem: info.elem.clone(),
                    dims: Vec::new(),
                    shared: false,
                    init: Some(value),
                },
                span: h.span,
            });
            continue;
        }
        binds.push((p.clone(), value));
    }
    // Template value parameters bound to the call's template arguments
    // (types are element types, not values).
    for (p, a) in h.template_order.iter().zip(targs) {
        if p == a || h.template_params.contains(p) {
            continue;
        }
        binds.push((p.clone(), template_value(a)?));
    }
    // Simultaneous substitution through temporary names.
    for (k, (p, _)) in binds.iter().enumerate() {
        let tmp = Expr::Var(format!("__arg{k}__"));
        for s in body.iter_mut() {
            subst_stmt(s, p, &tmp);
        }
    }
    for (k, (_, v)) in binds.iter().enumerate() {
        let tmp = format!("__arg{k}__");
        for s in body.iter_mut() {
            subst_stmt(s, &tmp, v);
        }
    }
    starts.extend(body);
    Some(starts)
}

/// For `&X` with `X` a multi-subscript access, and a parameter `p` read
/// only as `*p` in `body`: `X`, which `*p` then stands for.
fn reference_arg(a: &Expr, p: &str, body: &[Stmt]) -> Option<Expr> {
    let Expr::Unary(crate::ir::UnOp::AddrOf, inner) = a else {
        return None;
    };
    let Expr::Index { base, .. } = inner.as_ref() else {
        return None;
    };
    if !matches!(base.as_ref(), Expr::Index { .. }) {
        return None;
    }
    // Every use of `p` is `*p`.
    let mut all = 0usize;
    let mut derefs = 0usize;
    for s in body {
        s.walk(&mut |s| {
            for e in s.exprs() {
                e.walk(&mut |x| match x {
                    Expr::Var(v) if v == p => all += 1,
                    Expr::Unary(crate::ir::UnOp::Deref, d) if matches!(d.as_ref(), Expr::Var(v) if v == p) => {
                        derefs += 1
                    }
                    _ => {}
                });
            }
        });
    }
    (all > 0 && all == derefs).then(|| (**inner).clone())
}

/// Replaces `*p` by `with` everywhere in `s`.
fn deref_stmt(s: &mut Stmt, p: &str, with: &Expr) {
    let f = |e: &mut Expr| {
        let taken = std::mem::replace(e, Expr::Int(0));
        *e = taken.map(&mut |x| match x {
            Expr::Unary(crate::ir::UnOp::Deref, ref d) if matches!(d.as_ref(), Expr::Var(v) if v == p) => {
                with.clone()
            }
            other => other,
        });
    };
    s.walk_mut(&mut |s| s.exprs_mut(&mut { f }));
}

fn has_side_effects(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        if matches!(x, Expr::Call { .. } | Expr::Other(_)) {
            found = true;
        }
    });
    found
}

// ---------------------------------------------------------------------------
// Pass 3: induction variables

fn stmt_mentions(s: &Stmt, name: &str) -> bool {
    let mut found = false;
    s.walk(&mut |s| {
        if s.exprs().iter().any(|e| e.mentions(name)) {
            found = true;
        }
        if let StmtKind::Decl { name: v, .. } = &s.kind {
            if v == name {
                found = true;
            }
        }
    });
    found
}

/// Names written anywhere inside `stmts` (assignment targets, locals, loop
/// variables).
fn written_names(stmts: &[Stmt]) -> HashSet<String> {
    let mut out = HashSet::new();
    for s in stmts {
        s.walk(&mut |s| match &s.kind {
            StmtKind::Assign {
                target: Expr::Var(v),
                ..
            } => {
                out.insert(v.clone());
            }
            StmtKind::Decl { name, .. } => {
                out.insert(name.clone());
            }
            StmtKind::Loop(l) => {
                out.insert(l.var.clone());
            }
            _ => {}
        });
    }
    out
}

/// Replaces every read of `name` in `s` (and nested statements) by `with`;
/// assignment targets that are `name` itself are left alone.
fn subst_stmt(s: &mut Stmt, name: &str, with: &Expr) {
    let sub = |e: &mut Expr| {
        let taken = std::mem::replace(e, Expr::Int(0));
        *e = taken.substitute(name, with);
    };
    match &mut s.kind {
        StmtKind::Loop(l) => {
            sub(&mut l.start);
            sub(&mut l.end);
            sub(&mut l.step);
            l.body.iter_mut().for_each(|s| subst_stmt(s, name, with));
        }
        StmtKind::Assign { target, value, .. } => {
            if !matches!(target, Expr::Var(v) if v == name) {
                sub(target);
            }
            sub(value);
        }
        StmtKind::Decl { dims, init, .. } => {
            dims.iter_mut().for_each(sub);
            if let Some(v) = init {
                sub(v);
            }
        }
        StmtKind::If { cond, then, els } => {
            sub(cond);
            then.iter_mut().for_each(|s| subst_stmt(s, name, with));
            els.iter_mut().for_each(|s| subst_stmt(s, name, with));
        }
        StmtKind::Opaque(b) => b.iter_mut().for_each(|s| subst_stmt(s, name, with)),
        StmtKind::Expr(e) => sub(e),
        StmtKind::Return(e) => {
            if let Some(e) = e {
                sub(e);
            }
        }
        StmtKind::Barrier => {}
    }
}

/// `c / d` when the single-term polynomial `d` divides every term of `c`.
fn divide_exact(c: &Poly, d: &Poly) -> Option<Poly> {
    if d.terms.len() != 1 {
        return None;
    }
    let (dm, dc) = d.terms.iter().next()?;
    if *dc == 0 {
        return None;
    }
    let mut out = Poly::default();
    for (mono, coef) in &c.terms {
        let mut rest = mono.clone();
        for s in dm {
            let i = rest.iter().position(|x| x == s)?;
            rest.remove(i);
        }
        if coef % dc != 0 {
            return None;
        }
        out.terms.insert(rest, coef / dc);
    }
    Some(out)
}

/// A value fit to be an induction bump: integer arithmetic over names.
fn plain_int(e: &Expr) -> bool {
    let mut ok = true;
    e.walk(&mut |n| {
        if !matches!(
            n,
            Expr::Int(_) | Expr::Var(_) | Expr::Binary(..) | Expr::Unary(..)
        ) || matches!(
            n,
            Expr::Unary(crate::ir::UnOp::Deref | crate::ir::UnOp::AddrOf, _)
        ) {
            ok = false;
        }
    });
    ok && Poly::from_expr(e).is_some()
}

/// The parameters of `f` and the names declared in its body.
fn locals_of(f: &Function) -> HashSet<String> {
    let mut out: HashSet<String> = f.params.iter().cloned().collect();
    for s in &f.body {
        s.walk(&mut |s| {
            if let StmtKind::Decl { name, .. } = &s.kind {
                out.insert(name.clone());
            }
        });
    }
    out
}

/// A scalar that is not a floating-point number: an integer, or a type
/// parameter / unresolved name (`size_type`).
fn integer_var(f: &Function, name: &str) -> bool {
    f.vars.get(name).is_some_and(|v| {
        !v.is_array
            && matches!(
                v.elem,
                Some(
                    ElemType::I8
                        | ElemType::I16
                        | ElemType::I32
                        | ElemType::I64
                        | ElemType::Named(_)
                )
            )
    })
}

fn induction(f: &mut Function) {
    let locals = locals_of(f);
    let mut body = std::mem::take(&mut f.body);
    induction_block(f, &locals, &mut body, 0, false);
    // Straight-line pointer bumps, outside serial loops.
    let snapshot = body.clone();
    bumps_block(f, &locals, &mut body, &snapshot, 0);
    f.body = body;
}

/// Folds the induction variables of every loop in `stmts` (innermost first).
/// `in_loop`: `stmts` is (inside) a loop's body, so what a loop here leaves
/// in a counter is read again on the enclosing loop's next iteration.
fn induction_block(
    f: &Function,
    locals: &HashSet<String>,
    stmts: &mut Vec<Stmt>,
    depth: usize,
    in_loop: bool,
) {
    if depth > 64 {
        return;
    }
    let mut i = 0;
    while i < stmts.len() {
        match &mut stmts[i].kind {
            // A CUDA thread loop stands for threads, each with its own
            // locals: nothing carries from one of its "iterations" to the next.
            StmtKind::Loop(l) => {
                let serial = in_loop || !matches!(l.kind, LoopKind::CudaThread { .. });
                induction_block(f, locals, &mut l.body, depth + 1, serial)
            }
            StmtKind::If { then, els, .. } => {
                induction_block(f, locals, then, depth + 1, in_loop);
                induction_block(f, locals, els, depth + 1, in_loop);
            }
            StmtKind::Opaque(b) => induction_block(f, locals, b, depth + 1, true),
            _ => {
                i += 1;
                continue;
            }
        }
        let (before, rest) = stmts.split_at_mut(i);
        let (cur, after) = rest.split_at_mut(1);
        let mut post = None;
        if let StmtKind::Loop(l) = &mut cur[0].kind {
            if l.kind == LoopKind::Serial {
                post = fold_loop(f, locals, l, (before, after), in_loop);
            }
        }
        // A counter that outlives the loop takes its whole-loop bump after
        // it (`k += m` for `m` iterations of `k++`), which the enclosing
        // loop may fold in turn.
        if let Some(p) = post {
            let span = stmts[i].span;
            stmts.insert(i + 1, Stmt { kind: p, span });
            i += 1;
        }
        i += 1;
    }
}

/// Folds the loop's induction variables; returns the bump to place after
/// the loop for one that is read after it (at most one, and only for a
/// loop of known trip count: from 0 by 1).
fn fold_loop(
    f: &Function,
    locals: &HashSet<String>,
    l: &mut crate::ir::Loop,
    (before, after): (&[Stmt], &[Stmt]),
    in_loop: bool,
) -> Option<StmtKind> {
    let mut reindexed = false;
    let mut post: Option<StmtKind> = None;
    for _ in 0..8 {
        let written = written_names(&l.body);
        let found = l.body.iter().enumerate().find_map(|(u, s)| {
            let StmtKind::Assign {
                target: Expr::Var(w),
                op: op @ (AssignOp::Add | AssignOp::Sub),
                value,
            } = &s.kind
            else {
                return None;
            };
            // A local or a parameter (a bump of a global is a side effect
            // the rewrites must see), read somewhere else in the body.
            let ok = *w != l.var
                && locals.contains(w)
                && l.body
                    .iter()
                    .any(|o| !std::ptr::eq(o, s) && stmt_mentions(o, w))
                && (f.is_array(w) || integer_var(f, w))
                && plain_int(value)
                && !value.mentions(&l.var)
                && !value.vars().iter().any(|v| written.contains(v))
                && Stmt::defs_of(&l.body, w) == 1
                && (post.is_none() || !after.iter().any(|s| stmt_mentions(s, w)));
            ok.then(|| (u, w.clone(), *op, value.clone()))
        });
        let Some((u, w, op, c)) = found else {
            return post;
        };
        let (Some(cp), Some(sp)) = (Poly::from_expr(&c), Poly::from_expr(&l.step)) else {
            return post;
        };
        // Its value after the loop is read later, or by the enclosing
        // loop's next iteration (unless that sets it again first).
        let reset = before.iter().any(|s| match &s.kind {
            StmtKind::Decl { name, .. } => *name == w,
            StmtKind::Assign {
                target: Expr::Var(t),
                op: AssignOp::Set,
                ..
            } => *t == w,
            _ => false,
        });
        let read_after = in_loop && !reset || after.iter().any(|s| stmt_mentions(s, &w));
        // Read after the loop: only where the trip count is the bound.
        if read_after && !(l.start == Expr::Int(0) && sp == Poly::constant(1)) {
            return post;
        }
        let cp = if op == AssignOp::Sub {
            cp.scale(-1)
        } else {
            cp
        };
        // The iteration number `n` as a polynomial, and the bump per iteration.
        let direct = (l.start == Expr::Int(0) || reindexed)
            .then(|| divide_exact(&cp, &sp))
            .flatten();
        let (n, per) = match direct {
            Some(q) => (Poly::symbol(&l.var), q),
            None if !reindexed => {
                let Some(start) = Poly::from_expr(&l.start) else {
                    return post;
                };
                let Some(end) = rebased_end(&l.end, &start, &sp, &l.step) else {
                    return post;
                };
                let t = format!("{}_n", l.var);
                if written.contains(&t) || f.vars.contains_key(&t) {
                    return post;
                }
                rebase_loop_to(l, t, &start, end);
                reindexed = true;
                (Poly::symbol(&l.var), cp)
            }
            None => return post,
        };
        if read_after {
            // The loop runs `end` times (from 0 by 1): the whole bump.
            let Some(end) = Poly::from_expr(&l.end) else {
                return post;
            };
            if l.end.mentions(&w) {
                return post;
            }
            post = Some(StmtKind::Assign {
                target: Expr::var(&w),
                op: AssignOp::Add,
                value: end.mul(&per).to_expr(),
            });
        }
        let at = |k: i64| {
            Expr::bin(
                BinOp::Add,
                Expr::var(&w),
                n.add(&Poly::constant(k)).mul(&per).to_expr(),
            )
        };
        let (first, second) = (at(0), at(1));
        l.body.remove(u);
        for (i, s) in l.body.iter_mut().enumerate() {
            subst_stmt(s, &w, if i < u { &first } else { &second });
        }
    }
    post
}

/// `A += e` on a pointer written nowhere else, outside serial loops: later
/// reads of `A` become `A + e`.
fn bumps_block(
    f: &Function,
    locals: &HashSet<String>,
    stmts: &mut Vec<Stmt>,
    all: &[Stmt],
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    let mut i = 0;
    while i < stmts.len() {
        let bump = match &stmts[i].kind {
            StmtKind::Assign {
                target: Expr::Var(w),
                op: op @ (AssignOp::Add | AssignOp::Sub),
                value,
            } if f.is_array(w)
                && locals.contains(w)
                && plain_int(value)
                && !value.mentions(w)
                && Stmt::defs_of(all, w) == 1 =>
            {
                Some((w.clone(), *op, value.clone()))
            }
            _ => None,
        };
        if let Some((w, op, c)) = bump {
            let op = if op == AssignOp::Add {
                BinOp::Add
            } else {
                BinOp::Sub
            };
            let with = Expr::bin(op, Expr::var(&w), c);
            stmts.remove(i);
            for s in stmts[i..].iter_mut() {
                subst_stmt(s, &w, &with);
            }
            continue;
        }
        match &mut stmts[i].kind {
            StmtKind::Loop(l) if matches!(l.kind, LoopKind::CudaThread { .. }) => {
                bumps_block(f, locals, &mut l.body, all, depth + 1)
            }
            StmtKind::If { then, els, .. } => {
                bumps_block(f, locals, then, all, depth + 1);
                bumps_block(f, locals, els, all, depth + 1);
            }
            _ => {}
        }
        i += 1;
    }
}

/// Pass 1: `x = x + e` → `x += e`, `x = e + x` → `x += e`, `x = x - e` → `x -= e`.
fn self_updates(s: &mut Stmt) {
    if let StmtKind::Assign { target, op, value } = &mut s.kind {
        // `p = &p[e]` moves the pointer like `p += e`.
        if let (AssignOp::Set, Expr::Var(p), Expr::Unary(crate::ir::UnOp::AddrOf, x)) =
            (&*op, &*target, &*value)
        {
            if let Expr::Index { base, idx } = x.as_ref() {
                if matches!(base.as_ref(), Expr::Var(b) if b == p) && idx.len() == 1 {
                    let e = idx[0].clone();
                    *op = AssignOp::Add;
                    *value = e;
                }
            }
        }
        if *op == AssignOp::Set {
            if let Expr::Binary(bop @ (BinOp::Add | BinOp::Sub), a, b) = value {
                let rest = if **a == *target {
                    Some((**b).clone())
                } else if *bop == BinOp::Add && **b == *target {
                    Some((**a).clone())
                } else {
                    None
                };
                if let Some(rest) = rest {
                    *op = if *bop == BinOp::Add {
                        AssignOp::Add
                    } else {
                        AssignOp::Sub
                    };
                    *value = rest;
                }
            }
        }
    }
    match &mut s.kind {
        StmtKind::Loop(l) => l.body.iter_mut().for_each(self_updates),
        StmtKind::If { then, els, .. } => {
            then.iter_mut().for_each(self_updates);
            els.iter_mut().for_each(self_updates);
        }
        StmtKind::Opaque(b) => b.iter_mut().for_each(self_updates),
        _ => {}
    }
}

/// How often each name is written, and which names may never be substituted.
#[derive(Default)]
struct Writes {
    sets: HashMap<String, usize>,
    /// How many of `sets` are initialised declarations.
    decls: HashMap<String, usize>,
    compound: HashSet<String>,
    loop_vars: HashSet<String>,
}

fn count_writes(stmts: &[Stmt], w: &mut Writes) {
    for s in stmts {
        s.walk(&mut |s| match &s.kind {
            StmtKind::Assign {
                target: Expr::Var(v),
                op,
                ..
            } => {
                if *op == AssignOp::Set {
                    *w.sets.entry(v.clone()).or_default() += 1;
                } else {
                    w.compound.insert(v.clone());
                }
            }
            // Only initialisers count as sets: `float s; ... s = 0;` is one write.
            StmtKind::Decl {
                name,
                init: Some(_),
                ..
            } => {
                *w.sets.entry(name.clone()).or_default() += 1;
                *w.decls.entry(name.clone()).or_default() += 1;
            }
            StmtKind::Loop(l) => {
                w.loop_vars.insert(l.var.clone());
            }
            _ => {}
        });
    }
}

/// True for values worth propagating: arithmetic over names, numbers and
/// array reads. Calls, matrix products and opaque text are left in place.
fn substitutable(e: &Expr) -> bool {
    let mut ok = true;
    let mut nodes = 0usize;
    e.walk(&mut |n| {
        nodes += 1;
        if matches!(
            n,
            Expr::Call { .. }
                | Expr::MatMul(..)
                | Expr::Transpose(_)
                | Expr::Other(_)
                | Expr::Str(_)
        ) {
            ok = false;
        }
    });
    ok && nodes <= MAX_SUBST_NODES
}

/// Pass 2: forward substitution of let-bound locals (see the module docs).
fn forward_substitute(f: &mut Function) {
    let mut w = Writes::default();
    count_writes(&f.body, &mut w);
    let params: HashSet<String> = f.params.iter().cloned().collect();
    let plain = |name: &str| {
        !w.compound.contains(name) && !w.loop_vars.contains(name) && !params.contains(name)
    };
    let eligible = |name: &str| w.sets.get(name) == Some(&1) && plain(name);
    // A name declared in several blocks (`const int s = f % S;` in the
    // fetch loop, `const int s = t % S;` in the compute loop), written by
    // nothing but those initialisers: each declaration's value holds in
    // the rest of its block, as C scopes it.
    // Also a name declared beside loops that count with it (`const int
    // i = ...` where `for (int i ...)` loops elsewhere): inside such a
    // loop the name is its counter again.
    let scoped = |name: &str| {
        let n = w.sets.get(name).copied().unwrap_or(0);
        let shadows = !w.compound.contains(name) && !params.contains(name);
        w.decls.get(name) == Some(&n)
            && ((n > 1 && plain(name)) || (n >= 1 && w.loop_vars.contains(name) && shadows))
    };
    let mut env: HashMap<String, Expr> = HashMap::new();
    let counter = |name: &str| w.loop_vars.contains(name);
    subst_block(
        &mut f.body,
        &Names {
            eligible: &eligible,
            scoped: &scoped,
            counter: &counter,
        },
        &mut env,
    );
}

/// Which locals forward substitution takes: assigned once in the whole
/// function, or declared (and only initialised) once per block.
struct Names<'a> {
    eligible: &'a dyn Fn(&str) -> bool,
    scoped: &'a dyn Fn(&str) -> bool,
    /// Some loop counts with the name.
    counter: &'a dyn Fn(&str) -> bool,
}

/// True if a loop in `stmts` counts with `name` (`for (k = ...)` on the
/// variable declared before it, not one of its own).
fn loops_over(stmts: &[Stmt], name: &str) -> bool {
    let mut found = false;
    for s in stmts {
        s.walk(&mut |s| {
            if matches!(&s.kind, StmtKind::Loop(l) if l.var == name) {
                found = true;
            }
        });
    }
    found
}

/// A pointer alias's value `&x[e]` as the pointer sum `x + e`, so that
/// `*(p + 1)` and `p[k]` through it read as accesses of `x`.
fn address_sum(e: Expr) -> Expr {
    match e {
        Expr::Unary(crate::ir::UnOp::AddrOf, inner) => match *inner {
            Expr::Index { base, mut idx }
                if idx.len() == 1
                    && matches!(*base, Expr::Var(_) | Expr::Binary(BinOp::Add, ..)) =>
            {
                Expr::bin(BinOp::Add, *base, idx.remove(0))
            }
            other => Expr::Unary(crate::ir::UnOp::AddrOf, Box::new(other)),
        },
        other => other,
    }
}

fn apply(env: &HashMap<String, Expr>, e: &mut Expr) {
    if env.is_empty() {
        return;
    }
    let taken = std::mem::replace(e, Expr::Int(0));
    *e = taken.map(&mut |n| match n {
        Expr::Var(ref v) => env.get(v).cloned().unwrap_or(n),
        other => other,
    });
}

fn subst_block(stmts: &mut [Stmt], names: &Names<'_>, env: &mut HashMap<String, Expr>) {
    let eligible = names.eligible;
    // The bindings of block-scoped names this block shadows, put back at
    // its end.
    let mut shadowed: Vec<(String, Option<Expr>)> = Vec::new();
    for i in 0..stmts.len() {
        let (head, rest) = stmts.split_at_mut(i + 1);
        let Some(s) = head.last_mut() else { continue };
        match &mut s.kind {
            StmtKind::Assign { target, op, value } => {
                apply(env, value);
                match target {
                    Expr::Var(name) => {
                        if *op == AssignOp::Set && eligible(name) && substitutable(value) {
                            env.insert(name.clone(), address_sum(value.clone()));
                        }
                    }
                    t => apply(env, t),
                }
            }
            StmtKind::Decl {
                name, init, dims, ..
            } => {
                dims.iter_mut().for_each(|d| apply(env, d));
                if let Some(v) = init {
                    apply(env, v);
                    if eligible(name) && substitutable(v) {
                        env.insert(name.clone(), address_sum(v.clone()));
                    } else if (names.scoped)(name)
                        && !((names.counter)(name) && loops_over(rest, name))
                    {
                        let old = if substitutable(v) {
                            env.insert(name.clone(), address_sum(v.clone()))
                        } else {
                            env.remove(name)
                        };
                        if !shadowed.iter().any(|(n, _)| n == name) {
                            shadowed.push((name.clone(), old));
                        }
                    }
                }
            }
            StmtKind::Loop(l) => {
                apply(env, &mut l.start);
                apply(env, &mut l.end);
                apply(env, &mut l.step);
                let outer = env.remove(&l.var);
                subst_block(&mut l.body, names, env);
                if let Some(v) = outer {
                    env.insert(l.var.clone(), v);
                }
            }
            StmtKind::If { cond, then, els } => {
                apply(env, cond);
                subst_block(then, names, env);
                subst_block(els, names, env);
            }
            StmtKind::Opaque(b) => subst_block(b, names, env),
            StmtKind::Expr(e) => apply(env, e),
            StmtKind::Return(e) => {
                if let Some(e) = e {
                    apply(env, e);
                }
            }
            StmtKind::Barrier => {}
        }
    }
    for (name, old) in shadowed {
        match old {
            Some(v) => env.insert(name, v),
            None => env.remove(&name),
        };
    }
}

/// Re-indexes `l` over its iteration number `t` from 0 by 1: `l.var` is
/// `t*step + start` in the body, and the loop runs `ceil((end - start) /
/// step)` times. The caller has checked that `t` is a free name.
pub(crate) fn rebase_loop(
    l: &mut crate::ir::Loop,
    t: String,
    start: &Poly,
    end: &Poly,
    step: &Poly,
) {
    let end = trip_count(end, start, step, &l.step);
    rebase_loop_to(l, t, start, end);
}

/// The trip count `(end - start + step - 1) / step` of a loop from `start`
/// to a polynomial `end`.
fn trip_count(end: &Poly, start: &Poly, step: &Poly, step_expr: &Expr) -> Expr {
    let span = end.sub(start);
    if *step == Poly::constant(1) {
        span.to_expr()
    } else {
        Expr::bin(
            BinOp::Div,
            span.add(step).sub(&Poly::constant(1)).to_expr(),
            step_expr.clone(),
        )
    }
}

/// The trip count of a loop to `end`: polynomial, or a `min`/`max` of two
/// polynomials (a blocked loop's edge, `kg < MIN(kk + block, order)`),
/// whose trip count is the `min`/`max` of the two (rounding up is
/// monotone).
fn rebased_end(end: &Expr, start: &Poly, step: &Poly, step_expr: &Expr) -> Option<Expr> {
    if let Some(e) = Poly::from_expr(end) {
        return Some(trip_count(&e, start, step, step_expr));
    }
    let Expr::Call {
        func,
        recv: None,
        args,
        kwargs,
    } = end
    else {
        return None;
    };
    if !(func == "min" || func == "max") || args.len() != 2 || !kwargs.is_empty() {
        return None;
    }
    let a = Poly::from_expr(&args[0])?;
    let b = Poly::from_expr(&args[1])?;
    Some(Expr::Call {
        func: func.clone(),
        recv: None,
        args: vec![
            trip_count(&a, start, step, step_expr),
            trip_count(&b, start, step, step_expr),
        ],
        kwargs: Vec::new(),
    })
}

/// `l` re-indexed from 0 by 1 over the new variable `t` with trip count
/// `end`: the old variable read as `start + t*step` in the body.
fn rebase_loop_to(l: &mut crate::ir::Loop, t: String, start: &Poly, end: Expr) {
    let step = Poly::from_expr(&l.step).unwrap_or(Poly::constant(1));
    let old = Poly::symbol(&t).mul(&step).add(start).to_expr();
    for s in l.body.iter_mut() {
        subst_stmt(s, &l.var, &old);
    }
    l.end = end;
    l.var = t;
    l.start = Expr::Int(0);
    l.step = Expr::Int(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Access, FnKind, Lang, Loop, LoopKind, Span};

    fn st(kind: StmtKind) -> Stmt {
        Stmt {
            kind,
            span: Span::default(),
        }
    }
    fn v(n: &str) -> Expr {
        Expr::var(n)
    }
    fn idx(b: &str, i: Vec<Expr>) -> Expr {
        Expr::Index {
            base: Box::new(v(b)),
            idx: i,
        }
    }
    fn assign(t: Expr, op: AssignOp, value: Expr) -> Stmt {
        st(StmtKind::Assign {
            target: t,
            op,
            value,
        })
    }
    fn lp(var: &str, end: &str, body: Vec<Stmt>) -> Stmt {
        st(StmtKind::Loop(Loop {
            var: var.into(),
            start: Expr::Int(0),
            end: v(end),
            step: Expr::Int(1),
            kind: LoopKind::Serial,
            header: Span::default(),
            body,
        }))
    }
    fn file(params: &[&str], body: Vec<Stmt>) -> File {
        File {
            lang: Lang::C,
            functions: vec![Function {
                name: "f".into(),
                kind: FnKind::Host,
                params: params.iter().map(|s| s.to_string()).collect(),
                template_params: vec![],
                template_order: vec![],
                vars: Default::default(),
                body,
                span: Span::default(),
            }],
            consts: Default::default(),
            const_origins: Default::default(),
            type_aliases: Default::default(),
            imports: Vec::new(),
            syntax_problems: vec![],
        }
    }
    fn mul(a: Expr, b: Expr) -> Expr {
        Expr::bin(BinOp::Mul, a, b)
    }
    fn add(a: Expr, b: Expr) -> Expr {
        Expr::bin(BinOp::Add, a, b)
    }

    /// Digs out the innermost statement of a chain of single-statement loops.
    fn innermost(s: &Stmt) -> &Stmt {
        match &s.kind {
            StmtKind::Loop(l) => innermost(l.body.last().unwrap()),
            _ => s,
        }
    }

    #[test]
    fn self_update_becomes_compound() {
        let c = idx("C", vec![v("i"), v("j")]);
        let prod = mul(
            idx("A", vec![v("i"), v("k")]),
            idx("B", vec![v("k"), v("j")]),
        );
        let mut f = file(
            &[],
            vec![assign(
                c.clone(),
                AssignOp::Set,
                add(c.clone(), prod.clone()),
            )],
        );
        normalize(&mut f);
        assert_eq!(
            f.functions[0].body[0].kind,
            StmtKind::Assign {
                target: c.clone(),
                op: AssignOp::Add,
                value: prod.clone()
            }
        );
        // e + x, and x - e
        let mut f = file(
            &[],
            vec![assign(v("s"), AssignOp::Set, add(prod.clone(), v("s")))],
        );
        normalize(&mut f);
        assert!(matches!(
            &f.functions[0].body[0].kind,
            StmtKind::Assign { op: AssignOp::Add, value, .. } if *value == prod
        ));
        let mut f = file(
            &[],
            vec![assign(
                v("s"),
                AssignOp::Set,
                Expr::bin(BinOp::Sub, v("s"), v("t")),
            )],
        );
        normalize(&mut f);
        assert!(matches!(
            &f.functions[0].body[0].kind,
            StmtKind::Assign {
                op: AssignOp::Sub,
                ..
            }
        ));
        // Not a self-update: x = y - x stays.
        let mut f = file(
            &[],
            vec![assign(
                v("s"),
                AssignOp::Set,
                Expr::bin(BinOp::Sub, v("t"), v("s")),
            )],
        );
        normalize(&mut f);
        assert!(matches!(
            &f.functions[0].body[0].kind,
            StmtKind::Assign {
                op: AssignOp::Set,
                ..
            }
        ));
    }

    #[test]
    fn hoisted_operand_is_substituted_but_accumulator_is_not() {
        // for i: for k: { aik = A[i][k]; for j: C[i][j] += aik * B[k][j] }
        // and: sum = 0; for k: sum += ...; C = sum
        let body = vec![lp(
            "i",
            "N",
            vec![lp(
                "k",
                "N",
                vec![
                    st(StmtKind::Decl {
                        name: "aik".into(),
                        elem: None,
                        dims: vec![],
                        shared: false,
                        init: Some(idx("A", vec![v("i"), v("k")])),
                    }),
                    lp(
                        "j",
                        "N",
                        vec![assign(
                            idx("C", vec![v("i"), v("j")]),
                            AssignOp::Add,
                            mul(v("aik"), idx("B", vec![v("k"), v("j")])),
                        )],
                    ),
                ],
            )],
        )];
        let mut f = file(&["A", "B", "C"], body);
        normalize(&mut f);
        let StmtKind::Assign { value, .. } = &innermost(&f.functions[0].body[0]).kind else {
            panic!()
        };
        assert_eq!(
            *value,
            mul(
                idx("A", vec![v("i"), v("k")]),
                idx("B", vec![v("k"), v("j")])
            )
        );

        let body = vec![
            st(StmtKind::Decl {
                name: "sum".into(),
                elem: None,
                dims: vec![],
                shared: false,
                init: Some(Expr::Int(0)),
            }),
            lp("k", "K", vec![assign(v("sum"), AssignOp::Add, v("x"))]),
            assign(idx("C", vec![v("i")]), AssignOp::Set, v("sum")),
        ];
        let mut f = file(&[], body);
        normalize(&mut f);
        assert!(matches!(
            &f.functions[0].body[2].kind,
            StmtKind::Assign { value: Expr::Var(s), .. } if s == "sum"
        ));
    }

    #[test]
    fn pointer_alias_and_row_alias_flatten_through_access_of() {
        // float *Ai = A + i*K; ... Ai[k]
        let body = vec![
            st(StmtKind::Decl {
                name: "Ai".into(),
                elem: None,
                dims: vec![],
                shared: false,
                init: Some(add(v("A"), mul(v("i"), v("K")))),
            }),
            assign(v("s"), AssignOp::Add, idx("Ai", vec![v("k")])),
            // row = A[i]; row[k]
            assign(v("row"), AssignOp::Set, idx("A", vec![v("i")])),
            assign(v("t"), AssignOp::Add, idx("row", vec![v("k")])),
        ];
        let mut f = file(&["A", "K"], body);
        normalize(&mut f);
        let arrays = |n: &str| n == "A";
        let StmtKind::Assign { value, .. } = &f.functions[0].body[1].kind else {
            panic!()
        };
        let acc = Access::of(value, &arrays).unwrap();
        assert_eq!(acc.base, "A");
        let p = acc.polys().unwrap();
        assert_eq!(p[0].coeff("i").unwrap().to_string(), "K");
        assert_eq!(p[0].coeff("k").unwrap().as_const(), Some(1));
        let StmtKind::Assign { value, .. } = &f.functions[0].body[3].kind else {
            panic!()
        };
        let acc = Access::of(value, &arrays).unwrap();
        assert_eq!(acc.to_string(), "A[i][k]");
    }

    #[test]
    fn reassigned_params_loop_vars_and_calls_are_left_alone() {
        let body = vec![
            assign(v("x"), AssignOp::Set, Expr::Int(1)),
            assign(v("x"), AssignOp::Set, Expr::Int(2)),
            assign(v("n"), AssignOp::Set, Expr::Int(3)),
            assign(
                v("p"),
                AssignOp::Set,
                Expr::Call {
                    func: "malloc".into(),
                    recv: None,
                    args: vec![v("n")],
                    kwargs: vec![],
                },
            ),
            assign(v("y"), AssignOp::Add, add(v("x"), add(v("n"), v("p")))),
        ];
        let mut f = file(&["n"], body);
        normalize(&mut f);
        let StmtKind::Assign { value, .. } = &f.functions[0].body[4].kind else {
            panic!()
        };
        assert_eq!(
            value.vars(),
            ["n", "p", "x"].iter().map(|s| s.to_string()).collect()
        );
    }

    #[test]
    fn namespaced_template_calls_name_their_helper() {
        assert_eq!(
            callee("wt::load<BM,BN,4>"),
            ("load", vec!["BM".into(), "BN".into(), "4".into()])
        );
        assert_eq!(callee("a::b::f<X<2>,(N/4)>").1, vec!["X<2>", "(N/4)"]);
        assert_eq!(callee("dot"), ("dot", vec![]));
        assert_eq!(template_value("BM"), Some(v("BM")));
        assert_eq!(template_value("16"), Some(Expr::Int(16)));
        assert_eq!(template_value("N/4"), None);
    }

    #[test]
    fn substitution_size_is_bounded() {
        // a0 = b*b; a1 = a0*a0; ... grows 2^n without the cap.
        let mut body = vec![assign(v("a0"), AssignOp::Set, mul(v("b"), v("b")))];
        for n in 1..40 {
            let prev = format!("a{}", n - 1);
            body.push(assign(
                v(&format!("a{n}")),
                AssignOp::Set,
                mul(v(&prev), v(&prev)),
            ));
        }
        let mut f = file(&[], body);
        normalize(&mut f); // must terminate quickly
        let StmtKind::Assign { value, .. } = &f.functions[0].body[39].kind else {
            panic!()
        };
        let mut nodes = 0;
        value.walk(&mut |_| nodes += 1);
        assert!(nodes < 4 * MAX_SUBST_NODES, "{nodes}");
    }
}
