//! GS401 row-product-loop: a Python loop that multiplies one row at a time by
//! the same matrix (`for r: out[r] = np.dot(X[r], W)`), which is one GEMM.

use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Backend, Dim, Dims, Finding, Idiom, Major, OperandLayout, Routine};
use crate::fixes::{self, FixContext, FixResult};
use crate::ir::{
    Access, AssignOp, BinOp, ElemType, Expr, File, Function, Lang, Loop, Stmt, StmtKind, VarInfo,
};

declare_rule! {
    /// Python loop that multiplies one row at a time by the same matrix.
    ///
    /// **What it finds.** A Python `for` loop (or a list comprehension, which
    /// the front end lowers as a loop) over `r` whose body stores the product
    /// of row `r` of `X` with a matrix `W` that does not depend on `r`:
    /// `out[r] = X[r] @ W`, `out[r, :] = np.dot(X[r], W)`,
    /// `out.append(np.matmul(x, W))` in `for x in X`, `[x @ W for x in X]`,
    /// and the mirrored `out[r] = W @ X[r]` (that is `X @ W.T`). Perfectly
    /// nested outer loops that index `X` and `out` the same way
    /// (`out[b, r] = X[b, r] @ W`) are folded into the same GEMM.
    ///
    /// **Why it is slow.** Every iteration is a separate vector–matrix product
    /// (a GEMV): it streams all of `W` from memory to do 2·K·N flops, so the
    /// loop is memory-bound at roughly 2 flops per element of `W` loaded, and
    /// it pays the interpreter and library-call overhead (microseconds) once
    /// per row. A single GEMM `X @ W` reuses each block of `W` across many rows
    /// from cache and runs the whole product in one multithreaded BLAS call,
    /// typically one to two orders of magnitude faster for hundreds of rows.
    ///
    /// **Example.**
    ///
    /// ```python
    /// out = np.zeros((n, p))
    /// for r in range(n):                 # GS401: one GEMM n×p×k
    ///     out[r] = np.dot(X[r], W)
    /// # instead:
    /// out = X @ W
    /// ```
    ///
    /// **When the rewrite is safe.** The rows are independent: `W` is not
    /// written in the loop, `out` is not read in it (no recurrence such as an
    /// RNN state), and `X[r]` is a row (not a scalar). With `append`, the
    /// result becomes one array instead of a list of rows (wrap it in `list()`
    /// if a list is really needed). Not flagged: `W` indexed by the loop
    /// variable (that is a batched product), dot products of two vectors into
    /// a scalar (`out[r] = X[r] @ w` with a vector `w` is a GEMV, a different
    /// rule), loops over a single row.
    ///
    /// **Accuracy.** The same products and sums; BLAS blocks the K sum
    /// differently, so results can differ in the last bits (relative error of
    /// order 1e-7 in float32, 1e-16 in float64), as between any two BLAS calls.
    pub struct RowProductLoop {
        code: "GS401",
        name: "row-product-loop",
        idiom: Idiom::Gemm,
        fix: FixAvailability::Sometimes(
            "one matmul over all rows · exact · `row_loop.rs`",
        ),
    }
}

impl Rule for RowProductLoop {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, finding: &Finding) -> FixResult {
        fixes::row_loop::fix(cx.file, cx.text, cx.python_tree()?, finding)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        // `x.dot(w)` and `x @ w` are whole-array products only on arrays:
        // without NumPy/PyTorch/... in the file they are other objects'
        // methods (SymPy vectors, for one).
        if cx.file.lang != Lang::Python || !cx.file.imports_array_library() {
            return;
        }
        for f in &cx.file.functions {
            visit(cx.file, f, &f.body, &[], out);
        }
    }
}

