//! Statements: blocks, assignments, loops, `if`, `with`, `try`, `return`,
//! definitions (deferred), and the module-constant pre-scan.

use std::collections::HashMap;

use tree_sitter::Node;

use super::{named, span, span_of, Bind, Ctx, Lowerer, MAX_DEPTH};
use crate::ir::{AssignOp, BinOp, Expr, Loop, LoopKind, Poly, Stmt, StmtKind};

impl<'a> Lowerer<'a> {
    /// Lowers the statements that are named children of `n` (a block, the
    /// module, or an ERROR node) into `out`.
    pub(super) fn block(&self, cx: &mut Ctx<'a>, n: Node<'a>, out: &mut Vec<Stmt>) {
        if cx.depth >= MAX_DEPTH {
            return;
        }
        cx.depth += 1;
        for c in named(n) {
            self.stmt(cx, c, out);
        }
        cx.depth -= 1;
    }

    fn block_vec(&self, cx: &mut Ctx<'a>, n: Option<Node<'a>>) -> Vec<Stmt> {
        let mut v = Vec::new();
        if let Some(n) = n {
            self.block(cx, n, &mut v);
        }
        v
    }

    /// Pushes the hoisted statements, then `kind` with the current span.
    fn emit(&self, cx: &mut Ctx<'a>, out: &mut Vec<Stmt>, kind: StmtKind) {
        out.append(&mut cx.pre);
        out.push(Stmt {
            kind,
            span: cx.span,
        });
    }

    fn stmt(&self, cx: &mut Ctx<'a>, n: Node<'a>, out: &mut Vec<Stmt>) {
        cx.span = span(n);
        match n.kind() {
            "expression_statement" => {
                for c in named(n) {
                    cx.span = span(n);
                    self.expr_stmt(cx, c, out);
                }
            }
            "function_definition" => {
                if let Some(name) = n.child_by_field_name("name") {
                    let q = format!("{}{}", cx.qual, self.text(name));
                    cx.deferred.push((n, q));
                }
            }
            "decorated_definition" => {
                if let Some(d) = n.child_by_field_name("definition") {
                    self.stmt(cx, d, out);
                }
            }
            "class_definition" => self.class_def(cx, n, cx.qual.clone()),
            "if_statement" => self.if_stmt(cx, n, out),
            "for_statement" => self.for_stmt(cx, n, out),
            "while_statement" => self.while_stmt(cx, n, out),
            "with_statement" => {
                for clause in named(n).into_iter().filter(|c| c.kind() == "with_clause") {
                    for item in named(clause) {
                        let Some(v) = item.child_by_field_name("value") else {
                            continue;
                        };
                        cx.span = span(item);
                        if v.kind() == "as_pattern" {
                            let value = named(v)
                                .into_iter()
                                .find(|c| c.kind() != "as_pattern_target");
                            let alias = v
                                .child_by_field_name("alias")
                                .and_then(|a| named(a).first().copied());
                            if let Some(value) = value {
                                let e = self.expr(cx, value);
                                match alias {
                                    Some(a) if a.kind() == "identifier" => {
                                        let t = self.text(a).to_string();
                                        cx.vars.entry(t.clone()).or_default();
                                        self.emit(
                                            cx,
                                            out,
                                            StmtKind::Assign {
                                                target: Expr::Var(t),
                                                op: AssignOp::Set,
                                                value: e,
                                            },
                                        );
                                    }
                                    _ => self.emit(cx, out, StmtKind::Expr(e)),
                                }
                            }
                        } else {
                            let e = self.expr(cx, v);
                            self.emit(cx, out, StmtKind::Expr(e));
                        }
                    }
                }
                if let Some(b) = n.child_by_field_name("body") {
                    self.block(cx, b, out);
                }
            }
            "try_statement" => {
                if let Some(b) = n.child_by_field_name("body") {
                    self.block(cx, b, out);
                }
                for c in named(n) {
                    match c.kind() {
                        "except_clause" => {
                            let b = named(c).into_iter().find(|x| x.kind() == "block");
                            let body = self.block_vec(cx, b);
                            out.push(Stmt {
                                kind: StmtKind::Opaque(body),
                                span: span(c),
                            });
                        }
                        "else_clause" => {
                            if let Some(b) = c.child_by_field_name("body") {
                                self.block(cx, b, out);
                            }
                        }
                        "finally_clause" => {
                            if let Some(b) = named(c).into_iter().find(|x| x.kind() == "block") {
                                self.block(cx, b, out);
                            }
                        }
                        _ => {}
                    }
                }
            }
            "match_statement" => {
                let mut body = Vec::new();
                if let Some(b) = n.child_by_field_name("body") {
                    for case in named(b) {
                        if let Some(cb) = case.child_by_field_name("consequence") {
                            self.block(cx, cb, &mut body);
                        }
                    }
                }
                out.push(Stmt {
                    kind: StmtKind::Opaque(body),
                    span: span(n),
                });
            }
            "return_statement" => {
                // `return out, weights`: the values as a `tuple` call (see
                // the IR conventions on `Expr::Call`), so that what each
                // computes stays visible.
                let v = named(n).first().map(|c| {
                    if c.kind() == "expression_list" {
                        Expr::Call {
                            func: "tuple".into(),
                            recv: None,
                            args: named(*c).into_iter().map(|x| self.expr(cx, x)).collect(),
                            kwargs: Vec::new(),
                        }
                    } else {
                        self.expr(cx, *c)
                    }
                });
                cx.span = span(n);
                self.emit(cx, out, StmtKind::Return(v));
            }
            "assert_statement" => {
                if let Some(c) = named(n).first() {
                    let e = self.expr(cx, *c);
                    cx.span = span(n);
                    self.emit(cx, out, StmtKind::Expr(e));
                }
            }
            "block" | "ERROR" => self.block(cx, n, out),
            _ => {}
        }
    }

