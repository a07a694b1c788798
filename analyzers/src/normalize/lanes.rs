//! Pass 0b: CUDA vector types (`float4`, `double2`, ...) expanded into
//! their lanes, so that a vectorised kernel reads as the scalar one.
//!
//! A vector access through a pointer cast, `vector(p, w)[j]` (the front
//! end's form of `reinterpret_cast<float4 *>(p)[j]`, see [`Expr::Call`]),
//! is the `w` elements `p[w*j + l]`, `l = 0..w` (with `&A[e]` as `p`:
//! `A[e + w*j + l]`). Each vector local is evaluated symbolically through straight-line
//! code: `float4 t = <vector>` and `t = <vector>` give its lanes values,
//! `t.x = e` / `t.y += e` update one lane, and reads of `t.x` are replaced
//! by the lane's value; `<vector> = t` and `<vector> = <vector>` become one
//! scalar store per lane. Where the evaluation cannot follow (the local is
//! assigned inside a nested loop or branch, or memory a lane reads is
//! written), the lanes are stored into scalars `t.x`, ... first, so the
//! meaning never changes.
//!
//! The `w` consecutive scalar statements that come out of one vector (or
//! read its lanes) are then rolled back into a loop over a lane variable
//! when their array indices advance in arithmetic progression (`As[(c*4 +
//! l)*BM + r] = A[r*K + c*4 + l]` for `l = 0..4`): the lane becomes an index
//! variable like any other, and the contraction analysis maps tiles and
//! register blocks through it.

use std::collections::HashSet;

use crate::ir::{AssignOp, BinOp, ElemType, Expr, Function, Loop, LoopKind, Poly, Stmt, StmtKind};

/// The component names of a CUDA vector's lanes.
const LANES: [&str; 4] = ["x", "y", "z", "w"];

/// The lane count of a CUDA vector type name (`float4` → 4).
fn type_width(t: &str) -> Option<usize> {
    // One reading of vector type names for the front end and this pass.
    crate::frontend::c::vector_type_width(t).and_then(|n| usize::try_from(n).ok())
}

/// Runs the pass on one function.
pub(super) fn expand(f: &mut Function) {
    let vectors: Vec<(String, usize)> = f
        .vars
        .iter()
        .filter_map(|(n, v)| match &v.elem {
            Some(ElemType::Named(t)) if v.rank == 0 => type_width(t).map(|w| (n.clone(), w)),
            _ => None,
        })
        .collect();
    // Local arrays of vectors (`float4 acc[4]`): the front end reads
    // `acc[i].y` as `acc[i][1]`, so the array gets the lanes as its last
    // extent and the vector's element type.
    let mut arrays = Vec::new();
    for (n, v) in f.vars.iter_mut() {
        let Some(ElemType::Named(t)) = &v.elem else {
            continue;
        };
        let Some(w) = type_width(t).filter(|_| v.rank >= 1 && !v.shape.is_empty()) else {
            continue;
        };
        let scalar = lane_elem(t);
        arrays.push((n.clone(), v.rank, w));
        v.rank += 1;
        v.shape.push(Expr::Int(w as i64));
        v.elem = scalar;
    }
    let mut has_cast = false;
    for s in &f.body {
        s.walk(&mut |s| {
            for e in s.exprs() {
                e.walk(&mut |x| {
                    if matches!(x, Expr::Call { func, recv: None, args, .. }
                        if func == "vector" && args.len() == 2 || func.ends_with("memcpy_async"))
                    {
                        has_cast = true;
                    }
                });
            }
        });
    }
    if vectors.is_empty() && arrays.is_empty() && !has_cast {
        return;
    }
    let mut inits = Vec::new();
    for s in &f.body {
        s.walk(&mut |s| {
            if let StmtKind::Decl {
                name,
                init: Some(e),
                ..
            } = &s.kind
            {
                inits.push((name.clone(), e.clone()));
            }
        });
    }
    let mut cx = Cx {
        vectors,
        arrays,
        next_lane: 0,
        inits,
    };
    let body = std::mem::take(&mut f.body);
    f.body = cx.block(body);
    let scalarised = lanes_as_subscripts(f, &cx);
    if !cx.arrays.is_empty() || scalarised {
        super::simd::roll_unrolled(f);
    }
}