/// Walks `stmts`; `chain` holds the enclosing loops that form a perfect nest
/// down to `stmts` (each loop's body is exactly the next loop).
fn visit<'a>(
    file: &File,
    f: &'a Function,
    stmts: &'a [Stmt],
    chain: &[(&'a Stmt, &'a Loop)],
    out: &mut Reports,
) {
    let chain: &[(&Stmt, &Loop)] = if stmts.len() == 1 { chain } else { &[] };
    for s in stmts {
        match &s.kind {
            StmtKind::Loop(l) => {
                check_loop(file, f, s, l, chain, out);
                let mut inner = chain.to_vec();
                inner.push((s, l));
                visit(file, f, &l.body, &inner, out);
            }
            _ => {
                for c in s.children() {
                    visit(file, f, std::slice::from_ref(c), &[], out);
                }
            }
        }
    }
}

/// The product found in one body statement.
struct RowProduct<'a> {
    stmt: &'a Stmt,
    target: String,
    /// The target's indices (empty for `append`).
    target_idx: Vec<Expr>,
    x: Access,
    /// The matrix operand as written (`W`, `W.T`, `self.w`).
    w: &'a Expr,
    /// `out[r] = W @ X[r]` rather than `X[r] @ W`.
    w_first: bool,
    /// `op=` of the store (`+=` accumulates into `out`).
    accumulate: bool,
}

fn check_loop<'a>(
    file: &File,
    f: &'a Function,
    stmt: &'a Stmt,
    l: &'a Loop,
    chain: &[(&'a Stmt, &'a Loop)],
    out: &mut Reports,
) {
    let extent = l.extent();
    if file.eval(&extent).is_some_and(|n| n <= 1) {
        return;
    }
    let is_array = |n: &str| f.is_array(n);
    for s in &l.body {
        let Some(rp) = match_stmt(s, &l.var, &is_array) else {
            continue;
        };
        if is_vector_product(f, &rp) {
            continue;
        }
        // Fold perfectly nested outer loops that index X and out alike.
        let mut loops: Vec<(&Stmt, &Loop)> = vec![(stmt, l)];
        for &(ps, pl) in chain.iter().rev() {
            let p = &pl.var;
            let in_target = rp.target_idx.iter().any(|e| e.mentions(p));
            let in_x = rp.x.idx.iter().any(|e| e.mentions(p));
            if in_target && in_x && !rp.w.mentions(p) {
                loops.insert(0, (ps, pl));
            } else {
                break;
            }
        }
        if let Some(x) = finding(file, f, &loops, &rp) {
            out.push(x);
        }
    }
}

/// Matches `out[.., r, ..] (=|+=) ... X[.., r, ..] @ W ...` or
/// `out.append(... X[r] @ W ...)` with `r` the loop variable.
fn match_stmt<'a>(s: &'a Stmt, r: &str, is_array: &dyn Fn(&str) -> bool) -> Option<RowProduct<'a>> {
    let (target, target_idx, value, accumulate) = match &s.kind {
        StmtKind::Assign { target, op, value } => {
            let accumulate = match op {
                AssignOp::Set => false,
                AssignOp::Add => true,
                _ => return None,
            };
            let acc = Access::of(target, is_array)?;
            if !row_indexed(&acc.idx, r) {
                return None;
            }
            (acc.base, acc.idx, value, accumulate)
        }
        StmtKind::Expr(Expr::Call {
            func, recv, args, ..
        }) if func == "append" && args.len() == 1 => {
            let Some(Expr::Var(t)) = recv.as_deref() else {
                return None;
            };
            (t.clone(), Vec::new(), &args[0], false)
        }
        _ => return None,
    };
    // A recurrence (the loop reads what it writes) cannot be batched.
    if value.mentions(&target) {
        return None;
    }
    let mut found = None;
    visit_matmuls(value, &mut |a, b| {
        if found.is_some() {
            return;
        }
        for (row, w, w_first) in [(a, b, false), (b, a, true)] {
            if w.mentions(r) {
                continue;
            }
            let Some(x) = Access::of(row, is_array) else {
                continue;
            };
            if x.base == target || !row_indexed(&x.idx, r) {
                continue;
            }
            found = Some((x, w, w_first));
            return;
        }
    });
    let (x, w, w_first) = found?;
    Some(RowProduct {
        stmt: s,
        target,
        target_idx,
        x,
        w,
        w_first,
        accumulate,
    })
}

