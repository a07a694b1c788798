//! Expressions: names, literals, attribute chains, subscripts, calls,
//! operators, `len`/`.shape` resolution, MatMul and Transpose forms.

use tree_sitter::Node;

use super::{named, Bind, Ctx, Lowerer, MAX_DEPTH};
use crate::ir::{AssignOp, BinOp, Expr, Loop, LoopKind, Stmt, StmtKind, UnOp};

/// Whole-array products, by resolved name.
/// Functions that are a plain dot product on two 1-D arrays.
const DOT_FNS: &[&str] = &[
    "numpy.dot",
    "numpy.inner",
    "numpy.vdot",
    "numpy.matmul",
    "torch.dot",
    "torch.inner",
    "torch.matmul",
    "cupy.dot",
    "jax.numpy.dot",
];

/// A 1-D view of an array: its length, its element `k`, and whether it is
/// known to be 1-D.
struct View {
    len: Expr,
    at: Box<dyn Fn(Expr) -> Expr>,
    certain: bool,
}

const MATMUL_FNS: &[&str] = &[
    "numpy.dot",
    "numpy.matmul",
    "torch.matmul",
    "torch.mm",
    "torch.bmm",
    "cupy.dot",
    "cupy.matmul",
    "jax.numpy.dot",
    "jax.numpy.matmul",
];