/// A vector local whose lanes are still read or written one by one after
/// the evaluation (`acc.x += ...; acc.y += ...`, an accumulator updated in
/// a loop) as an array of its lanes, `acc[0]`, `acc[1]`, ...: its unrolled
/// lane statements are then rolled into a loop like any register block's.
/// Whether any was.
fn lanes_as_subscripts(f: &mut Function, cx: &Cx) -> bool {
    let mut used: Vec<(String, usize)> = Vec::new();
    for s in &f.body {
        s.walk(&mut |s| {
            for e in s.exprs() {
                e.walk(&mut |x| {
                    if let Some((t, _)) = var_name(x).and_then(|v| cx.lane_of(v)) {
                        if !used.iter().any(|(n, _)| *n == t) {
                            let w = cx.width(&t).unwrap_or(0);
                            used.push((t, w));
                        }
                    }
                });
            }
        });
    }
    if used.is_empty() {
        return false;
    }
    for s in &mut f.body {
        s.walk_mut(&mut |s| {
            s.exprs_mut(&mut |e| {
                let taken = std::mem::replace(e, Expr::Int(0));
                *e = taken.map(&mut |x| match var_name(&x).and_then(|v| cx.lane_of(v)) {
                    Some((t, l)) if used.iter().any(|(n, _)| *n == t) => Expr::Index {
                        base: Box::new(Expr::var(&t)),
                        idx: vec![Expr::Int(l as i64)],
                    },
                    _ => x,
                });
            });
        });
    }
    for (t, w) in &used {
        if let Some(v) = f.vars.get_mut(t) {
            let scalar = match &v.elem {
                Some(ElemType::Named(n)) => lane_elem(n),
                _ => None,
            };
            v.rank = 1;
            v.shape = vec![Expr::Int(*w as i64)];
            v.is_array = true;
            v.elem = scalar;
        }
    }
    true
}

fn var_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Var(v) => Some(v),
        _ => None,
    }
}

/// The element type of a CUDA vector type's lanes (`float4` → `f32`).
fn lane_elem(vector_type: &str) -> Option<ElemType> {
    let base = vector_type.get(..vector_type.len().checked_sub(1)?)?;
    ElemType::from_name(base)
}

/// `run` rolled into one loop over the lane variable `__lane<lane>`
/// where its array indices advance in step (for pass 0c, `staging.rs`).
pub(super) fn roll_run(run: &[Stmt], lane: usize) -> Option<Stmt> {
    let mut cx = Cx {
        vectors: Vec::new(),
        arrays: Vec::new(),
        next_lane: lane,
        inits: Vec::new(),
    };
    cx.roll(run)
}

struct Cx {
    vectors: Vec<(String, usize)>,
    /// Local arrays of vectors: name, subscripts before the lane, lanes.
    arrays: Vec<(String, usize, usize)>,
    next_lane: usize,
    /// Initialisers of the function's locals, to read a copy's size
    /// (`shape4 = cuda::aligned_size_t<...>(sizeof(float4))`).
    inits: Vec<(String, Expr)>,
}

/// A vector local's current lanes.
struct Value {
    name: String,
    lanes: Vec<Expr>,
    /// Declared in the block being evaluated (so it dies at its end).
    local: bool,
}

fn lane_var(name: &str, l: usize) -> Expr {
    Expr::Var(format!("{name}.{}", LANES[l]))
}

/// `e + off`, simplified where both are polynomials.
fn plus(e: &Expr, off: &Expr) -> Expr {
    let sum = Expr::bin(BinOp::Add, e.clone(), off.clone());
    Poly::from_expr(&sum).map(|p| p.to_expr()).unwrap_or(sum)
}