/// Calls `f(a, b)` for every `a @ b` inside `e`, outermost first.
fn visit_matmuls<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr, &'a Expr)) {
    match e {
        Expr::MatMul(a, b) => {
            f(a, b);
            visit_matmuls(a, f);
            visit_matmuls(b, f);
        }
        Expr::Index { base, idx } => {
            visit_matmuls(base, f);
            idx.iter().for_each(|i| visit_matmuls(i, f));
        }
        Expr::Unary(_, a) | Expr::Transpose(a) => visit_matmuls(a, f),
        Expr::Binary(_, a, b) => {
            visit_matmuls(a, f);
            visit_matmuls(b, f);
        }
        Expr::Call {
            func,
            recv,
            args,
            kwargs,
        } => {
            // Spellings the front end may leave as calls: `x.dot(W)`,
            // `x.matmul(W)`, `np.dot(x, W)`.
            match (recv.as_deref(), func.as_str(), args.as_slice()) {
                (Some(a), "dot" | "matmul" | "mm", [b]) => f(a, b),
                (
                    None,
                    "np.dot" | "np.matmul" | "numpy.dot" | "torch.matmul" | "torch.mm",
                    [a, b],
                ) => f(a, b),
                _ => {}
            }
            if let Some(r) = recv {
                visit_matmuls(r, f);
            }
            args.iter()
                .chain(kwargs.iter().map(|(_, v)| v))
                .for_each(|a| visit_matmuls(a, f));
        }
        _ => {}
    }
}

/// One index is exactly `r` and no other index mentions `r`.
fn row_indexed(idx: &[Expr], r: &str) -> bool {
    let exact = idx
        .iter()
        .filter(|e| matches!(e, Expr::Var(v) if v == r))
        .count();
    let mentions = idx.iter().filter(|e| e.mentions(r)).count();
    exact == 1 && mentions == 1
}

/// Whether a declaration's rank says what one element is: NumPy/PyTorch
/// arrays, and lists known to hold floats. A Python list of unknown
/// elements (`res = [None] * n`) may hold rows, so its rank says nothing.
fn rank_trusted(i: &VarInfo) -> bool {
    i.rank > 0 && (i.ndarray || i.elem == Some(ElemType::PyFloat))
}

/// The rank of what an expression denotes, where the declarations say:
/// `W` (rank of W), `W.T` (same), `W[j]` (rank − 1).
fn rank_of(f: &Function, e: &Expr) -> Option<usize> {
    match e {
        Expr::Var(n) => f.vars.get(n).filter(|i| rank_trusted(i)).map(|i| i.rank),
        Expr::Transpose(a) => rank_of(f, a),
        Expr::Index { .. } => {
            let acc = Access::of(e, &|n| f.is_array(n))?;
            let base = f.vars.get(&acc.base).filter(|i| rank_trusted(i))?.rank;
            let scalar_idx = acc
                .idx
                .iter()
                .filter(|i| !matches!(i, Expr::Other(_)))
                .count();
            base.checked_sub(scalar_idx)
        }
        _ => None,
    }
}

/// True when the per-row product is known to be a dot product or scalar
/// result (a GEMV overall, or less).
fn is_vector_product(f: &Function, rp: &RowProduct<'_>) -> bool {
    let x_rank = f
        .vars
        .get(&rp.x.base)
        .filter(|i| rank_trusted(i))
        .map(|i| i.rank.saturating_sub(scalar_indices(&rp.x.idx)));
    if x_rank == Some(0) {
        return true;
    }
    if rank_of(f, rp.w) == Some(1) {
        return true;
    }
    // out[r] is a scalar slot: each product is a scalar.
    if !rp.target_idx.is_empty() {
        if let Some(info) = f.vars.get(&rp.target).filter(|i| rank_trusted(i)) {
            if info.rank <= scalar_indices(&rp.target_idx) {
                return true;
            }
        }
    }
    false
}

fn scalar_indices(idx: &[Expr]) -> usize {
    idx.iter().filter(|i| !matches!(i, Expr::Other(_))).count()
}

fn dim(file: &File, e: &Expr) -> Dim {
    Dim::of(file, e)
}