    /// A class: its methods (and nested classes) are deferred as functions
    /// named `Class.method`; other class-body statements are not lowered.
    fn class_def(&self, cx: &mut Ctx<'a>, n: Node<'a>, prefix: String) {
        let (Some(name), Some(body)) =
            (n.child_by_field_name("name"), n.child_by_field_name("body"))
        else {
            return;
        };
        let q = format!("{prefix}{}.", self.text(name));
        let mut stack = vec![body];
        while let Some(b) = stack.pop() {
            for c in named(b) {
                match c.kind() {
                    "function_definition" => {
                        if let Some(m) = c.child_by_field_name("name") {
                            cx.deferred.push((c, format!("{q}{}", self.text(m))));
                        }
                    }
                    "decorated_definition" => {
                        if let Some(d) = c.child_by_field_name("definition") {
                            if d.kind() == "function_definition" {
                                if let Some(m) = d.child_by_field_name("name") {
                                    cx.deferred.push((d, format!("{q}{}", self.text(m))));
                                }
                            } else if d.kind() == "class_definition" && cx.depth < MAX_DEPTH {
                                cx.depth += 1;
                                self.class_def(cx, d, q.clone());
                                cx.depth -= 1;
                            }
                        }
                    }
                    "class_definition" if cx.depth < MAX_DEPTH => {
                        cx.depth += 1;
                        self.class_def(cx, c, q.clone());
                        cx.depth -= 1;
                    }
                    // `if TYPE_CHECKING:` and the like inside a class body.
                    "if_statement" | "ERROR" => stack.push(c),
                    "block" => stack.push(c),
                    _ => {}
                }
            }
        }
    }

    fn expr_stmt(&self, cx: &mut Ctx<'a>, c: Node<'a>, out: &mut Vec<Stmt>) {
        match c.kind() {
            "assignment" => self.assignment(cx, c, out),
            "augmented_assignment" => {
                let (Some(l), Some(r)) = (
                    c.child_by_field_name("left"),
                    c.child_by_field_name("right"),
                ) else {
                    return;
                };
                if matches!(l.kind(), "pattern_list" | "tuple_pattern" | "list_pattern") {
                    return;
                }
                let op = match c.child_by_field_name("operator").map(|o| self.text(o)) {
                    Some("+=") => AssignOp::Add,
                    Some("-=") => AssignOp::Sub,
                    Some("*=") => AssignOp::Mul,
                    Some("/=") => AssignOp::Div,
                    _ => AssignOp::Other,
                };
                let value = self.expr(cx, r);
                let target = self.target(cx, l);
                if let Expr::Var(v) = &target {
                    cx.vars.entry(v.clone()).or_default();
                }
                self.emit(cx, out, StmtKind::Assign { target, op, value });
            }
            // Docstrings and bare literals.
            "string" | "concatenated_string" | "ellipsis" | "integer" | "float" => {}
            "yield" => {
                if let Some(v) = named(c).first() {
                    let e = self.expr(cx, *v);
                    self.emit(cx, out, StmtKind::Expr(e));
                }
            }
            _ => {
                let e = self.expr(cx, c);
                self.emit(cx, out, StmtKind::Expr(e));
            }
        }
    }

    fn assignment(&self, cx: &mut Ctx<'a>, n: Node<'a>, out: &mut Vec<Stmt>) {
        let Some(left) = n.child_by_field_name("left") else {
            return;
        };
        // `x: int` without a value declares nothing we model.
        let Some(mut right) = n.child_by_field_name("right") else {
            return;
        };
        let mut targets = vec![left];
        // Chained `a = b = 0`.
        while right.kind() == "assignment" && targets.len() < 64 {
            match (
                right.child_by_field_name("left"),
                right.child_by_field_name("right"),
            ) {
                (Some(l), Some(r)) => {
                    targets.push(l);
                    right = r;
                }
                _ => return,
            }
        }
        for t in targets {
            self.assign_one(cx, t, right, out);
        }
    }