/// The pointer, element offset and width of a vector access
/// `vector(p, w)[j]` / `*vector(p, w)`.
fn vector_access(e: &Expr) -> Option<(&Expr, Expr, usize)> {
    let (cast, j) = match e {
        Expr::Index { base, idx } if idx.len() == 1 => (base.as_ref(), idx[0].clone()),
        Expr::Unary(crate::ir::UnOp::Deref, p) => (p.as_ref(), Expr::Int(0)),
        _ => return None,
    };
    let Expr::Call {
        func,
        recv: None,
        args,
        ..
    } = cast
    else {
        return None;
    };
    let (Some(p), Some(Expr::Int(w))) = (args.first(), args.get(1)) else {
        return None;
    };
    if func != "vector" || args.len() != 2 || !(2..=4).contains(w) {
        return None;
    }
    let w = *w as usize;
    Some((p, Expr::bin(BinOp::Mul, Expr::Int(w as i64), j), w))
}

/// Lane `l` of the vector access at `p` + `off` (in elements).
fn element(p: &Expr, off: &Expr, l: usize) -> Expr {
    let off = plus(off, &Expr::Int(l as i64));
    match p {
        Expr::Unary(crate::ir::UnOp::AddrOf, inner) => match inner.as_ref() {
            Expr::Index { base, idx } if !idx.is_empty() => {
                let mut idx = idx.clone();
                let last = idx.len() - 1;
                idx[last] = plus(&idx[last], &off);
                Expr::Index {
                    base: base.clone(),
                    idx,
                }
            }
            other => Expr::Index {
                base: Box::new(other.clone()),
                idx: vec![off],
            },
        },
        _ => Expr::Index {
            base: Box::new(p.clone()),
            idx: vec![off],
        },
    }
}

/// The array bases an expression reads (`A` in `A[i]`, `(A + o)[i]`).
fn bases(e: &Expr, out: &mut HashSet<String>) {
    e.walk(&mut |x| match x {
        Expr::Index { base, .. } | Expr::Unary(crate::ir::UnOp::Deref, base) => {
            base.walk(&mut |b| {
                if let Expr::Var(v) = b {
                    out.insert(v.clone());
                }
            });
        }
        _ => {}
    });
}

/// The arrays a statement (and its nested ones) writes.
fn written(s: &Stmt) -> HashSet<String> {
    let mut out = HashSet::new();
    s.walk(&mut |s| {
        if let StmtKind::Assign { target, .. } = &s.kind {
            if !matches!(target, Expr::Var(_)) {
                let mut b = HashSet::new();
                bases(target, &mut b);
                // `(A + off)[i]`: the offset's names are not written.
                if let Some(first) = first_var(target) {
                    b.retain(|x| *x == first);
                }
                out.extend(b);
            }
        }
    });
    out
}

fn first_var(e: &Expr) -> Option<String> {
    match e {
        Expr::Var(v) => Some(v.clone()),
        Expr::Index { base, .. } | Expr::Unary(_, base) => first_var(base),
        Expr::Binary(_, a, _) => first_var(a),
        Expr::Call { args, .. } => args.first().and_then(first_var),
        _ => None,
    }
}

/// The scalar names a statement (and its nested ones) assigns or loops over.
fn assigned_names(s: &Stmt) -> HashSet<String> {
    let mut out = HashSet::new();
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
        _ => {}
    });
    out
}