/// The declared shape of a plain variable operand.
fn shape_of<'f>(f: &'f Function, e: &Expr) -> Option<&'f [Expr]> {
    let Expr::Var(n) = e else { return None };
    let info = f.vars.get(n)?;
    (!info.shape.is_empty() && info.shape.len() == info.rank.max(info.shape.len()))
        .then_some(info.shape.as_slice())
}

fn elem_of(f: &Function, name: &str) -> Option<ElemType> {
    f.vars.get(name).and_then(|i| i.elem.clone())
}

/// How the loops index the row operand `X`: its leading indices are the
/// loops in order (`X[r]`, `X[b, r]`, `X[r, :]`: the rows of `X`), or `X` is
/// 2-D and the loop picks its columns (`X[:, c]`: the rows of `Xᵀ`).
/// `None` for any other indexing (a fixed index or a slice before the
/// loop's), where `X @ W` would not be the same product.
fn row_form(loops: &[(&Stmt, &Loop)], idx: &[Expr]) -> Option<bool> {
    let slice = |e: &Expr| matches!(e, Expr::Other(s) if s == ":");
    let lead = idx.len() >= loops.len()
        && loops
            .iter()
            .zip(idx)
            .all(|((_, l), e)| matches!(e, Expr::Var(v) if *v == l.var))
        && idx[loops.len()..].iter().all(slice);
    if lead {
        return Some(false);
    }
    match (loops, idx) {
        ([(_, l)], [a, Expr::Var(v)]) if slice(a) && *v == l.var => Some(true),
        _ => None,
    }
}