impl<'a> Lowerer<'a> {
    /// Lowers an expression (with the recursion guard).
    pub(super) fn expr(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Expr {
        if cx.depth >= MAX_DEPTH {
            return Expr::Other("...".into());
        }
        cx.depth += 1;
        let e = self.expr_inner(cx, n);
        cx.depth -= 1;
        e
    }

    fn other(&self, n: Node<'_>) -> Expr {
        Expr::Other(self.text(n).to_string())
    }

    fn expr_inner(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Expr {
        match n.kind() {
            "identifier" => {
                let name = self.text(n);
                match cx.bind(name) {
                    Some(Bind::Elem(e)) => e.clone(),
                    // A whole column, as NumPy writes it: `B[:, j]`.
                    Some(Bind::Column { base, j }) => Expr::Index {
                        base: Box::new(base.clone()),
                        idx: vec![Expr::Other(":".into()), j.clone()],
                    },
                    _ => Expr::Var(name.to_string()),
                }
            }
            "integer" => parse_int(self.text(n)).map_or_else(|| self.other(n), Expr::Int),
            "float" => {
                let t = self.text(n).replace('_', "");
                match t.parse::<f64>() {
                    Ok(v) => Expr::Float(v),
                    Err(_) => self.other(n),
                }
            }
            "string" | "concatenated_string" => self.string(n),
            "attribute" => self.attribute(cx, n),
            "subscript" => self.subscript(cx, n),
            "call" => self.call(cx, n),
            "binary_operator" => {
                let (Some(l), Some(r), Some(op)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                    n.child_by_field_name("operator"),
                ) else {
                    return self.other(n);
                };
                let op = match self.text(op) {
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "*" => BinOp::Mul,
                    "/" => BinOp::Div,
                    "//" => BinOp::FloorDiv,
                    "%" => BinOp::Rem,
                    "**" => BinOp::Pow,
                    "<<" => BinOp::Shl,
                    ">>" => BinOp::Shr,
                    "&" => BinOp::BitAnd,
                    "|" => BinOp::BitOr,
                    "^" => BinOp::BitXor,
                    "@" => {
                        let (a, b) = (self.expr(cx, l), self.expr(cx, r));
                        if let Some(acc) = self.scalar_dot(cx, &a, &b) {
                            return acc;
                        }
                        return Expr::MatMul(Box::new(a), Box::new(b));
                    }
                    _ => return self.other(n),
                };
                let (a, b) = (self.expr(cx, l), self.expr(cx, r));
                Expr::bin(op, a, b)
            }
            "unary_operator" => {
                let Some(a) = n.child_by_field_name("argument") else {
                    return self.other(n);
                };
                match n.child_by_field_name("operator").map(|o| self.text(o)) {
                    Some("-") => match self.expr(cx, a) {
                        Expr::Int(v) if v != i64::MIN => Expr::Int(-v),
                        Expr::Float(v) => Expr::Float(-v),
                        e => Expr::Unary(UnOp::Neg, Box::new(e)),
                    },
                    Some("+") => self.expr(cx, a),
                    _ => self.other(n),
                }
            }
            "not_operator" => match n.child_by_field_name("argument") {
                Some(a) => Expr::Unary(UnOp::Not, Box::new(self.expr(cx, a))),
                None => self.other(n),
            },
            "boolean_operator" => {
                let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) else {
                    return self.other(n);
                };
                let op = match n.child_by_field_name("operator").map(|o| self.text(o)) {
                    Some("and") => BinOp::And,
                    Some("or") => BinOp::Or,
                    _ => return self.other(n),
                };
                let (a, b) = (self.expr(cx, l), self.expr(cx, r));
                Expr::bin(op, a, b)
            }
            "comparison_operator" => self.comparison(cx, n),
            "parenthesized_expression" => {
                let k = named(n);
                if k.len() == 1 {
                    self.expr(cx, k[0])
                } else {
                    self.other(n)
                }
            }
            "await" => match named(n).first() {
                Some(c) => self.expr(cx, *c),
                None => self.other(n),
            },
            "named_expression" => match n.child_by_field_name("value") {
                Some(v) => self.expr(cx, v),
                None => self.other(n),
            },
            "list_comprehension" => self.comp_expr(cx, n),
            _ => self.other(n),
        }
    }

    fn string(&self, n: Node<'a>) -> Expr {
        let parts = if n.kind() == "concatenated_string" {
            named(n)
        } else {
            vec![n]
        };
        let mut s = String::new();
        for p in parts {
            for c in named(p) {
                match c.kind() {
                    "string_content" => s.push_str(self.text(c)),
                    "string_start" | "string_end" => {}
                    _ => return self.other(n),
                }
            }
        }
        Expr::Str(s)
    }

    fn comparison(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Expr {
        let mut w = n.walk();
        let mut operands = Vec::new();
        let mut ops: Vec<String> = Vec::new();
        let mut last_was_op = false;
        for c in n.children(&mut w) {
            if c.kind() == "comment" {
                continue;
            }
            if c.is_named() {
                operands.push(c);
                last_was_op = false;
            } else {
                let t = self.text(c).to_string();
                if last_was_op {
                    if let Some(o) = ops.last_mut() {
                        o.push(' ');
                        o.push_str(&t);
                    }
                } else {
                    ops.push(t);
                }
                last_was_op = true;
            }
        }
        if operands.len() != ops.len() + 1 || ops.is_empty() {
            return self.other(n);
        }
        let mut bops = Vec::new();
        for o in &ops {
            bops.push(match o.as_str() {
                "<" => BinOp::Lt,
                "<=" => BinOp::Le,
                ">" => BinOp::Gt,
                ">=" => BinOp::Ge,
                "==" => BinOp::Eq,
                "!=" => BinOp::Ne,
                _ => return self.other(n),
            });
        }
        let vals: Vec<Expr> = operands.iter().map(|o| self.expr(cx, *o)).collect();
        let mut out: Option<Expr> = None;
        for (k, op) in bops.into_iter().enumerate() {
            let c = Expr::bin(op, vals[k].clone(), vals[k + 1].clone());
            out = Some(match out {
                None => c,
                Some(acc) => Expr::bin(BinOp::And, acc, c),
            });
        }
        out.unwrap_or_else(|| self.other(n))
    }

    /// `a.b.c` as a dotted name if the chain is made of identifiers only.
    pub(super) fn dotted(&self, n: Node<'a>) -> Option<String> {
        let mut parts = Vec::new();
        let mut cur = n;
        for _ in 0..4096 {
            match cur.kind() {
                "identifier" => {
                    parts.push(self.text(cur));
                    parts.reverse();
                    return Some(parts.join("."));
                }
                "attribute" => {
                    parts.push(self.text(cur.child_by_field_name("attribute")?));
                    cur = cur.child_by_field_name("object")?;
                }
                _ => return None,
            }
        }
        None
    }

    fn attribute(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Expr {
        let (Some(obj), Some(attr)) = (
            n.child_by_field_name("object"),
            n.child_by_field_name("attribute"),
        ) else {
            return self.other(n);
        };
        let attr = self.text(attr);
        if attr == "T" || attr == "mT" {
            return Expr::Transpose(Box::new(self.expr(cx, obj)));
        }
        match self.expr(cx, obj) {
            Expr::Var(v) => Expr::Var(format!("{v}.{attr}")),
            _ => self.other(n),
        }
    }

    fn subscript(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Expr {
        let Some(value) = n.child_by_field_name("value") else {
            return self.other(n);
        };
        let mut w = n.walk();
        let subs: Vec<Node<'a>> = n
            .children_by_field_name("subscript", &mut w)
            .filter(|c| c.kind() != "comment")
            .collect();
        // `A.shape[d]`
        if value.kind() == "attribute"
            && value.child_by_field_name("attribute").map(|a| self.text(a)) == Some("shape")
            && subs.len() == 1
        {
            if let (Some(obj), Some(d)) = (
                value.child_by_field_name("object"),
                self.int_literal(subs[0]),
            ) {
                return self.shape_dim(cx, obj, d);
            }
        }
        // `col[e]` with `col` a column of `B` → `B[e][j]`.
        if value.kind() == "identifier" && subs.len() == 1 {
            if let Some(Bind::Column { base, j }) = cx.bind(self.text(value)).cloned() {
                let e = self.expr(cx, subs[0]);
                return Expr::Index {
                    base: Box::new(Expr::Index {
                        base: Box::new(base),
                        idx: vec![e],
                    }),
                    idx: vec![j],
                };
            }
        }
        let base = self.expr(cx, value);
        let idx = subs
            .into_iter()
            .map(|s| {
                if s.kind() == "slice" {
                    self.other(s)
                } else {
                    self.expr(cx, s)
                }
            })
            .collect();
        Expr::Index {
            base: Box::new(base),
            idx,
        }
    }

    /// An integer literal, possibly negative.
    pub(super) fn int_literal(&self, n: Node<'a>) -> Option<i64> {
        let n = super::stmt::strip_parens(n);
        match n.kind() {
            "integer" => parse_int(self.text(n)),
            "unary_operator"
                if n.child_by_field_name("operator").map(|o| self.text(o)) == Some("-") =>
            {
                let a = n.child_by_field_name("argument")?;
                (a.kind() == "integer")
                    .then(|| parse_int(self.text(a)))??
                    .checked_neg()
            }
            _ => None,
        }
    }

    /// `obj.shape[d]`: the known extent, else `obj.shape[d]` as written.
    pub(super) fn shape_dim(&self, cx: &mut Ctx<'a>, obj: Node<'a>, d: i64) -> Expr {
        let o = self.expr(cx, obj);
        if let Some((base, levels)) = strip_index(&o) {
            let shape = self.known_shape(cx, base);
            let pos = if d < 0 {
                shape.len() as i64 + d
            } else {
                levels as i64 + d
            };
            if pos >= levels as i64 {
                if let Some(s) = usize::try_from(pos).ok().and_then(|p| shape.get(p)) {
                    return s.clone();
                }
            }
            if d >= 0 || levels == 0 {
                let idx = if d >= 0 { d + levels as i64 } else { d };
                return Expr::Index {
                    base: Box::new(Expr::Var(format!("{base}.shape"))),
                    idx: vec![Expr::Int(idx)],
                };
            }
        }
        Expr::Other(format!("{}.shape[{d}]", self.text(obj)))
    }

    /// `len(e)`: the known extent of the array `e` indexes into, else
    /// `len(A[0]...)` with the indices replaced by 0, else `len(e)`.
    pub(super) fn len_of(&self, cx: &Ctx<'a>, e: Expr) -> Expr {
        if let Some((base, levels)) = strip_index(&e) {
            if let Some(s) = self.known_shape(cx, base).get(levels) {
                return s.clone();
            }
            let mut arg = Expr::Var(base.to_string());
            for _ in 0..levels {
                arg = Expr::Index {
                    base: Box::new(arg),
                    idx: vec![Expr::Int(0)],
                };
            }
            return call("len", vec![arg]);
        }
        if let Expr::Transpose(inner) = &e {
            if let Some((base, 0)) = strip_index(inner) {
                if let Some(s) = self.known_shape(cx, base).get(1) {
                    return s.clone();
                }
            }
        }
        call("len", vec![e])
    }

    /// The declared extents of `base`, where they mean the same here: a
    /// module-level array's shape is not used inside a function whose own
    /// names (parameters, locals) it mentions.
    pub(super) fn known_shape(&self, cx: &Ctx<'a>, base: &str) -> Vec<Expr> {
        let Some(vi) = self.lookup(cx, base) else {
            return Vec::new();
        };
        let from_module = !cx.module && !cx.vars.contains_key(base);
        if from_module
            && vi.shape.iter().any(|e| {
                e.vars()
                    .iter()
                    .any(|n| cx.is_local(n) && !self.consts.contains_key(n))
            })
        {
            return Vec::new();
        }
        vi.shape.clone()
    }

    fn call(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Expr {
        let (Some(f), Some(args)) = (
            n.child_by_field_name("function"),
            n.child_by_field_name("arguments"),
        ) else {
            return self.other(n);
        };
        let (pos, kw): (Vec<Node<'a>>, Vec<Node<'a>>) = if args.kind() == "generator_expression" {
            (vec![args], Vec::new())
        } else {
            named(args)
                .into_iter()
                .partition(|c| c.kind() != "keyword_argument")
        };
        let fname = match f.kind() {
            "identifier" | "attribute" => self.dotted(f),
            _ => None,
        };
        // Builtins and reductions, before lowering the arguments.
        if let Some(name) = fname.as_deref() {
            let head = name.split('.').next().unwrap_or(name);
            let module_fn = name.contains('.') && self.is_module(cx, head);
            let builtin = !name.contains('.') && !cx.is_local(name);
            let resolved = self.resolve(name);
            if builtin && name == "len" && pos.len() == 1 && kw.is_empty() {
                return self.len_call(cx, pos[0]);
            }
            let is_sum = (builtin && name == "sum") || (module_fn && resolved == "math.fsum");
            if is_sum
                && !pos.is_empty()
                && matches!(pos[0].kind(), "generator_expression" | "list_comprehension")
            {
                if let Some(e) = self.reduction(cx, pos[0], pos.get(1).copied()) {
                    return e;
                }
            }
            if builtin
                && (name == "float" || name == "int")
                && pos.len() == 1
                && kw.is_empty()
                && pos[0].kind() != "string"
            {
                return self.expr(cx, pos[0]);
            }
            if module_fn
                && matches!(resolved.as_str(), "numpy.sum" | "torch.sum")
                && pos.len() == 1
                && kw.is_empty()
            {
                if let Some(acc) = self.window_dot(cx, pos[0]) {
                    return acc;
                }
            }
            if builtin || module_fn {
                let (a, k) = self.args(cx, &pos, &kw);
                if module_fn && k.is_empty() {
                    let dot = match (resolved.as_str(), a.as_slice()) {
                        (r, [x, y]) if DOT_FNS.contains(&r) => self.scalar_dot(cx, x, y),
                        ("numpy.sum" | "torch.sum", [Expr::Binary(BinOp::Mul, x, y)]) => {
                            self.scalar_dot(cx, x, y)
                        }
                        _ => None,
                    };
                    if let Some(acc) = dot {
                        return acc;
                    }
                }
                if let Some(e) = self.special_fn(cx, &resolved, &a, &k) {
                    return e;
                }
                return Expr::Call {
                    func: name.to_string(),
                    recv: None,
                    args: a,
                    kwargs: k,
                };
            }
        }
        if f.kind() == "attribute" {
            let (Some(obj), Some(attr)) = (
                f.child_by_field_name("object"),
                f.child_by_field_name("attribute"),
            ) else {
                return self.other(n);
            };
            let attr = self.text(attr);
            if attr == "sum" && pos.is_empty() && kw.is_empty() {
                if let Some(acc) = self.window_dot(cx, obj) {
                    return acc;
                }
            }
            let recv = self.expr(cx, obj);
            let (a, k) = self.args(cx, &pos, &kw);
            match attr {
                "dot" if a.len() == 1 && k.is_empty() => {
                    if let Some(acc) = self.scalar_dot(cx, &recv, &a[0]) {
                        return acc;
                    }
                    return Expr::MatMul(Box::new(recv), Box::new(a[0].clone()));
                }
                "sum" if a.is_empty() && k.is_empty() => {
                    if let Expr::Binary(BinOp::Mul, x, y) = &recv {
                        if let Some(acc) = self.scalar_dot(cx, x, y) {
                            return acc;
                        }
                    }
                }
                "dot" | "matmul" | "mm" | "bmm" if a.len() == 1 && k.is_empty() => {
                    return Expr::MatMul(Box::new(recv), Box::new(a[0].clone()));
                }
                "t" if a.is_empty() && k.is_empty() => return Expr::Transpose(Box::new(recv)),
                "transpose" | "swapaxes" | "swapdims"
                    if a.len() == 2 && self.last_two_axes(cx, &recv, &a[0], &a[1]) =>
                {
                    return Expr::Transpose(Box::new(recv));
                }
                _ => {}
            }
            return Expr::Call {
                func: attr.to_string(),
                recv: Some(Box::new(recv)),
                args: a,
                kwargs: k,
            };
        }
        let (a, k) = self.args(cx, &pos, &kw);
        Expr::Call {
            func: fname.unwrap_or_else(|| self.text(f).to_string()),
            recv: None,
            args: a,
            kwargs: k,
        }
    }

    fn args(
        &self,
        cx: &mut Ctx<'a>,
        pos: &[Node<'a>],
        kw: &[Node<'a>],
    ) -> (Vec<Expr>, Vec<(String, Expr)>) {
        let a = pos.iter().map(|p| self.expr(cx, *p)).collect();
        let k = kw
            .iter()
            .filter_map(|k| {
                let name = self.text(k.child_by_field_name("name")?).to_string();
                let v = self.expr(cx, k.child_by_field_name("value")?);
                Some((name, v))
            })
            .collect();
        (a, k)
    }

    /// MatMul and Transpose spelled as module functions.
    fn special_fn(
        &self,
        cx: &Ctx<'a>,
        resolved: &str,
        a: &[Expr],
        k: &[(String, Expr)],
    ) -> Option<Expr> {
        let last = resolved.rsplit('.').next().unwrap_or(resolved);
        let module = resolved
            .strip_suffix(last)
            .unwrap_or("")
            .trim_end_matches('.');
        let array_lib = matches!(module, "numpy" | "torch" | "cupy" | "jax.numpy");
        if MATMUL_FNS.contains(&resolved) && a.len() == 2 && k.iter().all(|(n, _)| n == "out") {
            return Some(Expr::MatMul(Box::new(a[0].clone()), Box::new(a[1].clone())));
        }
        if !array_lib {
            return None;
        }
        match last {
            "transpose"
                if module != "torch"
                    && a.len() == 1
                    && k.iter()
                        .all(|(_, v)| matches!(v, Expr::Other(s) if s == "None")) =>
            {
                Some(Expr::Transpose(Box::new(a[0].clone())))
            }
            "t" if module == "torch" && a.len() == 1 => {
                Some(Expr::Transpose(Box::new(a[0].clone())))
            }
            "transpose" | "swapaxes" | "swapdims"
                if a.len() == 3 && self.last_two_axes(cx, &a[0], &a[1], &a[2]) =>
            {
                Some(Expr::Transpose(Box::new(a[0].clone())))
            }
            "matrix_transpose" if a.len() == 1 => Some(Expr::Transpose(Box::new(a[0].clone()))),
            _ => None,
        }
    }

    /// True if axes `(x, y)` are the last two axes of `arr`: `(-2, -1)` in
    /// either order, or `(r-2, r-1)` when the rank `r` is known.
    fn last_two_axes(&self, cx: &Ctx<'a>, arr: &Expr, x: &Expr, y: &Expr) -> bool {
        let (Expr::Int(x), Expr::Int(y)) = (x, y) else {
            return false;
        };
        let (lo, hi) = ((*x).min(*y), (*x).max(*y));
        if (lo, hi) == (-2, -1) {
            return true;
        }
        let rank = match arr {
            Expr::Var(v) => self.lookup(cx, v).map(|i| i.rank).unwrap_or(0),
            _ => 0,
        } as i64;
        rank >= 2 && (lo, hi) == (rank - 2, rank - 1)
    }

    /// A dot product of two 1-D views — `np.dot(A[i, :], B[:, j])`,
    /// `A[i] @ B[:, j]`, `np.sum(A[i, :] * B[:, j])`, `(x * B[:, j]).sum()`,
    /// `np.inner`/`np.vdot` — lowered as the `sum(...)` generator it is:
    /// `__accN = 0; for __k_dotN in range(len): __accN += x[k] * y[k]`
    /// hoisted into `cx.pre`, and `__accN` returned. A view is a row
    /// (`A[i, :]`, `A[i][:]`, or `A[i]` of a 2-D array), a column
    /// (`B[:, j]`) or a 1-D array; at least one of the two must be known to
    /// be 1-D (a slice, or a declared rank), so that `np.dot(X[r], W)` (a
    /// row times a matrix: GS401) and `np.dot(X[r], Y[r])` (ranks unknown)
    /// are left as they are. A name of unknown rank is not a view: in
    /// `out[r] = X[:, r] @ W` the `W` may be a matrix and `out[r]` a row.
    fn scalar_dot(&self, cx: &mut Ctx<'a>, x: &Expr, y: &Expr) -> Option<Expr> {
        let (vx, vy) = (self.view(cx, x)?, self.view(cx, y)?);
        if !(vx.certain || vy.certain) {
            return None;
        }
        let n = cx.next_acc;
        cx.next_acc += 1;
        let acc = format!("__acc{n}");
        let k = format!("__k_dot{n}");
        let kv = Expr::Var(k.clone());
        let product = Expr::bin(BinOp::Mul, (vx.at)(kv.clone()), (vy.at)(kv));
        // The length from a view known to be 1-D (`B[:, j]` → `B.shape[0]`,
        // valid since `B` is an array); `A[i]` may be a list's row.
        let len = if vx.certain { vx.len } else { vy.len };
        let assign = |target: Expr, op: AssignOp, value: Expr| Stmt {
            kind: StmtKind::Assign { target, op, value },
            span: cx.span,
        };
        let init = assign(Expr::Var(acc.clone()), AssignOp::Set, Expr::Int(0));
        let body = vec![assign(Expr::Var(acc.clone()), AssignOp::Add, product)];
        let lp = Stmt {
            kind: StmtKind::Loop(Loop {
                var: k,
                start: Expr::Int(0),
                end: len,
                step: Expr::Int(1),
                kind: LoopKind::Comprehension,
                header: cx.span,
                body,
            }),
            span: cx.span,
        };
        cx.pre.push(init);
        cx.pre.push(lp);
        cx.vars.entry(acc.clone()).or_default();
        Some(Expr::Var(acc))
    }

    /// `e` as a 1-D view for [`Self::scalar_dot`].
    fn view(&self, cx: &Ctx<'a>, e: &Expr) -> Option<View> {
        let is_slice = |x: &Expr| matches!(x, Expr::Other(s) if s == ":");
        let shape_of = |base: &str, d: usize| -> Expr {
            self.known_shape(cx, base)
                .get(d)
                .cloned()
                .unwrap_or_else(|| Expr::Index {
                    base: Box::new(Expr::Var(format!("{base}.shape"))),
                    idx: vec![Expr::Int(d as i64)],
                })
        };
        let rank = |base: &str| self.lookup(cx, base).map(|v| v.rank).filter(|r| *r > 0);
        let index = |base: &str, idx: Vec<Expr>| Expr::Index {
            base: Box::new(Expr::Var(base.to_string())),
            idx,
        };
        match e {
            Expr::Var(v) if rank(v) == Some(1) => {
                let v2 = v.clone();
                Some(View {
                    len: shape_of(v, 0),
                    at: Box::new(move |k| index(&v2, vec![k])),
                    certain: true,
                })
            }
            Expr::Index { base, idx } => match (base.as_ref(), idx.as_slice()) {
                // `A[i, :]` / `B[:, j]`
                (Expr::Var(a), [r, c])
                    if is_slice(c) && !is_slice(r) && rank(a).unwrap_or(2) == 2 =>
                {
                    let (a2, r) = (a.clone(), r.clone());
                    Some(View {
                        len: shape_of(a, 1),
                        at: Box::new(move |k| index(&a2, vec![r.clone(), k])),
                        certain: true,
                    })
                }
                (Expr::Var(b), [r, c])
                    if is_slice(r) && !is_slice(c) && rank(b).unwrap_or(2) == 2 =>
                {
                    let (b2, c) = (b.clone(), c.clone());
                    Some(View {
                        len: shape_of(b, 0),
                        at: Box::new(move |k| index(&b2, vec![k, c.clone()])),
                        certain: true,
                    })
                }
                // `A[i][:]`
                (
                    Expr::Index {
                        base: inner,
                        idx: i1,
                    },
                    [c],
                ) if is_slice(c) => match (inner.as_ref(), i1.as_slice()) {
                    (Expr::Var(a), [r]) if !is_slice(r) && rank(a).unwrap_or(2) == 2 => {
                        let (a2, r) = (a.clone(), r.clone());
                        Some(View {
                            len: shape_of(a, 1),
                            at: Box::new(move |k| index(&a2, vec![r.clone(), k])),
                            certain: true,
                        })
                    }
                    _ => None,
                },
                // `A[i]`: a row if `A` is 2-D (known: certain; unknown: not).
                (Expr::Var(a), [r]) if !is_slice(r) && rank(a).unwrap_or(2) == 2 => {
                    let (a2, r) = (a.clone(), r.clone());
                    Some(View {
                        len: shape_of(a, 1),
                        at: Box::new(move |k| index(&a2, vec![r.clone(), k])),
                        certain: rank(a) == Some(2),
                    })
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn len_call(&self, cx: &mut Ctx<'a>, arg: Node<'a>) -> Expr {
        if arg.kind() == "identifier" {
            if let Some(Bind::Column { base, .. }) = cx.bind(self.text(arg)).cloned() {
                return self.len_of(cx, base);
            }
        }
        let e = self.expr(cx, arg);
        self.len_of(cx, e)
    }
}

pub(super) fn call(func: &str, args: Vec<Expr>) -> Expr {
    Expr::Call {
        func: func.to_string(),
        recv: None,
        args,
        kwargs: Vec::new(),
    }
}

/// `A[i][k]` / `A[i, k]` → `("A", 2)`; `A` → `("A", 0)`.
pub(super) fn strip_index(e: &Expr) -> Option<(&str, usize)> {
    let mut levels = 0;
    let mut cur = e;
    loop {
        match cur {
            Expr::Index { base, idx } => {
                levels += idx.len();
                cur = base;
            }
            Expr::Var(v) => return Some((v, levels)),
            _ => return None,
        }
    }
}

/// Python integer literal (`1_000`, `0x1F`, `0o17`, `0b101`).
pub(super) fn parse_int(t: &str) -> Option<i64> {
    let t = t.replace('_', "");
    let t = t.trim_end_matches(['l', 'L']);
    let lower = t.to_ascii_lowercase();
    if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else {
        lower.parse::<i64>().ok()
    }
}