impl Cx {
    fn width(&self, name: &str) -> Option<usize> {
        self.vectors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, w)| *w)
    }

    /// `t.y` → (`t`, 1) for a vector local `t`.
    fn lane_of(&self, name: &str) -> Option<(String, usize)> {
        let (t, c) = name.rsplit_once('.')?;
        let l = LANES.iter().position(|x| *x == c)?;
        (self.width(t)? > l).then(|| (t.to_string(), l))
    }

    /// The lanes `e` gives the vector local `name`, if this pass can tell
    /// them and they are as many as `name` has: a `float4` given a
    /// two-lane value (`float4 t = make_float2(..)`) is left to the
    /// compiler, not read past its second lane.
    fn lanes_for(&self, name: &str, e: &Expr, env: &[Value]) -> Option<Vec<Expr>> {
        let w = self.width(name)?;
        self.lanes(e, env).filter(|lanes| lanes.len() == w)
    }

    /// An element of a local array of vectors (`acc[i]`): its lanes'
    /// subscripts without the lane, and the lane count.
    fn array_element(&self, e: &Expr) -> Option<(String, Vec<Expr>, usize)> {
        let Expr::Index { base, idx } = e else {
            return None;
        };
        let Expr::Var(b) = base.as_ref() else {
            return None;
        };
        let (_, _, w) = self
            .arrays
            .iter()
            .find(|(n, rank, _)| n == b && *rank == idx.len())?;
        Some((b.clone(), idx.clone(), *w))
    }

    /// The lanes of a vector-valued expression, if this pass can tell them.
    fn lanes(&self, e: &Expr, env: &[Value]) -> Option<Vec<Expr>> {
        if let Expr::Var(t) = e {
            return env.iter().find(|v| v.name == *t).map(|v| v.lanes.clone());
        }
        if let Some((b, idx, w)) = self.array_element(e) {
            let idx: Vec<Expr> = idx.into_iter().map(|i| subst(i, env, self)).collect();
            return Some(
                (0..w)
                    .map(|l| {
                        let mut idx = idx.clone();
                        idx.push(Expr::Int(l as i64));
                        Expr::Index {
                            base: Box::new(Expr::Var(b.clone())),
                            idx,
                        }
                    })
                    .collect(),
            );
        }
        if let Some((p, off, w)) = vector_access(e) {
            let p = subst(p.clone(), env, self);
            let off = subst(off, env, self);
            return Some((0..w).map(|l| element(&p, &off, l)).collect());
        }
        if let Expr::Call {
            func,
            recv: None,
            args,
            ..
        } = e
        {
            let w = func.strip_prefix("make_").and_then(type_width)?;
            if args.len() == w {
                return Some(args.iter().map(|a| subst(a.clone(), env, self)).collect());
            }
        }
        None
    }

    /// Stores `v`'s lanes into its scalars (`t.x = ...`), leaving it read
    /// through them.
    fn materialise(&self, v: &mut Value, span: crate::ir::Span, out: &mut Vec<(Stmt, bool)>) {
        for (l, lane) in v.lanes.iter_mut().enumerate() {
            let var = lane_var(&v.name, l);
            if *lane != var {
                out.push((
                    Stmt {
                        kind: StmtKind::Assign {
                            target: var.clone(),
                            op: AssignOp::Set,
                            value: lane.clone(),
                        },
                        span,
                    },
                    false,
                ));
                *lane = var;
            }
        }
    }

    fn block(&mut self, stmts: Vec<Stmt>) -> Vec<Stmt> {
        let mut env: Vec<Value> = Vec::new();
        let mut out: Vec<(Stmt, bool)> = Vec::new();
        // Pointers to vectors: `float4 *p = reinterpret_cast<float4 *>(&A[e])`.
        let mut ptrs: Vec<(String, Expr)> = Vec::new();
        for mut s in stmts {
            let span = s.span;
            if !ptrs.is_empty() {
                let names = assigned_names(&s);
                ptrs.retain(|(n, _)| {
                    !names.contains(n)
                        || matches!(&s.kind, StmtKind::Decl { name, .. } if name == n)
                });
                let ptrs = &ptrs;
                s.walk_mut(&mut |st| {
                    st.exprs_mut(&mut |e| {
                        let taken = std::mem::replace(e, Expr::Int(0));
                        *e = taken.map(&mut |x| match x {
                            Expr::Var(ref v) => ptrs
                                .iter()
                                .find(|(n, _)| n == v)
                                .map_or(x, |(_, p)| p.clone()),
                            other => other,
                        });
                    })
                });
            }
            if let StmtKind::Decl {
                name,
                init: Some(init @ Expr::Call { func, .. }),
                ..
            } = &s.kind
            {
                if func == "vector" && self.width(name).is_none() {
                    ptrs.push((name.clone(), init.clone()));
                    out.push((s, false));
                    continue;
                }
            }
            if let Some(stores) = self.async_copy(&s) {
                let w: HashSet<String> = stores.iter().flat_map(written).collect();
                self.spill(&mut env, &w, span, &mut out);
                let many = stores.len() > 1;
                out.extend(stores.into_iter().map(|s| (s, many)));
                continue;
            }
            // A vector local declared or assigned here.
            match &s.kind {
                StmtKind::Decl { name, init, .. } if self.width(name).is_some() => {
                    let w = self.width(name).unwrap_or(4);
                    let lanes = match init {
                        None => Some((0..w).map(|l| lane_var(name, l)).collect()),
                        Some(e) => self.lanes_for(name, e, &env),
                    };
                    env.retain(|v| v.name != *name);
                    if let Some(lanes) = lanes {
                        let name = name.clone();
                        if let StmtKind::Decl { init, .. } = &mut s.kind {
                            *init = None;
                        }
                        out.push((s, false));
                        env.push(Value {
                            name,
                            lanes,
                            local: true,
                        });
                        continue;
                    }
                }
                StmtKind::Assign {
                    target: Expr::Var(t),
                    op: AssignOp::Set,
                    value,
                } if self.width(t).is_some() => {
                    if let Some(lanes) = self.lanes_for(t, value, &env) {
                        match env.iter_mut().find(|v| v.name == *t) {
                            Some(v) => v.lanes = lanes,
                            None => env.push(Value {
                                name: t.clone(),
                                lanes,
                                local: false,
                            }),
                        }
                        continue;
                    }
                    env.retain(|v| v.name != *t);
                }
                StmtKind::Assign {
                    target: Expr::Var(lv),
                    op,
                    value,
                } if self.lane_of(lv).is_some() => {
                    let (t, l) = self.lane_of(lv).unwrap_or_default();
                    let new = subst(value.clone(), &env, self);
                    let op = *op;
                    if let Some(v) = env.iter_mut().find(|v| v.name == t) {
                        let old = v.lanes[l].clone();
                        let bin = match op {
                            AssignOp::Set => None,
                            AssignOp::Add => Some(BinOp::Add),
                            AssignOp::Sub => Some(BinOp::Sub),
                            AssignOp::Mul => Some(BinOp::Mul),
                            AssignOp::Div => Some(BinOp::Div),
                            AssignOp::Other => {
                                v.lanes[l] = lane_var(&t, l);
                                out.push((s, false));
                                continue;
                            }
                        };
                        v.lanes[l] = match bin {
                            None => new,
                            Some(b) => Expr::bin(b, old, new),
                        };
                        continue;
                    }
                }
                // A whole element of a local array of vectors given a
                // vector value (`acc[i] = make_float4(0, 0, 0, 0)`): one
                // store per lane.
                StmtKind::Assign {
                    target,
                    op: AssignOp::Set,
                    value,
                } if self.array_element(target).is_some() => {
                    if let (Some(places), Some(lanes)) =
                        (self.lanes(target, &env), self.lanes(value, &env))
                    {
                        if places.len() == lanes.len() {
                            let stores = places.into_iter().zip(lanes).collect();
                            self.store_lanes(&mut env, stores, span, &mut out);
                            continue;
                        }
                    }
                }
                StmtKind::Assign {
                    target,
                    op: AssignOp::Set,
                    value,
                } if vector_access(target).is_some() => {
                    if let Some(lanes) = self.lanes(value, &env) {
                        let (p, off, w) =
                            vector_access(target).unwrap_or((target, Expr::Int(0), 0));
                        let p = subst(p.clone(), &env, self);
                        let off = subst(off, &env, self);
                        let stores = (0..w.min(lanes.len()))
                            .map(|l| (element(&p, &off, l), lanes[l].clone()))
                            .collect();
                        self.store_lanes(&mut env, stores, span, &mut out);
                        continue;
                    }
                }
                _ => {}
            }
            // Any other statement: spill what it could invalidate, then
            // read the lanes it uses, then expand nested blocks afresh.
            let names = assigned_names(&s);
            for v in env.iter_mut() {
                let touched = names.contains(&v.name)
                    || (0..v.lanes.len())
                        .any(|l| names.contains(&lane_var(&v.name, l).to_string()));
                if touched {
                    self.materialise(v, span, &mut out);
                }
            }
            let w = written(&s);
            self.spill(&mut env, &w, span, &mut out);
            let mut reads_lane = false;
            s.walk(&mut |st| {
                for e in st.exprs() {
                    e.walk(&mut |x| {
                        if let Expr::Var(n) = x {
                            if self
                                .lane_of(n)
                                .is_some_and(|(t, _)| env.iter().any(|v| v.name == t))
                            {
                                reads_lane = true;
                            }
                        }
                    });
                }
            });
            if reads_lane {
                let env = &env;
                let me = &*self;
                s.walk_mut(&mut |st| {
                    st.exprs_mut(&mut |e| {
                        let taken = std::mem::replace(e, Expr::Int(0));
                        *e = subst(taken, env, me);
                    })
                });
            }
            match &mut s.kind {
                StmtKind::Loop(l) => l.body = self.block(std::mem::take(&mut l.body)),
                StmtKind::If { then, els, .. } => {
                    *then = self.block(std::mem::take(then));
                    *els = self.block(std::mem::take(els));
                }
                StmtKind::Opaque(b) => *b = self.block(std::mem::take(b)),
                _ => {}
            }
            let simple = matches!(s.kind, StmtKind::Assign { .. });
            out.push((s, reads_lane && simple));
        }
        // Vectors that outlive the block keep their values in their scalars.
        let end = out.last().map(|(s, _)| s.span).unwrap_or_default();
        for v in env.iter_mut().filter(|v| !v.local) {
            self.materialise(v, end, &mut out);
        }
        // A block-local vector's lanes stored but never read again.
        let locals: Vec<String> = env
            .iter()
            .filter(|v| v.local)
            .map(|v| v.name.clone())
            .collect();
        let mut n = out.len();
        while n > 0 {
            n -= 1;
            let dead = match &out[n].0.kind {
                StmtKind::Assign {
                    target: Expr::Var(lv),
                    op: AssignOp::Set,
                    ..
                } => {
                    self.lane_of(lv).is_some_and(|(t, _)| locals.contains(&t))
                        && !out[n + 1..].iter().any(|(s, _)| {
                            let mut read = false;
                            s.walk(&mut |st| {
                                read |= st.exprs().iter().any(|e| e.mentions(lv));
                            });
                            read
                        })
                }
                _ => false,
            };
            if dead {
                out.remove(n);
            }
        }
        self.reroll(out)
    }

    /// One store per lane (`(place, value)` pairs, rollable), after the
    /// lanes still to be read from what they overwrite are spilled.
    fn store_lanes(
        &self,
        env: &mut [Value],
        stores: Vec<(Expr, Expr)>,
        span: crate::ir::Span,
        out: &mut Vec<(Stmt, bool)>,
    ) {
        let stores: Vec<Stmt> = stores
            .into_iter()
            .map(|(target, value)| Stmt {
                kind: StmtKind::Assign {
                    target,
                    op: AssignOp::Set,
                    value,
                },
                span,
            })
            .collect();
        let w: HashSet<String> = stores.iter().flat_map(written).collect();
        self.spill(env, &w, span, out);
        out.extend(stores.into_iter().map(|s| (s, true)));
    }

    /// `cuda::memcpy_async(dst, src, size, pipe)` (also with a leading
    /// group, and `__pipeline_memcpy_async(dst, src, size)`) of one `float`
    /// or one `float4`: the stores it stands for, one per element.
    fn async_copy(&self, s: &Stmt) -> Option<Vec<Stmt>> {
        let StmtKind::Expr(Expr::Call { func, args, .. }) = &s.kind else {
            return None;
        };
        if !func.ends_with("memcpy_async") {
            return None;
        }
        let (dst, src, size) = match args.len() {
            3 | 4 => (&args[0], &args[1], &args[2]),
            5 => (&args[1], &args[2], &args[3]),
            _ => return None,
        };
        let size = match size {
            Expr::Var(v) => self
                .inits
                .iter()
                .find(|(n, _)| n == v)
                .map_or(size, |(_, e)| e),
            e => e,
        };
        let t: String = size
            .to_string()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let inner = t.rsplit("sizeof(").next()?.split(')').next()?;
        let w = match inner {
            "float" | "double" | "int" => 1,
            other => type_width(other)?,
        };
        let ptr = |e: &Expr| match e {
            Expr::Call {
                func,
                args,
                recv: None,
                ..
            } if func == "vector" && args.len() == 2 => args[0].clone(),
            e => e.clone(),
        };
        let (d, r) = (ptr(dst), ptr(src));
        let zero = Expr::Int(0);
        Some(
            (0..w)
                .map(|l| Stmt {
                    kind: StmtKind::Assign {
                        target: element(&d, &zero, l),
                        op: AssignOp::Set,
                        value: element(&r, &zero, l),
                    },
                    span: s.span,
                })
                .collect(),
        )
    }

    /// Materialises every vector whose lanes read an array in `w`.
    fn spill(
        &self,
        env: &mut [Value],
        w: &HashSet<String>,
        span: crate::ir::Span,
        out: &mut Vec<(Stmt, bool)>,
    ) {
        if w.is_empty() {
            return;
        }
        for v in env.iter_mut() {
            let mut b = HashSet::new();
            for l in &v.lanes {
                bases(l, &mut b);
            }
            if b.iter().any(|x| w.contains(x)) {
                self.materialise(v, span, out);
            }
        }
    }

    /// Rolls runs of lane statements back into lane loops.
    fn reroll(&mut self, stmts: Vec<(Stmt, bool)>) -> Vec<Stmt> {
        let mut out = Vec::with_capacity(stmts.len());
        let mut i = 0;
        while i < stmts.len() {
            if !stmts[i].1 {
                out.push(stmts[i].0.clone());
                i += 1;
                continue;
            }
            let mut j = i;
            while j < stmts.len() && stmts[j].1 {
                j += 1;
            }
            let run: Vec<Stmt> = stmts[i..j].iter().map(|(s, _)| s.clone()).collect();
            let mut k = 0;
            while k < run.len() {
                let mut done = false;
                for len in [run.len() - k, 4, 3, 2] {
                    if len < 2 || k + len > run.len() {
                        continue;
                    }
                    if let Some(l) = self.roll(&run[k..k + len]) {
                        out.push(l);
                        k += len;
                        done = true;
                        break;
                    }
                }
                if !done {
                    out.push(run[k].clone());
                    k += 1;
                }
            }
            i = j;
        }
        out
    }

    /// `run[l]` = `run[0]` with every array index advanced by `l·D`: one
    /// loop over a fresh lane variable.
    fn roll(&mut self, run: &[Stmt]) -> Option<Stmt> {
        let step = run_step(run, zip_stmt)?;
        if step.iter().all(Poly::is_zero) {
            return None;
        }
        let var = format!("__lane{}", self.next_lane);
        self.next_lane += 1;
        let mut body = run[0].clone();
        let mut k = 0;
        let lane = Poly::symbol(&var);
        body.exprs_mut(&mut |e| {
            let taken = std::mem::replace(e, Expr::Int(0));
            *e = shift(taken, &step, &lane, &mut k);
        });
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
}