fn finding(
    file: &File,
    f: &Function,
    loops: &[(&Stmt, &Loop)],
    rp: &RowProduct<'_>,
) -> Option<Finding> {
    let columns = row_form(loops, &rp.x.idx)?;
    // M: the product of the folded loop extents.
    let mut m_expr: Option<Expr> = None;
    for (_, l) in loops {
        let e = l.extent();
        m_expr = Some(match m_expr {
            None => e,
            Some(acc) => Expr::bin(BinOp::Mul, acc, e),
        });
    }
    let m_expr = m_expr.expect("at least one loop");

    // K and N from the declared shapes of X and W.
    let (w_plain, w_transposed) = match rp.w {
        Expr::Transpose(inner) => (inner.as_ref(), true),
        other => (other, false),
    };
    let x_shape = shape_of(f, &Expr::Var(rp.x.base.clone()));
    let w_shape = shape_of(f, w_plain).filter(|s| s.len() >= 2);
    // As stored, W is rows×cols; logically the product is X·B with B K×N.
    // `X[r] @ W` → B = W; `X[r] @ W.T` → B = Wᵀ; `W @ X[r]` → B = Wᵀ;
    // `W.T @ X[r]` → B = W.
    let b_is_w_transposed = rp.w_first != w_transposed;
    let (mut k, mut n) = (None, None);
    if let Some(ws) = w_shape {
        let (rows, cols) = (&ws[ws.len() - 2], &ws[ws.len() - 1]);
        if b_is_w_transposed {
            k = Some(dim(file, cols));
            n = Some(dim(file, rows));
        } else {
            k = Some(dim(file, rows));
            n = Some(dim(file, cols));
        }
    }
    if k.is_none() {
        if let Some(xs) = x_shape.filter(|s| s.len() > scalar_indices(&rp.x.idx)) {
            // `X[:, c]` runs down a column: its length is X's first extent.
            k = if columns { xs.first() } else { xs.last() }.map(|e| dim(file, e));
        }
    }
    let dims = Dims {
        m: Some(dim(file, &m_expr)),
        n,
        k,
        batch: None,
    };

    let dtype = elem_of(f, &rp.x.base)
        .or_else(|| match w_plain {
            Expr::Var(n) => elem_of(f, n),
            _ => None,
        })
        .or_else(|| elem_of(f, &rp.target));

    let w_name = w_plain.to_string();
    let layouts = vec![
        OperandLayout {
            role: "C".into(),
            name: rp.target.clone(),
            major: Major::Row,
            ld: None,
            jagged: false,
        },
        OperandLayout {
            role: "A".into(),
            name: rp.x.base.clone(),
            major: if columns { Major::Col } else { Major::Row },
            ld: None,
            jagged: false,
        },
        OperandLayout {
            role: "B".into(),
            name: w_name.clone(),
            major: if b_is_w_transposed {
                Major::Col
            } else {
                Major::Row
            },
            ld: None,
            jagged: false,
        },
    ];

    // Confidence: how much the declarations confirm that this is matrix × matrix.
    let x_known = f.vars.get(&rp.x.base).is_some_and(|i| i.rank >= 2);
    let w_known = rank_of(f, rp.w).is_some_and(|r| r >= 2);
    let confidence = match (x_known, w_known) {
        (true, true) => 0.9,
        (true, false) | (false, true) => 0.75,
        (false, false) => 0.6,
    };

    let (first_stmt, first_loop) = loops[0];
    let r = loops.last().map(|(_, l)| l.var.as_str()).unwrap_or("r");
    let row = if columns {
        format!("{}[:, {r}]", rp.x.base)
    } else {
        format!("{}[{r}]", rp.x.base)
    };
    // The whole operand: `X`, or `X.T` when the loop takes its columns.
    let xs = if columns {
        format!("{}.T", rp.x.base)
    } else {
        rp.x.base.clone()
    };
    let product = if rp.w_first {
        format!("{} @ {row}", rp.w)
    } else {
        format!("{row} @ {}", rp.w)
    };
    let whole = match (rp.w_first, w_transposed) {
        (false, _) => format!("{xs} @ {}", rp.w),
        (true, false) => format!("{xs} @ {}.T", w_name),
        (true, true) => format!("{xs} @ {}", w_name),
    };
    let store = if rp.target_idx.is_empty() {
        format!("{}.append(...)", rp.target)
    } else if rp.accumulate {
        format!("{} += ...", rp.target)
    } else {
        format!("{} = ...", rp.target)
    };
    let why = format!(
        "loop over `{}` stores `{product}` into `{}` row by row ({store}); `{w_name}` does not depend on the loop{}",
        first_loop.var,
        rp.target,
        if loops.len() > 1 {
            format!(", and {} perfectly nested loops index X and the output alike", loops.len())
        } else {
            String::new()
        }
    );
    let dtype_txt = dtype
        .as_ref()
        .map(|t| format!(" {}", t.short()))
        .unwrap_or_default();
    let message = format!(
        "row-at-a-time product: {} vector–matrix calls `{product}` are one GEMM {}{dtype_txt}; \
         compute `{}{whole}` in one call (BLAS reuses `{w_name}` from cache across rows and runs multithreaded)",
        dims.m.as_ref().map(Dim::display).unwrap_or_default(),
        dims.display(),
        if rp.accumulate {
            format!("{} += ", rp.target)
        } else {
            format!("{} = ", rp.target)
        },
    );

    Some(Finding {
        code: RowProductLoop::META.code,
        rule: RowProductLoop::META.name,
        idiom: Idiom::Gemm,
        routine: Routine::Gemm,
        backend: Backend::PythonLibrary,
        range: first_stmt.span.cover(rp.stmt.span),
        key_range: rp.stmt.span,
        function: Some(f.name.clone()),
        dims,
        dtype,
        layouts,
        loop_order: Some("i".repeat(loops.len())),
        alpha: None,
        beta: rp.accumulate.then(|| "1".to_string()),
        confidence,
        why,
        message,
        purpose: None,
        parallel: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil_lib::*;
    use crate::ir::{ElemType, Lang};

    fn run401(f: Function, consts: &[(&str, i64)]) -> Vec<Finding> {
        run(&RowProductLoop, &file(Lang::Python, vec![f], consts), "")
    }

    /// X = np.random.rand(N, K).astype(np.float32); W = ...(K, P); out = np.zeros((N, P))
    fn module_vars() -> Vec<(&'static str, crate::ir::VarInfo)> {
        vec![
            ("X", nd(Some(ElemType::F32), vec![v("N"), v("K")])),
            ("W", nd(Some(ElemType::F32), vec![v("K"), v("P")])),
            ("out", nd(Some(ElemType::F32), vec![v("N"), v("P")])),
        ]
    }

    const CONSTS: &[(&str, i64)] = &[("N", 512), ("K", 256), ("P", 128)];

    #[test]
    fn dot_row_loop_is_one_gemm() {
        // for r in range(N):
        //     out[r] = np.dot(X[r], W)
        let f = module(
            module_vars(),
            vec![for_range(
                5,
                "r",
                v("N"),
                vec![set(6, at("out", &["r"]), mm(at("X", &["r"]), v("W")))],
            )],
        );
        let got = run401(f, CONSTS);
        assert_eq!(got.len(), 1, "{got:#?}");
        let g = &got[0];
        assert_eq!(g.code, "GS401");
        assert_eq!(g.rule, "row-product-loop");
        assert_eq!(g.routine, Routine::Gemm);
        assert_eq!(g.backend, Backend::PythonLibrary);
        assert_eq!(dims_str(g), "512x128x256");
        assert_eq!(g.dims.m.as_ref().unwrap().expr, "N");
        assert_eq!(g.dtype, Some(ElemType::F32));
        assert_eq!(g.range.start_line, 5);
        assert_eq!(g.range.end_line, 6);
        assert_eq!(g.key_range.start_line, 6);
        assert_eq!(g.function.as_deref(), Some("<module>"));
        assert_eq!(g.loop_order.as_deref(), Some("i"));
        assert!(g.confidence >= 0.85);
        assert_eq!(g.layouts.len(), 3);
        assert_eq!(g.layouts[2].name, "W");
        assert_eq!(g.layouts[2].major, Major::Row);
        assert!(g.message.contains("out = X @ W"), "{}", g.message);
    }

    #[test]
    fn method_dot_spelling() {
        // out[r] = X[r].dot(W)   (left as a method call by the front end)
        let f = module(
            module_vars(),
            vec![for_range(
                5,
                "r",
                v("N"),
                vec![set(
                    6,
                    at("out", &["r"]),
                    method(at("X", &["r"]), "dot", vec![v("W")]),
                )],
            )],
        );
        let got = run401(f, CONSTS);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(dims_str(&got[0]), "512x128x256");
    }

    #[test]
    fn slice_target_and_transposed_weight() {
        // out[r, :] = X[r, :] @ Wt.T   with Wt of shape (P, K)
        let mut vars = module_vars();
        vars.push(("Wt", nd(Some(ElemType::F32), vec![v("P"), v("K")])));
        let f = module(
            vars,
            vec![for_range(
                3,
                "r",
                v("N"),
                vec![set(
                    4,
                    idx(v("out"), vec![v("r"), colon()]),
                    mm(idx(v("X"), vec![v("r"), colon()]), tr(v("Wt"))),
                )],
            )],
        );
        let got = run401(f, CONSTS);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(dims_str(&got[0]), "512x128x256");
        assert_eq!(got[0].layouts[2].major, Major::Col);
    }

    #[test]
    fn weight_first_product_is_x_times_w_transposed() {
        // out[r] = W2 @ X[r]  with W2 (P, K): out = X @ W2.T
        let mut vars = module_vars();
        vars.push(("W2", nd(Some(ElemType::F64), vec![v("P"), v("K")])));
        let f = module(
            vars,
            vec![for_range(
                3,
                "r",
                v("N"),
                vec![set(4, at("out", &["r"]), mm(v("W2"), at("X", &["r"])))],
            )],
        );
        let got = run401(f, CONSTS);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(dims_str(&got[0]), "512x128x256");
        assert_eq!(got[0].layouts[2].major, Major::Col);
        assert!(got[0].message.contains("X @ W2.T"), "{}", got[0].message);
    }

    #[test]
    fn append_in_for_each_loop() {
        // def project(X, W):            (parameters: nothing known)
        //     res = []
        //     for x in X:               → for __i in range(len(X)): x = X[__i] (substituted)
        //         res.append(np.dot(x, W))
        let f = func(
            "project",
            crate::ir::FnKind::Python,
            vec![("X", unknown()), ("W", unknown()), ("res", unknown())],
            vec![
                let_(2, "res", call("list", vec![])),
                for_range(
                    3,
                    "__i_x",
                    call("len", vec![v("X")]),
                    vec![expr(
                        4,
                        method(v("res"), "append", vec![mm(at("X", &["__i_x"]), v("W"))]),
                    )],
                ),
            ],
        );
        let got = run401(f, &[]);
        assert_eq!(got.len(), 1, "{got:#?}");
        let g = &got[0];
        assert_eq!(g.dims.m.as_ref().unwrap().expr, "len(X)");
        assert_eq!(g.dims.m.as_ref().unwrap().value, None);
        assert_eq!(g.function.as_deref(), Some("project"));
        assert!(g.confidence < 0.7);
        assert!(g.why.contains("append"), "{}", g.why);
    }

    #[test]
    fn list_comprehension_lowered_as_loop() {
        // Y = [x @ W for x in X]  →  Loop __i_x (0..N) { Y[__i_x] = X[__i_x] @ W }, one span
        let mut vars = module_vars();
        vars.push(("Y", unknown()));
        let f = module(
            vars,
            vec![comp_loop(
                7,
                "__i_x",
                v("N"),
                vec![set(7, at("Y", &["__i_x"]), mm(at("X", &["__i_x"]), v("W")))],
            )],
        );
        let got = run401(f, CONSTS);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].range.start_line, 7);
        assert_eq!(dims_str(&got[0]), "512x128x256");
    }

    #[test]
    fn bias_and_activation_around_the_product() {
        // out[r] = np.maximum(X[r] @ W + b, 0)
        let f = module(
            module_vars(),
            vec![for_range(
                3,
                "r",
                v("N"),
                vec![set(
                    4,
                    at("out", &["r"]),
                    call(
                        "np.maximum",
                        vec![add(mm(at("X", &["r"]), v("W")), v("b")), int(0)],
                    ),
                )],
            )],
        );
        assert_eq!(run401(f, CONSTS).len(), 1);
    }

    #[test]
    fn perfect_outer_loop_folds_into_m() {
        // for b in range(B):
        //     for r in range(N):
        //         out3[b, r] = X3[b, r] @ W
        let vars = vec![
            ("X3", nd(Some(ElemType::F32), vec![v("B"), v("N"), v("K")])),
            ("W", nd(Some(ElemType::F32), vec![v("K"), v("P")])),
            (
                "out3",
                nd(Some(ElemType::F32), vec![v("B"), v("N"), v("P")]),
            ),
        ];
        let f = module(
            vars,
            vec![for_range(
                2,
                "b",
                v("B"),
                vec![for_range(
                    3,
                    "r",
                    v("N"),
                    vec![set(
                        4,
                        at("out3", &["b", "r"]),
                        mm(at("X3", &["b", "r"]), v("W")),
                    )],
                )],
            )],
        );
        let got = run401(f, &[("B", 4), ("N", 512), ("K", 256), ("P", 128)]);
        assert_eq!(got.len(), 1, "{got:#?}");
        let g = &got[0];
        assert_eq!(g.range.start_line, 2);
        assert_eq!(g.dims.m.as_ref().unwrap().expr, "B*N");
        assert_eq!(dims_str(g), "2048x128x256");
        assert_eq!(g.loop_order.as_deref(), Some("ii"));
    }

    #[test]
    fn weight_indexed_by_loop_var_is_not_flagged() {
        // out[r] = X[r] @ Ws[r]  (a different matrix per row: batched, not one GEMM)
        let mut vars = module_vars();
        vars.push(("Ws", nd(Some(ElemType::F32), vec![v("N"), v("K"), v("P")])));
        let f = module(
            vars,
            vec![for_range(
                3,
                "r",
                v("N"),
                vec![set(
                    4,
                    at("out", &["r"]),
                    mm(at("X", &["r"]), at("Ws", &["r"])),
                )],
            )],
        );
        assert!(run401(f, CONSTS).is_empty());
    }

    #[test]
    fn vector_dot_into_scalar_is_not_flagged() {
        // y = np.zeros(N); w = np.random.rand(K)
        // for r in range(N): y[r] = np.dot(X[r], w)      (GEMV at most)
        let mut vars = module_vars();
        vars.push(("y", nd(Some(ElemType::F32), vec![v("N")])));
        vars.push(("w", nd(Some(ElemType::F32), vec![v("K")])));
        let body = |w: &str| {
            vec![for_range(
                3,
                "r",
                v("N"),
                vec![set(4, at("y", &["r"]), mm(at("X", &["r"]), v(w)))],
            )]
        };
        assert!(run401(module(vars.clone(), body("w")), CONSTS).is_empty());
        // Even with a matrix W, a rank-1 output slot means a scalar per row.
        assert!(run401(module(vars, body("W")), CONSTS).is_empty());
    }

    #[test]
    fn row_dot_row_is_not_flagged() {
        // s[r] = np.dot(X[r], Z[r])   (both operands depend on r)
        let mut vars = module_vars();
        vars.push(("Z", nd(Some(ElemType::F32), vec![v("N"), v("K")])));
        let f = module(
            vars,
            vec![for_range(
                3,
                "r",
                v("N"),
                vec![set(
                    4,
                    at("out", &["r"]),
                    mm(at("X", &["r"]), at("Z", &["r"])),
                )],
            )],
        );
        assert!(run401(f, CONSTS).is_empty());
    }

    #[test]
    fn scalar_row_of_a_vector_is_not_flagged() {
        // v1 = np.zeros(N); out[r] = v1[r] @ W → v1[r] is a scalar
        let mut vars = module_vars();
        vars.push(("v1", nd(Some(ElemType::F32), vec![v("N")])));
        let f = module(
            vars,
            vec![for_range(
                3,
                "r",
                v("N"),
                vec![set(4, at("out", &["r"]), mm(at("v1", &["r"]), v("W")))],
            )],
        );
        assert!(run401(f, CONSTS).is_empty());
    }

    #[test]
    fn list_of_rows_target_is_flagged() {
        // rows = [None] * N ; rows[r] = X[r] @ W   (a rank-1 list of unknown elements)
        let mut vars = module_vars();
        vars.push((
            "rows",
            crate::ir::VarInfo {
                rank: 1,
                is_array: true,
                ..Default::default()
            },
        ));
        let f = module(
            vars,
            vec![for_range(
                3,
                "r",
                v("N"),
                vec![set(4, at("rows", &["r"]), mm(at("X", &["r"]), v("W")))],
            )],
        );
        assert_eq!(run401(f, CONSTS).len(), 1);
    }

    #[test]
    fn single_row_loop_is_not_flagged() {
        let f = module(
            module_vars(),
            vec![for_range(
                3,
                "r",
                int(1),
                vec![set(4, at("out", &["r"]), mm(at("X", &["r"]), v("W")))],
            )],
        );
        assert!(run401(f, CONSTS).is_empty());
    }

    #[test]
    fn recurrence_is_not_flagged() {
        // h[t] = np.tanh(X[t] @ W + h[t-1] @ U)  reads what it writes
        let f = module(
            module_vars(),
            vec![for_range(
                3,
                "t",
                v("N"),
                vec![set(
                    4,
                    at("out", &["t"]),
                    call(
                        "np.tanh",
                        vec![add(
                            mm(at("X", &["t"]), v("W")),
                            mm(idx(v("out"), vec![sub(v("t"), int(1))]), v("U")),
                        )],
                    ),
                )],
            )],
        );
        assert!(run401(f, CONSTS).is_empty());
    }

    #[test]
    fn non_python_files_are_ignored() {
        let f = module(
            module_vars(),
            vec![for_range(
                3,
                "r",
                v("N"),
                vec![set(4, at("out", &["r"]), mm(at("X", &["r"]), v("W")))],
            )],
        );
        assert!(run(&RowProductLoop, &file(Lang::C, vec![f], CONSTS), "").is_empty());
    }
}