    fn assign_one(&self, cx: &mut Ctx<'a>, t: Node<'a>, r: Node<'a>, out: &mut Vec<Stmt>) {
        if t.kind() == "identifier" {
            let name = self.text(t).to_string();
            let r = strip_parens(r);
            let sliced = r.kind() == "subscript" && {
                let mut w = r.walk();
                let any = r
                    .children_by_field_name("subscript", &mut w)
                    .any(|s| s.kind() == "slice");
                any
            };
            if sliced {
                cx.windows.insert(name, r);
            } else {
                cx.windows.remove(&name);
            }
        }
        if matches!(t.kind(), "pattern_list" | "tuple_pattern" | "list_pattern") {
            let ts = named(t);
            let r = strip_parens(r);
            if matches!(r.kind(), "expression_list" | "tuple" | "list") {
                let rs = named(r);
                if rs.len() == ts.len() {
                    for (ti, ri) in ts.into_iter().zip(rs) {
                        self.assign_one(cx, ti, ri, out);
                    }
                    return;
                }
            }
            // `M, K = A.shape`
            let shape_of = (r.kind() == "attribute"
                && r.child_by_field_name("attribute").map(|a| self.text(a)) == Some("shape"))
            .then(|| r.child_by_field_name("object"))
            .flatten();
            let whole = match shape_of {
                Some(_) => None,
                None => Some(self.expr(cx, r)),
            };
            let ts_all = ts.clone();
            for (k, ti) in ts.into_iter().enumerate() {
                if !matches!(ti.kind(), "identifier" | "attribute" | "subscript") {
                    continue;
                }
                let value = match (shape_of, &whole) {
                    (Some(obj), _) => self.shape_dim(cx, obj, k as i64),
                    (None, Some(w)) => Expr::Index {
                        base: Box::new(w.clone()),
                        idx: vec![Expr::Int(k as i64)],
                    },
                    (None, None) => continue,
                };
                let target = self.target(cx, ti);
                if let Expr::Var(v) = &target {
                    cx.vars.entry(v.clone()).or_default();
                }
                self.emit(
                    cx,
                    out,
                    StmtKind::Assign {
                        target,
                        op: AssignOp::Set,
                        value,
                    },
                );
            }
            // Unpacking all of `A.shape` into n names says `A` has rank n
            // (where nothing said more); its extents stay `A.shape[d]`, so
            // no shape is recorded.
            if let Some(obj) = shape_of.filter(|o| o.kind() == "identifier") {
                let name = self.text(obj).to_string();
                if self.lookup(cx, &name).is_none_or(|v| v.rank == 0) {
                    let v = cx.vars.entry(name).or_default();
                    v.rank = ts_all.len();
                    v.is_array = true;
                }
            }
            return;
        }
        if cx.module && t.kind() == "identifier" && self.consts.contains_key(self.text(t)) {
            return;
        }
        let info = if matches!(t.kind(), "identifier" | "attribute") {
            self.infer(cx, r)
        } else {
            None
        };
        let value = if r.kind() == "list_comprehension" && self.comp_reads_data(r) {
            let target = self.target(cx, t);
            let saved = std::mem::take(&mut cx.pre);
            match self.comp_into(cx, r, super::comp::Sink::Elem(target)) {
                Some(stmts) => {
                    let mut hoisted = std::mem::replace(&mut cx.pre, saved);
                    hoisted.extend(stmts);
                    self.record_info(cx, t, info);
                    out.append(&mut hoisted);
                    return;
                }
                None => {
                    cx.pre = saved;
                    Expr::Other(self.text(r).to_string())
                }
            }
        } else {
            self.expr(cx, r)
        };
        let target = self.target(cx, t);
        self.record_info(cx, t, info);
        self.emit(
            cx,
            out,
            StmtKind::Assign {
                target,
                op: AssignOp::Set,
                value,
            },
        );
    }

    fn record_info(&self, cx: &mut Ctx<'a>, t: Node<'a>, info: Option<crate::ir::VarInfo>) {
        let name = match t.kind() {
            "identifier" => Some(self.text(t).to_string()),
            "attribute" => self.dotted(t),
            _ => None,
        };
        if let Some(name) = name {
            match info {
                Some(vi) => {
                    cx.vars.insert(name, vi);
                }
                None => {
                    cx.vars.entry(name).or_default();
                }
            }
        }
    }

    /// An assignment target (identifiers are not substituted).
    pub(super) fn target(&self, cx: &mut Ctx<'a>, t: Node<'a>) -> Expr {
        match t.kind() {
            "identifier" => Expr::Var(self.text(t).to_string()),
            "attribute" | "subscript" => self.expr(cx, t),
            _ => Expr::Other(self.text(t).to_string()),
        }
    }

    fn if_stmt(&self, cx: &mut Ctx<'a>, n: Node<'a>, out: &mut Vec<Stmt>) {
        let sp = span(n);
        let cond = match n.child_by_field_name("condition") {
            Some(c) => self.expr(cx, c),
            None => Expr::Other(String::new()),
        };
        let pre = std::mem::take(&mut cx.pre);
        let then = self.block_vec(cx, n.child_by_field_name("consequence"));
        let mut elifs = Vec::new();
        let mut els = Vec::new();
        let mut w = n.walk();
        let alts: Vec<Node<'a>> = n.children_by_field_name("alternative", &mut w).collect();
        for alt in alts {
            if alt.kind() == "elif_clause" {
                cx.span = span(alt);
                let c = match alt.child_by_field_name("condition") {
                    Some(c) => self.expr(cx, c),
                    None => Expr::Other(String::new()),
                };
                let p = std::mem::take(&mut cx.pre);
                let t = self.block_vec(cx, alt.child_by_field_name("consequence"));
                elifs.push((c, p, t, span(alt)));
            } else {
                els = self.block_vec(cx, alt.child_by_field_name("body"));
            }
        }
        while let Some((c, mut p, t, s)) = elifs.pop() {
            p.push(Stmt {
                kind: StmtKind::If {
                    cond: c,
                    then: t,
                    els,
                },
                span: s,
            });
            els = p;
        }
        out.extend(pre);
        out.push(Stmt {
            kind: StmtKind::If { cond, then, els },
            span: sp,
        });
    }