/// Reads of vector lanes (`t.x`) replaced by their current values.
fn subst(e: Expr, env: &[Value], cx: &Cx) -> Expr {
    if env.is_empty() {
        return e;
    }
    e.map(&mut |x| match x {
        Expr::Var(ref n) => match cx.lane_of(n) {
            Some((t, l)) => env
                .iter()
                .find(|v| v.name == t)
                .and_then(|v| v.lanes.get(l).cloned())
                .unwrap_or(x),
            None => x,
        },
        other => other,
    })
}

/// The index step `D` of a run whose `l`-th statement is its first with
/// every array index advanced by `l·D` (`zip` pairs two statements and
/// pushes their index differences); `None` when the run is not uniform.
pub(super) fn run_step(
    run: &[Stmt],
    zip: fn(&Stmt, &Stmt, &mut Vec<Poly>) -> bool,
) -> Option<Vec<Poly>> {
    let mut step: Option<Vec<Poly>> = None;
    for (l, s) in run.iter().enumerate().skip(1) {
        let mut d = Vec::new();
        if !zip(&run[0], s, &mut d) {
            return None;
        }
        match &step {
            None => step = Some(d),
            Some(base) => {
                if base.len() != d.len()
                    || base.iter().zip(&d).any(|(b, x)| b.scale(l as i64) != *x)
                {
                    return None;
                }
            }
        }
    }
    step
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
        ) => o1 == o2 && zip(t1, t2, d) && zip(v1, v2, d),
        _ => false,
    }
}

/// True when `a` and `b` are the same expression up to their array
/// indices; pushes each index's difference `b - a`, in the order [`shift`]
/// visits them.
pub(super) fn zip(a: &Expr, b: &Expr, d: &mut Vec<Poly>) -> bool {
    match (a, b) {
        (Expr::Index { base: b1, idx: i1 }, Expr::Index { base: b2, idx: i2 }) => {
            if i1.len() != i2.len() || !zip(b1, b2, d) {
                return false;
            }
            for (x, y) in i1.iter().zip(i2) {
                match (Poly::from_expr(x), Poly::from_expr(y)) {
                    (Some(p), Some(q)) => d.push(q.sub(&p)),
                    _ if x == y => d.push(Poly::default()),
                    _ => return false,
                }
            }
            true
        }
        (Expr::Binary(o1, x1, y1), Expr::Binary(o2, x2, y2)) => {
            o1 == o2 && zip(x1, x2, d) && zip(y1, y2, d)
        }
        (Expr::Unary(o1, x1), Expr::Unary(o2, x2)) => o1 == o2 && zip(x1, x2, d),
        (
            Expr::Call {
                func: f1,
                recv: r1,
                args: a1,
                kwargs: k1,
            },
            Expr::Call {
                func: f2,
                recv: r2,
                args: a2,
                kwargs: k2,
            },
        ) => {
            f1 == f2
                && r1 == r2
                && k1 == k2
                && a1.len() == a2.len()
                && a1.iter().zip(a2).all(|(x, y)| zip(x, y, d))
        }
        _ => a == b,
    }
}