    fn for_stmt(&self, cx: &mut Ctx<'a>, n: Node<'a>, out: &mut Vec<Stmt>) {
        let sp = span(n);
        let (Some(left), Some(right)) = (
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) else {
            return;
        };
        let body = n.child_by_field_name("body");
        let header = header_span(n, right);
        let nb = cx.binds.len();
        match self.iter_header(cx, left, right) {
            Some(h) => {
                let pre = std::mem::take(&mut cx.pre);
                let mut first = Vec::new();
                if h.real_var {
                    cx.binds.push((h.var.clone(), Bind::Shadow));
                }
                for (name, b) in h.binds {
                    let rebound = body.is_some_and(|b| self.assigns_name(b, &name));
                    match (rebound, b) {
                        (false, b) => cx.binds.push((name, b)),
                        (true, Bind::Elem(e)) => {
                            cx.vars.entry(name.clone()).or_default();
                            first.push(Stmt {
                                kind: StmtKind::Assign {
                                    target: Expr::Var(name.clone()),
                                    op: AssignOp::Set,
                                    value: e,
                                },
                                span: sp,
                            });
                            cx.binds.push((name, Bind::Shadow));
                        }
                        (true, _) => cx.binds.push((name, Bind::Shadow)),
                    }
                }
                cx.loop_depth += 1;
                let mut stmts = first;
                if let Some(b) = body {
                    self.block(cx, b, &mut stmts);
                }
                cx.loop_depth -= 1;
                cx.binds.truncate(nb);
                out.extend(pre);
                out.push(Stmt {
                    kind: StmtKind::Loop(Loop {
                        var: h.var,
                        start: h.start,
                        end: h.end,
                        step: h.step,
                        kind: LoopKind::Serial,
                        header,
                        body: stmts,
                    }),
                    span: sp,
                });
            }
            None => {
                cx.pre.clear();
                for name in self.pattern_names(left) {
                    cx.vars.entry(name.clone()).or_default();
                    cx.binds.push((name, Bind::Shadow));
                }
                let stmts = self.block_vec(cx, body);
                cx.binds.truncate(nb);
                out.push(Stmt {
                    kind: StmtKind::Opaque(stmts),
                    span: sp,
                });
            }
        }
        if let Some(alt) = n.child_by_field_name("alternative") {
            if let Some(b) = alt.child_by_field_name("body") {
                self.block(cx, b, out);
            }
        }
    }

    /// Counted `while`: `i = s; while i < n: ...; i += step` (the
    /// initialisation is absorbed into the loop); otherwise Opaque.
    fn while_stmt(&self, cx: &mut Ctx<'a>, n: Node<'a>, out: &mut Vec<Stmt>) {
        let sp = span(n);
        let body = n.child_by_field_name("body");
        let cond = n.child_by_field_name("condition");
        if let (Some(cond), Some(body)) = (cond, body) {
            if let Some(c) = self.counted_while(cx, cond, body) {
                if self.counted_loop(cx, n, cond, body, c, out) {
                    return;
                }
            }
        }
        cx.pre.clear();
        let stmts = self.block_vec(cx, body);
        out.push(Stmt {
            kind: StmtKind::Opaque(stmts),
            span: sp,
        });
        if let Some(alt) = n.child_by_field_name("alternative") {
            if let Some(b) = alt.child_by_field_name("body") {
                self.block(cx, b, out);
            }
        }
    }