/// `e` with its `k`-th array index (in [`zip`]'s order) advanced by
/// `lane·step[k]`.
pub(super) fn shift(e: Expr, step: &[Poly], lane: &Poly, k: &mut usize) -> Expr {
    match e {
        Expr::Index { base, idx } => {
            let base = shift(*base, step, lane, k);
            let idx = idx
                .into_iter()
                .map(|x| {
                    let d = step.get(*k).cloned().unwrap_or_default();
                    *k += 1;
                    if d.is_zero() {
                        x
                    } else {
                        match Poly::from_expr(&x) {
                            Some(p) => p.add(&lane.mul(&d)).to_expr(),
                            None => x,
                        }
                    }
                })
                .collect();
            Expr::Index {
                base: Box::new(base),
                idx,
            }
        }
        Expr::Binary(o, x, y) => {
            let x = shift(*x, step, lane, k);
            let y = shift(*y, step, lane, k);
            Expr::Binary(o, Box::new(x), Box::new(y))
        }
        Expr::Unary(o, x) => Expr::Unary(o, Box::new(shift(*x, step, lane, k))),
        Expr::Call {
            func,
            recv,
            args,
            kwargs,
        } => Expr::Call {
            func,
            recv,
            args: args.into_iter().map(|a| shift(a, step, lane, k)).collect(),
            kwargs,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_type_name_ending_in_a_multibyte_character_is_no_vector() {
        assert_eq!(super::type_width("float4"), Some(4));
        assert_eq!(super::type_width("float\u{00e9}"), None);
        assert_eq!(super::type_width("\u{00e9}"), None);
        assert_eq!(super::type_width(""), None);
    }

    use crate::ir::{Lang, StmtKind};
    use crate::NoIncludes;

    #[test]
    fn a_float4_copy_is_a_lane_loop() {
        let src = "__global__ void k(const float *B, float *out) {
            __shared__ float t[64];
            reinterpret_cast<float4 *>(&t[threadIdx.x * 4])[0] =
                reinterpret_cast<const float4 *>(&B[threadIdx.x * 4])[0];
            out[threadIdx.x] = t[threadIdx.x];
        }";
        let mut f = crate::frontend::lower(Lang::Cuda, "t.cu", src, &NoIncludes);
        crate::normalize::normalize(&mut f);
        let mut lane_loops = Vec::new();
        f.functions[0].walk(&mut |s| {
            if let StmtKind::Loop(l) = &s.kind {
                if l.var.starts_with("__lane") {
                    lane_loops.push((l.end.to_string(), l.body.len()));
                }
            }
        });
        assert_eq!(lane_loops, vec![("4".to_string(), 1)]);
    }
}