    /// Lowers a counted `while` as a loop: its counter's start is the
    /// assignment just before it (removed); companion counters stepped with
    /// it (`y = oy = 0; while y + f <= n: ...; y += s; oy += 1`) are bound to
    /// their value at each iteration. With a companion of step 1 from 0 and
    /// a counter of another step, the loop runs over the companion and the
    /// counter is `start + step*companion`, so the body's indices stay
    /// polynomial. False when a start is not found (then it is opaque).
    fn counted_loop(
        &self,
        cx: &mut Ctx<'a>,
        n: Node<'a>,
        cond: Node<'a>,
        body: Node<'a>,
        c: Counted<'a>,
        out: &mut Vec<Stmt>,
    ) -> bool {
        let sp = span(n);
        // Find `name = start` among the statements just before.
        let find = |out: &Vec<Stmt>, name: &str| -> Option<(usize, Expr)> {
            let mut k = out.len();
            while k > 0 {
                k -= 1;
                if let StmtKind::Assign {
                    target: Expr::Var(v),
                    op: AssignOp::Set,
                    value,
                } = &out[k].kind
                {
                    if v == name {
                        return Some((k, value.clone()));
                    }
                }
                // A chained `a = b = 0` puts both just before the loop.
                let other_counter = c.companions.iter().any(|(m, _)| {
                    matches!(&out[k].kind, StmtKind::Assign { target: Expr::Var(v), .. } if v == m)
                }) || matches!(&out[k].kind, StmtKind::Assign { target: Expr::Var(v), .. } if *v == c.var);
                if !other_counter && stmt_mentions(&out[k], name) {
                    return None;
                }
            }
            None
        };
        let Some((_, start)) = find(out, &c.var) else {
            return false;
        };
        let mut inits = Vec::new();
        for (m, st) in &c.companions {
            let Some((_, c0)) = find(out, m) else {
                return false;
            };
            inits.push((m.clone(), c0, st.clone()));
        }
        // Remove the starts (latest first, so the indices stay valid).
        let mut names: Vec<&str> = vec![c.var.as_str()];
        names.extend(c.companions.iter().map(|(m, _)| m.as_str()));
        let mut idx: Vec<usize> = names
            .iter()
            .filter_map(|m| find(out, m).map(|x| x.0))
            .collect();
        idx.sort_unstable();
        idx.dedup();
        for k in idx.into_iter().rev() {
            out.remove(k);
        }
        // The loop index: the counter itself, or a companion stepped by 1
        // from 0 when the counter's step is not 1.
        let unit = |e: &Expr| matches!(e, Expr::Int(1));
        let pivot = (!unit(&c.step))
            .then(|| {
                inits
                    .iter()
                    .position(|(_, c0, st)| matches!(c0, Expr::Int(0)) && unit(st))
            })
            .flatten();
        let (var, lstart, lend, lstep, binds) = match pivot {
            None => {
                // Companions: c0 + st*(var - start).
                let off = Expr::bin(BinOp::Sub, Expr::Var(c.var.clone()), start.clone());
                let binds: Vec<(String, Expr)> = inits
                    .iter()
                    .map(|(m, c0, st)| {
                        let e = Expr::bin(
                            BinOp::Add,
                            c0.clone(),
                            Expr::bin(BinOp::Mul, st.clone(), off.clone()),
                        );
                        (m.clone(), simplify(e))
                    })
                    .collect();
                (c.var.clone(), start, c.end, c.step, binds)
            }
            Some(i) => {
                let t = inits[i].0.clone();
                let tv = Expr::Var(t.clone());
                // Iterations: ceil((end - start) / step).
                let trips = Expr::bin(
                    BinOp::FloorDiv,
                    simplify(Expr::bin(
                        BinOp::Add,
                        Expr::bin(BinOp::Sub, c.end.clone(), start.clone()),
                        Expr::bin(BinOp::Sub, c.step.clone(), Expr::Int(1)),
                    )),
                    c.step.clone(),
                );
                let mut binds = vec![(
                    c.var.clone(),
                    simplify(Expr::bin(
                        BinOp::Add,
                        start.clone(),
                        Expr::bin(BinOp::Mul, c.step.clone(), tv.clone()),
                    )),
                )];
                for (j, (m, c0, st)) in inits.iter().enumerate() {
                    if j != i {
                        binds.push((
                            m.clone(),
                            simplify(Expr::bin(
                                BinOp::Add,
                                c0.clone(),
                                Expr::bin(BinOp::Mul, st.clone(), tv.clone()),
                            )),
                        ));
                    }
                }
                (t, Expr::Int(0), simplify(trips), Expr::Int(1), binds)
            }
        };
        cx.pre.clear();
        let nb = cx.binds.len();
        cx.binds.push((var.clone(), Bind::Shadow));
        for (m, e) in &binds {
            cx.vars.entry(m.clone()).or_default();
            cx.binds.push((m.clone(), Bind::Elem(e.clone())));
        }
        cx.loop_depth += 1;
        let mut stmts = Vec::new();
        cx.depth += 1;
        if cx.depth < MAX_DEPTH {
            for ch in named(body) {
                if !c.incs.iter().any(|i| i.id() == ch.id()) {
                    self.stmt(cx, ch, &mut stmts);
                }
            }
        }
        cx.depth -= 1;
        cx.loop_depth -= 1;
        cx.binds.truncate(nb);
        cx.vars.entry(var.clone()).or_default();
        out.push(Stmt {
            kind: StmtKind::Loop(Loop {
                var,
                start: lstart,
                end: lend,
                step: lstep,
                kind: LoopKind::Serial,
                header: header_span(n, cond),
                body: stmts,
            }),
            span: sp,
        });
        true
    }

    /// A counted while loop: `while v < b` (or `v + e <= b`, ...) whose body
    /// ends in increments: `v`'s, and those of companion counters stepped
    /// with it.
    fn counted_while(
        &self,
        cx: &mut Ctx<'a>,
        cond: Node<'a>,
        body: Node<'a>,
    ) -> Option<Counted<'a>> {
        let cond = strip_parens(cond);
        if cond.kind() != "comparison_operator" {
            return None;
        }
        let mut w = cond.walk();
        let kids: Vec<Node<'a>> = cond
            .children(&mut w)
            .filter(|c| c.kind() != "comment")
            .collect();
        if kids.len() != 3 {
            return None;
        }
        let (l, op, r) = (kids[0], self.text(kids[1]), kids[2]);
        // `v + e` / `v - e` on the counter's side: the bound moves by `e`.
        let side = |x: Node<'a>| -> Option<(&'a str, Option<(Node<'a>, bool)>)> {
            let x = strip_parens(x);
            match x.kind() {
                "identifier" => Some((self.text(x), None)),
                "binary_operator" => {
                    let o = x.child_by_field_name("operator").map(|o| self.text(o))?;
                    let (a, e) = (
                        x.child_by_field_name("left")?,
                        x.child_by_field_name("right")?,
                    );
                    (a.kind() == "identifier" && matches!(o, "+" | "-"))
                        .then(|| (self.text(a), Some((e, o == "+"))))
                }
                _ => None,
            }
        };
        let (var, shift, bound, inclusive) = match op {
            "<" | "!=" => side(l).map(|(v, s)| (v, s, r, false))?,
            "<=" => side(l).map(|(v, s)| (v, s, r, true))?,
            ">" => side(r).map(|(v, s)| (v, s, l, false))?,
            ">=" => side(r).map(|(v, s)| (v, s, l, true))?,
            _ => return None,
        };
        if op == "!=" && shift.is_some() {
            return None;
        }
        // The trailing increments, last first.
        let stmts = named(body);
        let mut incs = Vec::new();
        let mut steps: Vec<(String, Expr)> = Vec::new();
        for st in stmts.iter().rev() {
            let Some(name) = self.increment_target(*st) else {
                break;
            };
            if steps.iter().any(|(m, _)| *m == name) {
                break;
            }
            let Some(step) = self.increment_of(cx, *st, &name) else {
                break;
            };
            incs.push(*st);
            steps.push((name, step));
        }
        let at = steps.iter().position(|(m, _)| m == var)?;
        let (_, step) = steps.remove(at);
        // Each counter is assigned only by its increment, and no
        // `continue` may skip them.
        if has_kind(body, "continue_statement")
            || self.count_assigns(body, var) != 1
            || steps.iter().any(|(m, _)| self.count_assigns(body, m) != 1)
        {
            return None;
        }
        // Companions must not appear in the bound.
        let mut b = self.expr(cx, bound);
        if let Some((e, plus)) = shift {
            let e = self.expr(cx, e);
            b = Expr::bin(if plus { BinOp::Sub } else { BinOp::Add }, b, e);
        }
        let end = if inclusive {
            Expr::bin(BinOp::Add, b, Expr::Int(1))
        } else {
            b
        };
        Some(Counted {
            var: var.to_string(),
            end: simplify(end),
            step,
            incs,
            companions: steps,
        })
    }

    /// The identifier an increment statement (`x += s`, `x = x + s`) steps.
    fn increment_target(&self, stmt: Node<'a>) -> Option<String> {
        if stmt.kind() != "expression_statement" {
            return None;
        }
        let a = *named(stmt).first()?;
        if !matches!(a.kind(), "augmented_assignment" | "assignment") {
            return None;
        }
        let l = a.child_by_field_name("left")?;
        (l.kind() == "identifier").then(|| self.text(l).to_string())
    }

    /// The step of `var += s` / `var = var + s` / `var = s + var`.
    fn increment_of(&self, cx: &mut Ctx<'a>, stmt: Node<'a>, var: &str) -> Option<Expr> {
        if stmt.kind() != "expression_statement" {
            return None;
        }
        let a = *named(stmt).first()?;
        let l = a.child_by_field_name("left")?;
        let r = a.child_by_field_name("right")?;
        if l.kind() != "identifier" || self.text(l) != var {
            return None;
        }
        let step = match a.kind() {
            "augmented_assignment" => {
                if a.child_by_field_name("operator").map(|o| self.text(o)) != Some("+=") {
                    return None;
                }
                self.expr(cx, r)
            }
            "assignment" => {
                let r = strip_parens(r);
                if r.kind() != "binary_operator"
                    || r.child_by_field_name("operator").map(|o| self.text(o)) != Some("+")
                {
                    return None;
                }
                let (x, y) = (
                    r.child_by_field_name("left")?,
                    r.child_by_field_name("right")?,
                );
                if x.kind() == "identifier" && self.text(x) == var {
                    self.expr(cx, y)
                } else if y.kind() == "identifier" && self.text(y) == var {
                    self.expr(cx, x)
                } else {
                    return None;
                }
            }
            _ => return None,
        };
        match &step {
            Expr::Int(v) if *v > 0 => Some(step),
            Expr::Var(_) => Some(step),
            _ => None,
        }
    }

    /// The identifiers in an assignment/loop target pattern.
    pub(super) fn pattern_names(&self, t: Node<'a>) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![t];
        while let Some(n) = stack.pop() {
            match n.kind() {
                "identifier" => out.push(self.text(n).to_string()),
                "pattern_list"
                | "tuple_pattern"
                | "list_pattern"
                | "list_splat_pattern"
                | "parenthesized_expression"
                | "tuple"
                | "list" => stack.extend(named(n)),
                _ => {}
            }
        }
        out
    }

    /// True if `name` is (re)bound anywhere inside `n` by an assignment or a
    /// `for` target (not counting nested definitions).
    pub(super) fn assigns_name(&self, n: Node<'a>, name: &str) -> bool {
        self.count_assigns(n, name) > 0
    }

    fn count_assigns(&self, n: Node<'a>, name: &str) -> usize {
        let mut count = 0;
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            match x.kind() {
                "function_definition" | "class_definition" | "lambda" => continue,
                "assignment"
                | "augmented_assignment"
                | "for_statement"
                | "for_in_clause"
                | "named_expression" => {
                    let l = x
                        .child_by_field_name("left")
                        .or_else(|| x.child_by_field_name("name"));
                    if let Some(l) = l {
                        count += self.pattern_names(l).iter().filter(|v| *v == name).count();
                    }
                }
                "as_pattern_target" => {
                    count += self.pattern_names(x).iter().filter(|v| *v == name).count();
                }
                _ => {}
            }
            let mut w = x.walk();
            stack.extend(x.named_children(&mut w));
        }
        count
    }

    /// Module-level integer constants: every module-scope assignment of the
    /// name (outside functions and classes, not in a loop) is the same
    /// integer expression over integers and other such constants.
    pub(super) fn collect_consts(&self, root: Node<'a>) -> HashMap<String, Expr> {
        let mut seen: Vec<(String, Option<Expr>)> = Vec::new();
        let mut stack: Vec<(Node<'a>, bool)> = vec![(root, false)];
        while let Some((b, in_loop)) = stack.pop() {
            for s in named(b) {
                match s.kind() {
                    "expression_statement" => {
                        for a in named(s) {
                            self.const_occurrences(a, in_loop, &mut seen);
                        }
                    }
                    "if_statement" => {
                        if let Some(c) = s.child_by_field_name("consequence") {
                            stack.push((c, in_loop));
                        }
                        let mut w = s.walk();
                        for alt in s.children_by_field_name("alternative", &mut w) {
                            if let Some(c) = alt
                                .child_by_field_name("consequence")
                                .or_else(|| alt.child_by_field_name("body"))
                            {
                                stack.push((c, in_loop));
                            }
                        }
                    }
                    "with_statement" | "try_statement" | "block" | "ERROR" => {
                        if let Some(c) = s.child_by_field_name("body") {
                            stack.push((c, in_loop));
                        }
                        if s.kind() != "with_statement" {
                            for c in named(s) {
                                match c.kind() {
                                    "except_clause"
                                    | "finally_clause"
                                    | "block"
                                    | "ERROR"
                                    | "expression_statement" => stack.push((c, in_loop)),
                                    "else_clause" => {
                                        if let Some(c) = c.child_by_field_name("body") {
                                            stack.push((c, in_loop));
                                        }
                                    }
                                    _ => {}
                                }
                            }
                        }
                        if s.kind() == "with_statement" {
                            for name in self.pattern_names_in(s, "as_pattern_target") {
                                seen.push((name, None));
                            }
                        }
                    }
                    "except_clause" | "finally_clause" => stack.push((s, in_loop)),
                    "for_statement" | "while_statement" => {
                        if let Some(l) = s.child_by_field_name("left") {
                            for name in self.pattern_names(l) {
                                seen.push((name, None));
                            }
                        }
                        if let Some(c) = s.child_by_field_name("body") {
                            stack.push((c, true));
                        }
                    }
                    _ => {}
                }
            }
        }
        // Keep names whose every occurrence is the same constant expression
        // over other constants (iterate to a fixed point).
        let mut values: HashMap<String, Option<Expr>> = HashMap::new();
        for (name, v) in seen {
            match values.get(&name) {
                None => {
                    values.insert(name, v);
                }
                Some(Some(old)) if Some(old) == v.as_ref() => {}
                Some(_) => {
                    values.insert(name, None);
                }
            }
        }
        let mut consts: HashMap<String, Expr> = values
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        loop {
            let bad: Vec<String> = consts
                .iter()
                .filter(|(k, v)| v.vars().iter().any(|n| n == *k || !consts.contains_key(n)))
                .map(|(k, _)| k.clone())
                .collect();
            if bad.is_empty() {
                break;
            }
            for b in bad {
                consts.remove(&b);
            }
        }
        consts
    }

    fn pattern_names_in(&self, n: Node<'a>, kind: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![n];
        while let Some(x) = stack.pop() {
            if x.kind() == kind {
                out.extend(self.pattern_names(x));
                continue;
            }
            if x.kind() == "block" {
                continue;
            }
            let mut w = x.walk();
            stack.extend(x.named_children(&mut w));
        }
        out
    }

    fn const_occurrences(
        &self,
        a: Node<'a>,
        in_loop: bool,
        seen: &mut Vec<(String, Option<Expr>)>,
    ) {
        match a.kind() {
            "assignment" => {
                let (Some(l), Some(mut r)) = (
                    a.child_by_field_name("left"),
                    a.child_by_field_name("right"),
                ) else {
                    return;
                };
                let mut targets = vec![l];
                while r.kind() == "assignment" && targets.len() < 64 {
                    match (
                        r.child_by_field_name("left"),
                        r.child_by_field_name("right"),
                    ) {
                        (Some(l2), Some(r2)) => {
                            targets.push(l2);
                            r = r2;
                        }
                        _ => return,
                    }
                }
                for t in targets {
                    if t.kind() == "identifier" {
                        let v = if in_loop { None } else { self.const_expr(r, 0) };
                        seen.push((self.text(t).to_string(), v));
                    } else if matches!(t.kind(), "pattern_list" | "tuple_pattern" | "list_pattern")
                    {
                        let ts = named(t);
                        let r2 = strip_parens(r);
                        let rs = if matches!(r2.kind(), "expression_list" | "tuple" | "list") {
                            named(r2)
                        } else {
                            Vec::new()
                        };
                        for (k, ti) in ts.iter().enumerate() {
                            if ti.kind() != "identifier" {
                                continue;
                            }
                            let v = match rs.get(k) {
                                Some(ri) if rs.len() == ts.len() && !in_loop => {
                                    self.const_expr(*ri, 0)
                                }
                                _ => None,
                            };
                            seen.push((self.text(*ti).to_string(), v));
                        }
                    }
                }
            }
            "augmented_assignment" => {
                if let Some(l) = a.child_by_field_name("left") {
                    for name in self.pattern_names(l) {
                        seen.push((name, None));
                    }
                }
            }
            _ => {}
        }
    }

    /// An integer expression of literals and names (`1024`, `2**10`, `N*N`).
    fn const_expr(&self, n: Node<'a>, depth: usize) -> Option<Expr> {
        if depth > 32 {
            return None;
        }
        Some(match n.kind() {
            "integer" => Expr::Int(super::expr::parse_int(self.text(n))?),
            "identifier" => Expr::Var(self.text(n).to_string()),
            "parenthesized_expression" => {
                let k = named(n);
                if k.len() != 1 {
                    return None;
                }
                self.const_expr(k[0], depth + 1)?
            }
            "unary_operator" => {
                let a = self.const_expr(n.child_by_field_name("argument")?, depth + 1)?;
                match n.child_by_field_name("operator").map(|o| self.text(o)) {
                    Some("-") => match a {
                        Expr::Int(v) => Expr::Int(v.checked_neg()?),
                        a => Expr::Unary(crate::ir::UnOp::Neg, Box::new(a)),
                    },
                    Some("+") => a,
                    _ => return None,
                }
            }
            "binary_operator" => {
                let op = match self.text(n.child_by_field_name("operator")?) {
                    "+" => BinOp::Add,
                    "-" => BinOp::Sub,
                    "*" => BinOp::Mul,
                    "//" => BinOp::FloorDiv,
                    "%" => BinOp::Rem,
                    "**" => BinOp::Pow,
                    "<<" => BinOp::Shl,
                    ">>" => BinOp::Shr,
                    _ => return None,
                };
                let l = self.const_expr(n.child_by_field_name("left")?, depth + 1)?;
                let r = self.const_expr(n.child_by_field_name("right")?, depth + 1)?;
                Expr::bin(op, l, r)
            }
            _ => return None,
        })
    }
}

/// The loop header: from `for`/`while` to the `:` (or to `last`).
fn header_span(n: Node<'_>, last: Node<'_>) -> crate::ir::Span {
    let mut w = n.walk();
    let colon = n.children(&mut w).find(|c| c.kind() == ":");
    span_of(n, colon.unwrap_or(last))
}

pub(super) fn strip_parens(mut n: Node<'_>) -> Node<'_> {
    for _ in 0..64 {
        if n.kind() != "parenthesized_expression" {
            break;
        }
        let k = named(n);
        if k.len() != 1 {
            break;
        }
        n = k[0];
    }
    n
}

fn has_kind(n: Node<'_>, kind: &str) -> bool {
    let mut stack = vec![n];
    while let Some(x) = stack.pop() {
        if x.kind() == kind {
            return true;
        }
        // A `continue` inside a nested loop does not skip our increment.
        if matches!(
            x.kind(),
            "for_statement" | "while_statement" | "function_definition"
        ) && x.id() != n.id()
        {
            continue;
        }
        let mut w = x.walk();
        stack.extend(x.named_children(&mut w));
    }
    false
}

fn stmt_mentions(s: &Stmt, var: &str) -> bool {
    let mut found = false;
    s.walk(&mut |s| {
        if let StmtKind::Loop(l) = &s.kind {
            if l.var == var {
                found = true;
            }
        }
        for e in s.exprs() {
            if e.mentions(var) {
                found = true;
            }
        }
    });
    found
}

/// A counted `while` loop ([`Lowerer::counted_while`]).
struct Counted<'a> {
    var: String,
    end: Expr,
    step: Expr,
    /// The trailing increment statements (not lowered into the body).
    incs: Vec<Node<'a>>,
    /// Companion counters and their steps.
    companions: Vec<(String, Expr)>,
}

/// `e` through the polynomial form where it has one (`0 + 1*(y - 0)` → `y`).
fn simplify(e: Expr) -> Expr {
    match Poly::from_expr(&e) {
        Some(p) => p.to_expr(),
        None => e,
    }
}
