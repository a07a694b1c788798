//! Statements: blocks, declarations, assignments, counted `for`/`while`
//! loops, `if`, `return`, barriers, and `Opaque` for the rest.

use tree_sitter::Node;

use super::{span, stmt_macros, text, Lowerer, MAX_DEPTH};
use crate::ir::{AssignOp, BinOp, Expr, Loop, LoopKind, Poly, Span, Stmt, StmtKind, UnOp};

const BARRIERS: &[&str] = &[
    "__syncthreads",
    "__syncthreads_count",
    "__syncthreads_and",
    "__syncthreads_or",
    "__syncwarp",
    "__barrier_sync",
];

fn assign_op(op: &str) -> AssignOp {
    match op {
        "=" => AssignOp::Set,
        "+=" => AssignOp::Add,
        "-=" => AssignOp::Sub,
        "*=" => AssignOp::Mul,
        "/=" => AssignOp::Div,
        _ => AssignOp::Other,
    }
}

/// True if any statement in `stmts` (nested included) assigns `var`.
pub(crate) fn assigns(stmts: &[Stmt], var: &str) -> bool {
    let mut found = false;
    for s in stmts {
        s.walk(&mut |s| match &s.kind {
            StmtKind::Assign {
                target: Expr::Var(v),
                ..
            } if v == var => found = true,
            StmtKind::Loop(l) if l.var == var => found = true,
            _ => {}
        });
    }
    found
}

/// True if `s` or anything nested in it mentions `var`.
fn stmt_mentions(s: &Stmt, var: &str) -> bool {
    let mut found = false;
    s.walk(&mut |s| {
        if s.exprs().iter().any(|e| e.mentions(var)) {
            found = true;
        }
        match &s.kind {
            StmtKind::Decl { name, .. } if name == var => found = true,
            StmtKind::Loop(l) if l.var == var => found = true,
            _ => {}
        }
    });
    found
}

/// `e + k` simplified through `Poly` when it is polynomial.
fn plus(e: &Expr, k: i64) -> Expr {
    if k == 0 {
        return e.clone();
    }
    match Poly::from_expr(e) {
        Some(p) => p.add(&Poly::constant(k)).to_expr(),
        None => Expr::bin(BinOp::Add, e.clone(), Expr::Int(k)),
    }
}

fn negate(e: &Expr) -> Expr {
    match e {
        Expr::Int(v) => Expr::Int(-v),
        Expr::Unary(UnOp::Neg, a) => (**a).clone(),
        other => Expr::Unary(UnOp::Neg, Box::new(other.clone())),
    }
}

/// `var REL bound` with the variable on the left.
struct Cond {
    var: String,
    rel: BinOp,
    bound: Expr,
}

fn parse_cond(cond: &Expr, want: Option<&str>) -> Option<Cond> {
    let Expr::Binary(op, a, b) = cond else {
        return None;
    };
    let flip = |op: BinOp| match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::Gt => BinOp::Lt,
        BinOp::Le => BinOp::Ge,
        BinOp::Ge => BinOp::Le,
        o => o,
    };
    if !matches!(
        op,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Ne
    ) {
        return None;
    }
    let ok = |v: &str| want.is_none_or(|w| w == v);
    if let Expr::Var(v) = a.as_ref() {
        if ok(v) && !b.mentions(v) {
            return Some(Cond {
                var: v.clone(),
                rel: *op,
                bound: (**b).clone(),
            });
        }
    }
    if let Expr::Var(v) = b.as_ref() {
        if ok(v) && !a.mentions(v) {
            return Some(Cond {
                var: v.clone(),
                rel: flip(*op),
                bound: (**a).clone(),
            });
        }
    }
    // `v + s <= n` (a loop over row offsets that stops one stride short):
    // `v <= n - s`.
    if let Expr::Binary(BinOp::Add, x, y) = a.as_ref() {
        for (v, s) in [(x, y), (y, x)] {
            if let Expr::Var(name) = v.as_ref() {
                if ok(name) && !s.mentions(name) && !b.mentions(name) {
                    let bound = Expr::bin(BinOp::Sub, (**b).clone(), (**s).clone());
                    let bound = Poly::from_expr(&bound).map_or(bound, |p| p.to_expr());
                    return Some(Cond {
                        var: name.clone(),
                        rel: *op,
                        bound,
                    });
                }
            }
        }
    }
    None
}

/// The step of an update of `var`: `i++` → 1, `i -= 2` → -2, `i = i + s` → s.
fn step_of(s: &Stmt, var: &str) -> Option<Expr> {
    let StmtKind::Assign { target, op, value } = &s.kind else {
        return None;
    };
    if target != &Expr::Var(var.to_string()) || value.mentions(var) && *op != AssignOp::Set {
        return None;
    }
    match op {
        AssignOp::Add => Some(value.clone()),
        AssignOp::Sub => Some(negate(value)),
        AssignOp::Set => match value {
            Expr::Binary(BinOp::Add, a, b) => {
                if a.as_ref() == &Expr::Var(var.into()) && !b.mentions(var) {
                    Some((**b).clone())
                } else if b.as_ref() == &Expr::Var(var.into()) && !a.mentions(var) {
                    Some((**a).clone())
                } else {
                    None
                }
            }
            Expr::Binary(BinOp::Sub, a, b)
                if a.as_ref() == &Expr::Var(var.into()) && !b.mentions(var) =>
            {
                Some(negate(b))
            }
            _ => None,
        },
        _ => None,
    }
}

fn is_negative(e: &Expr) -> bool {
    match e {
        Expr::Int(v) => *v < 0,
        Expr::Float(f) => *f < 0.0,
        Expr::Unary(UnOp::Neg, _) => true,
        _ => false,
    }
}

/// Builds a counted loop from `var = start; var REL bound; var += step`.
/// Downward loops keep the range `[low, high)` with a negative step.
fn counted(start: Expr, cond: &Cond, step: Expr) -> Option<(Expr, Expr, Expr)> {
    let down = is_negative(&step);
    if matches!(step, Expr::Int(0)) {
        return None;
    }
    match (cond.rel, down) {
        (BinOp::Lt | BinOp::Ne, false) => Some((start, cond.bound.clone(), step)),
        (BinOp::Le, false) => Some((start, plus(&cond.bound, 1), step)),
        (BinOp::Gt | BinOp::Ne, true) => Some((plus(&cond.bound, 1), plus(&start, 1), step)),
        (BinOp::Ge, true) => Some((cond.bound.clone(), plus(&start, 1), step)),
        _ => None,
    }
}

/// Index of the statement in `out` that last sets `var`, if nothing after it
/// mentions `var`; returns the start value.
fn find_setter(out: &[Stmt], var: &str) -> Option<(usize, Expr)> {
    for (i, s) in out.iter().enumerate().rev() {
        match &s.kind {
            StmtKind::Assign {
                target: Expr::Var(v),
                op: AssignOp::Set,
                value,
            } if v == var && !value.mentions(var) => return Some((i, value.clone())),
            StmtKind::Decl {
                name,
                init: Some(init),
                dims,
                ..
            } if name == var && dims.is_empty() && !init.mentions(var) => {
                return Some((i, init.clone()))
            }
            _ => {}
        }
        if stmt_mentions(s, var) {
            return None;
        }
    }
    None
}

/// Removes the setter at `i` (an assignment) or drops its initialiser (a
/// declaration), since the loop now starts the variable.
fn consume_setter(out: &mut Vec<Stmt>, i: usize) {
    match &mut out[i].kind {
        StmtKind::Decl { init, .. } => *init = None,
        _ => {
            out.remove(i);
        }
    }
}

/// A loop body that bumps its counter `var` by constants at its top level
/// (`...; k++; ...; k++;`, the unrolled calls of a statement macro that
/// ends in `k++`) as one iteration of a loop stepping by their sum: the
/// bumps removed and `var` read as `var + d` after bumps totalling `d`.
/// `None` where there is no bump, one is not by a positive constant, the
/// counter is assigned any other way, or the body's text (`body_text`)
/// may jump past a bump (`continue`, `break`).
fn fold_bumps(body: &[Stmt], body_text: &str, var: &str) -> Option<(Expr, Vec<Stmt>)> {
    if body_text.contains("continue") || body_text.contains("break") {
        return None;
    }
    let mut offset = 0i64;
    let mut out = Vec::with_capacity(body.len());
    let mut bumps = 0;
    for s in body {
        if let Some(step) = step_of(s, var) {
            let Expr::Int(d) = step else {
                return None;
            };
            if d <= 0 {
                return None;
            }
            offset += d;
            bumps += 1;
            continue;
        }
        let mut s = s.clone();
        if offset != 0 {
            let with = plus(&Expr::var(var), offset);
            s.walk_mut(&mut |s| {
                s.exprs_mut(&mut |e| {
                    let taken = std::mem::replace(e, Expr::Int(0));
                    *e = taken.substitute(var, &with);
                });
            });
        }
        out.push(s);
    }
    if bumps == 0 || assigns(&out, var) {
        return None;
    }
    Some((Expr::Int(offset), out))
}

impl Lowerer<'_> {
    /// Lowers the statements of a block (or a single statement) into `out`.
    pub(crate) fn lower_block(&mut self, node: Node, src: &[u8], out: &mut Vec<Stmt>) {
        if node.kind() == "compound_statement" {
            let mut c = node.walk();
            let kids: Vec<Node> = node.named_children(&mut c).collect();
            for k in kids {
                self.lower_stmt(k, src, out);
            }
        } else {
            self.lower_stmt(node, src, out);
        }
    }

    fn block(&mut self, node: Option<Node>, src: &[u8]) -> Vec<Stmt> {
        let mut out = Vec::new();
        if let Some(n) = node {
            self.lower_block(n, src, &mut out);
        }
        out
    }

    pub(crate) fn lower_stmt(&mut self, node: Node, src: &[u8], out: &mut Vec<Stmt>) {
        if self.depth >= MAX_DEPTH {
            // Too deep to follow: keep a marker, drop the contents.
            out.push(Stmt {
                kind: StmtKind::Opaque(Vec::new()),
                span: span(node),
            });
            return;
        }
        self.depth += 1;
        self.lower_stmt_inner(node, src, out);
        self.depth -= 1;
    }

    fn lower_stmt_inner(&mut self, node: Node, src: &[u8], out: &mut Vec<Stmt>) {
        let sp = span(node);
        let push = |out: &mut Vec<Stmt>, kind| out.push(Stmt { kind, span: sp });
        match node.kind() {
            "compound_statement" => self.lower_block(node, src, out),
            "expression_statement" => {
                if let Some(e) = node.named_child(0).filter(|n| n.kind() != "comment") {
                    self.lower_expr_stmt(e, src, sp, out);
                }
            }
            "declaration" => self.lower_declaration(node, src, out),
            "for_statement" => self.lower_for(node, src, out),
            "while_statement" => self.lower_while(node, src, out),
            "if_statement" => {
                let cond = node
                    .child_by_field_name("condition")
                    .map(|c| self.lower_expr(c, src))
                    .unwrap_or(Expr::Other(String::new()));
                let then = self.block(node.child_by_field_name("consequence"), src);
                let els = match node.child_by_field_name("alternative") {
                    Some(a) if a.kind() == "else_clause" => {
                        let mut c = a.walk();
                        let inner: Vec<Node> = a.named_children(&mut c).collect();
                        let mut v = Vec::new();
                        for n in inner {
                            self.lower_block(n, src, &mut v);
                        }
                        v
                    }
                    Some(a) => self.block(Some(a), src),
                    None => Vec::new(),
                };
                push(out, StmtKind::If { cond, then, els });
            }
            "return_statement" => {
                let e = node
                    .named_child(0)
                    .filter(|n| n.kind() != "comment")
                    .map(|n| self.lower_expr(n, src));
                push(out, StmtKind::Return(e));
            }
            "labeled_statement" | "attributed_statement" => {
                let mut c = node.walk();
                let kids: Vec<Node> = node.named_children(&mut c).collect();
                for k in kids {
                    if !matches!(k.kind(), "statement_identifier" | "attribute_declaration") {
                        self.lower_stmt(k, src, out);
                    }
                }
            }
            "preproc_if" | "preproc_ifdef" | "preproc_elif" | "preproc_elifdef"
            | "preproc_else" => {
                // Statements from every branch, as tree-sitter gives them.
                let mut c = node.walk();
                let kids: Vec<(Option<&str>, Node)> = node
                    .children(&mut c)
                    .enumerate()
                    .map(|(i, ch)| (node.field_name_for_child(i as u32), ch))
                    .collect();
                for (field, ch) in kids {
                    if ch.is_named() && !matches!(field, Some("name") | Some("condition")) {
                        self.lower_stmt(ch, src, out);
                    }
                }
            }
            "preproc_def" => {
                let ctx = super::TopCtx {
                    active: true,
                    class: None,
                    tparams: Vec::new(),
                    path: String::new(),
                };
                self.define_object_macro(node, src, &ctx);
            }
            "preproc_function_def" => self.define_function_macro(node, src),
            "comment"
            | "preproc_call"
            | "preproc_include"
            | "type_definition"
            | "alias_declaration"
            | "template_declaration"
            | "function_definition"
            | "static_assert_declaration"
            | "using_declaration"
            | "namespace_alias_definition"
            | "empty_statement" => {}
            "do_statement" => self.lower_do(node, src, out),
            "for_range_loop" | "switch_statement" | "case_statement" | "try_statement"
            | "catch_clause" | "ERROR" | "break_statement" | "continue_statement"
            | "goto_statement" | "throw_statement" | "seh_try_statement" => {
                let mut inner = Vec::new();
                if node.kind() == "for_range_loop" {
                    // `for (auto &x : v)`: the element variable is a local.
                    self.for_range_var(node, src);
                }
                let mut c = node.walk();
                let kids: Vec<Node> = node.named_children(&mut c).collect();
                for k in kids {
                    if is_statement(k.kind()) {
                        self.lower_stmt(k, src, &mut inner);
                    }
                }
                if node.kind() == "ERROR" && inner.is_empty() {
                    return;
                }
                push(out, StmtKind::Opaque(inner));
            }
            _ => {
                if node.kind().ends_with("_statement") {
                    let mut inner = Vec::new();
                    let mut c = node.walk();
                    let kids: Vec<Node> = node.named_children(&mut c).collect();
                    for k in kids {
                        if is_statement(k.kind()) {
                            self.lower_stmt(k, src, &mut inner);
                        }
                    }
                    push(out, StmtKind::Opaque(inner));
                }
            }
        }
    }

    fn for_range_var(&mut self, node: Node, src: &[u8]) {
        let ty = node
            .child_by_field_name("type")
            .map(|t| self.resolve_type(&text(t, src), 0))
            .unwrap_or_default();
        if let Some(d) = node.child_by_field_name("declarator") {
            if let Some(info) = self.declarator(d, src) {
                let vi = self.var_info(&info, &ty, false);
                self.declare_local(&info.name, vi);
            }
        }
    }

    /// An expression used as a statement: assignments, updates, barriers,
    /// comma lists, calls.
    fn lower_expr_stmt(&mut self, e: Node, src: &[u8], sp: Span, out: &mut Vec<Stmt>) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        if let Some((name, text)) = self.statement_macro_call(e, src) {
            if self.lower_expansion(&name, &text, sp, out) {
                return;
            }
        }
        match e.kind() {
            "assignment_expression" => {
                let (Some(l), Some(op), Some(r)) = (
                    e.child_by_field_name("left"),
                    e.child_by_field_name("operator"),
                    e.child_by_field_name("right"),
                ) else {
                    return;
                };
                let outer = self.updates.replace(Vec::new());
                let value = if r.kind() == "assignment_expression" {
                    // `x = y = 0`: first `y = 0`, then `x = y`'s value.
                    self.depth += 1;
                    self.lower_expr_stmt(r, src, sp, out);
                    self.depth -= 1;
                    match out.last().map(|s| &s.kind) {
                        Some(StmtKind::Assign {
                            op: AssignOp::Set,
                            value,
                            ..
                        }) => value.clone(),
                        Some(StmtKind::Assign { target, .. }) => target.clone(),
                        _ => self.lower_expr(r, src),
                    }
                } else {
                    self.lower_expr(r, src)
                };
                let target = self.lower_expr(l, src);
                let updates = std::mem::replace(&mut self.updates, outer).unwrap_or_default();
                let bump = |(x, op, _): &(Expr, AssignOp, bool)| Stmt {
                    kind: StmtKind::Assign {
                        target: x.clone(),
                        op: *op,
                        value: Expr::Int(1),
                    },
                    span: sp,
                };
                // An increment of a name the statement also assigns, or two
                // of one name, has no one order: such a statement is opaque.
                let clash = updates.iter().enumerate().any(|(i, (x, _, _))| {
                    *x == target || updates[..i].iter().any(|(y, _, _)| y == x)
                });
                if clash {
                    out.push(Stmt {
                        kind: StmtKind::Expr(Expr::Other(text(e, src))),
                        span: sp,
                    });
                    return;
                }
                out.extend(updates.iter().filter(|u| u.2).map(bump));
                // `x ^= e` is `x = x ^ e`: a toggled buffer index
                // (`buf ^= 1`) the normaliser reads as a wrapped counter.
                let (op, value) = match op.kind() {
                    "^=" => (
                        AssignOp::Set,
                        Expr::bin(BinOp::BitXor, target.clone(), value),
                    ),
                    k => (assign_op(k), value),
                };
                out.push(Stmt {
                    kind: StmtKind::Assign { target, op, value },
                    span: sp,
                });
                out.extend(updates.iter().filter(|u| !u.2).map(bump));
            }
            "update_expression" => {
                let (Some(arg), Some(op)) = (
                    e.child_by_field_name("argument"),
                    e.child_by_field_name("operator"),
                ) else {
                    return;
                };
                let target = self.lower_expr(arg, src);
                let op = if op.kind() == "--" {
                    AssignOp::Sub
                } else {
                    AssignOp::Add
                };
                out.push(Stmt {
                    kind: StmtKind::Assign {
                        target,
                        op,
                        value: Expr::Int(1),
                    },
                    span: sp,
                });
            }
            "comma_expression" => {
                for f in ["left", "right"] {
                    if let Some(n) = e.child_by_field_name(f) {
                        self.depth += 1;
                        self.lower_expr_stmt(n, src, sp, out);
                        self.depth -= 1;
                    }
                }
            }
            "parenthesized_expression" => {
                if let Some(n) = e.named_child(0) {
                    self.depth += 1;
                    self.lower_expr_stmt(n, src, sp, out);
                    self.depth -= 1;
                }
            }
            "call_expression" => {
                let func = e.child_by_field_name("function");
                let name = func.map(|f| text(f, src)).unwrap_or_default();
                let is_barrier = BARRIERS.contains(&name.as_str())
                    || func.is_some_and(|f| {
                        f.kind() == "field_expression"
                            && f.child_by_field_name("field")
                                .is_some_and(|x| text(x, src) == "sync")
                    })
                    || name.ends_with("::sync");
                if is_barrier {
                    out.push(Stmt {
                        kind: StmtKind::Barrier,
                        span: sp,
                    });
                } else {
                    let x = self.lower_expr(e, src);
                    out.push(Stmt {
                        kind: StmtKind::Expr(x),
                        span: sp,
                    });
                }
            }
            _ => {
                let x = self.lower_expr(e, src);
                // `(void)n;` and other statements without effect are dropped.
                if !matches!(
                    x,
                    Expr::Var(_) | Expr::Int(_) | Expr::Float(_) | Expr::Str(_)
                ) {
                    out.push(Stmt {
                        kind: StmtKind::Expr(x),
                        span: sp,
                    });
                }
            }
        }
    }

    /// The name and expanded text of a statement macro's call standing as
    /// a statement (`KERNEL_4x4` or `STEP(acc, a[k], b[k])`), if `e` is one.
    fn statement_macro_call(&self, e: Node, src: &[u8]) -> Option<(String, String)> {
        let (name, args) = match e.kind() {
            "identifier" => (text(e, src), None),
            "call_expression" => {
                let f = e
                    .child_by_field_name("function")
                    .filter(|f| f.kind() == "identifier")?;
                let list = e.child_by_field_name("arguments")?;
                let mut c = list.walk();
                let args: Vec<String> = list
                    .named_children(&mut c)
                    .filter(|a| a.kind() != "comment")
                    .map(|a| text(a, src))
                    .collect();
                (text(f, src), Some(args))
            }
            _ => return None,
        };
        if self.expanding.contains(&name) {
            return None;
        }
        let m = self.fmacros.get(&name).filter(|m| m.statements)?;
        let body = match (m.object, args) {
            (true, None) => m.body.clone(),
            (false, Some(args)) => stmt_macros::expand(&m.body, &m.params, &args)?,
            _ => return None,
        };
        Some((name, body))
    }

    /// Lowers the statements a statement macro's call expands to into
    /// `out`, each with the span of the call; false (nothing lowered) where
    /// the expansion does not parse.
    fn lower_expansion(&mut self, name: &str, body: &str, sp: Span, out: &mut Vec<Stmt>) -> bool {
        let body = stmt_macros::terminate_with(body, &|n| {
            self.fmacros
                .get(n)
                .filter(|m| m.statements)
                .map(|m| stmt_macros::Shape {
                    takes_args: !m.object,
                    complete: stmt_macros::is_complete(&m.body),
                })
        })
        .into_owned();
        let wrapped = format!("void __gs_snippet(void) {{ {body}\n}}\n");
        let Some(tree) = self.parse(&wrapped) else {
            return false;
        };
        let root = tree.root_node();
        if root.has_error() {
            return false;
        }
        let Some(block) = root
            .named_child(0)
            .and_then(|f| f.child_by_field_name("body"))
        else {
            return false;
        };
        self.expanding.push(name.to_string());
        let mut lowered = Vec::new();
        self.lower_block(block, wrapped.as_bytes(), &mut lowered);
        self.expanding.pop();
        for s in &mut lowered {
            s.walk_mut(&mut |s| {
                s.span = sp;
                if let StmtKind::Loop(l) = &mut s.kind {
                    l.header = sp;
                }
            });
        }
        out.extend(lowered);
        true
    }

    /// A local declaration: one `Decl` per declarator, and `vars` entries.
    pub(crate) fn lower_declaration(&mut self, node: Node, src: &[u8], out: &mut Vec<Stmt>) {
        let sp = span(node);
        if let Some(t) = node.child_by_field_name("type") {
            if t.kind() == "enum_specifier" {
                let active = true;
                self.enumerators(t, src, active);
            }
        }
        // `dim3 grid(x, y)`, `dim3 grid{x, y}`: kept as the call `dim3(x, y)`.
        let dim3 = node
            .child_by_field_name("type")
            .is_some_and(|t| text(t, src) == "dim3");
        if dim3 {
            self.dim3_parsed_as_prototype(node, src, out);
        }
        for (d, info) in self.declaration_vars(node, src) {
            let init = match d.init {
                Some(i)
                    if dim3
                        && info.rank == 0
                        && matches!(i.kind(), "argument_list" | "initializer_list") =>
                {
                    let mut c = i.walk();
                    let kids: Vec<Node> = i
                        .named_children(&mut c)
                        .filter(|n| n.kind() != "comment")
                        .collect();
                    Some(Expr::Call {
                        func: "dim3".into(),
                        recv: None,
                        args: kids.into_iter().map(|k| self.lower_expr(k, src)).collect(),
                        kwargs: Vec::new(),
                    })
                }
                Some(i) if i.kind() == "argument_list" => {
                    if info.rank > 0 {
                        None // `std::vector<float> v(n)`: extents are in `shape`.
                    } else if i.named_child_count() == 1 {
                        // `int x(3)`: direct initialisation.
                        i.named_child(0).map(|n| self.lower_expr(n, src))
                    } else {
                        None // a constructor call (`dim3 block(16, 16)`)
                    }
                }
                Some(i) if i.kind() == "initializer_list" => {
                    if info.rank > 0 {
                        Some(Expr::Other(text(i, src)))
                    } else {
                        // `int x{3}`.
                        match i.named_child(0) {
                            Some(n) if i.named_child_count() == 1 => Some(self.lower_expr(n, src)),
                            _ => Some(Expr::Other(text(i, src))),
                        }
                    }
                }
                Some(i) => Some(self.lower_expr(i, src)),
                None => None,
            };
            let dims = if d.pointers == 0 && d.dims.iter().all(Option::is_some) {
                d.dims.iter().flatten().cloned().collect()
            } else {
                Vec::new()
            };
            let shared = info.shared;
            let elem = info.elem.clone();
            self.declare_local(&d.name, info);
            out.push(Stmt {
                kind: StmtKind::Decl {
                    name: d.name,
                    elem,
                    dims,
                    shared,
                    init,
                },
                span: sp,
            });
        }
    }

    /// `dim3 grid(N, M);` with names for arguments, which C++ grammar reads
    /// as a function prototype: a `dim3` local initialised to `dim3(N, M)`.
    fn dim3_parsed_as_prototype(&mut self, node: Node, src: &[u8], out: &mut Vec<Stmt>) {
        let mut c = node.walk();
        let decls: Vec<Node> = node.children_by_field_name("declarator", &mut c).collect();
        for d in decls {
            if d.kind() != "function_declarator" {
                continue;
            }
            let (Some(name), Some(params)) = (
                d.child_by_field_name("declarator"),
                d.child_by_field_name("parameters"),
            ) else {
                continue;
            };
            let mut c = params.walk();
            let names: Vec<String> = params
                .named_children(&mut c)
                .filter(|n| n.kind() != "comment")
                .map(|n| text(n, src))
                .collect();
            let ident = |t: &str| {
                !t.is_empty()
                    && t.chars().all(|ch| ch.is_alphanumeric() || ch == '_')
                    && !t.starts_with(|ch: char| ch.is_ascii_digit())
            };
            if name.kind() != "identifier"
                || names.is_empty()
                || names.len() > 3
                || !names.iter().all(|t| ident(t) && !self.is_type_name(t))
            {
                continue;
            }
            out.push(Stmt {
                kind: StmtKind::Decl {
                    name: text(name, src),
                    elem: None,
                    dims: Vec::new(),
                    shared: false,
                    init: Some(Expr::Call {
                        func: "dim3".into(),
                        recv: None,
                        args: names.into_iter().map(Expr::Var).collect(),
                        kwargs: Vec::new(),
                    }),
                },
                span: span(node),
            });
        }
    }

    /// The loop header span: from `for`/`while` to the `)` before the body.
    fn header_span(node: Node) -> Span {
        let mut sp = span(node);
        let body = node.child_by_field_name("body");
        let mut c = node.walk();
        let mut end = None;
        for ch in node.children(&mut c) {
            if Some(ch) == body {
                break;
            }
            end = Some(ch);
        }
        if let Some(e) = end {
            let es = span(e);
            sp.end_byte = es.end_byte;
            sp.end_line = es.end_line;
            sp.end_col = es.end_col;
        }
        sp
    }

    fn lower_for(&mut self, node: Node, src: &[u8], out: &mut Vec<Stmt>) {
        let sp = span(node);
        // Initialiser statements.
        let mut pre = Vec::new();
        if let Some(init) = node.child_by_field_name("initializer") {
            if init.kind() == "declaration" {
                self.lower_declaration(init, src, &mut pre);
            } else {
                self.lower_expr_stmt(init, src, sp, &mut pre);
            }
        }
        let cond = node
            .child_by_field_name("condition")
            .map(|c| self.lower_expr(c, src));
        let mut upd = Vec::new();
        {
            let mut c = node.walk();
            let updates: Vec<Node> = node.children_by_field_name("update", &mut c).collect();
            for u in updates {
                self.lower_expr_stmt(u, src, sp, &mut upd);
            }
        }
        let body_node = node.child_by_field_name("body");
        let body_text = body_node.map(|b| text(b, src)).unwrap_or_default();
        let mut body = self.block(body_node, src);

        let built = (|| {
            let cond = cond.as_ref()?;
            // The loop variable: the one the condition tests and the init sets.
            let c = pre
                .iter()
                .rev()
                .find_map(|s| match &s.kind {
                    StmtKind::Assign {
                        target: Expr::Var(v),
                        op: AssignOp::Set,
                        ..
                    }
                    | StmtKind::Decl { name: v, .. } => parse_cond(cond, Some(v)),
                    _ => None,
                })
                .or_else(|| parse_cond(cond, None))?;
            // The counter's update: in the header, or (no update there, as
            // in `for (k = 0; k < K4;) { STEP STEP }`) bumps by constants in
            // the body, folded into one step.
            let (ui, step, folded) = match upd.iter().position(|s| step_of(s, &c.var).is_some()) {
                Some(ui) => (Some(ui), step_of(&upd[ui], &c.var)?, None),
                None => {
                    let (step, folded) = fold_bumps(&body, &body_text, &c.var)?;
                    (None, step, Some(folded))
                }
            };
            // Pointer walks (`for (p = A; p < end; p++)`) are not index loops.
            let pointer = self.vars.get(&c.var).is_some_and(|v| v.is_array);
            let body = folded.as_ref().unwrap_or(&body);
            if pointer || step.mentions(&c.var) || assigns(body, &c.var) {
                return None;
            }
            let (start, from_out) = match find_setter(&pre, &c.var) {
                Some((i, v)) => (v, Err(i)),
                None => {
                    let (i, v) = find_setter(out, &c.var)?;
                    (v, Ok(i))
                }
            };
            let (start, end, step) = counted(start, &c, step)?;
            Some((c.var, start, end, step, ui, from_out, folded))
        })();

        match built {
            Some((var, start, end, step, ui, setter, folded)) => {
                if let Some(folded) = folded {
                    body = folded;
                }
                match setter {
                    Err(i) => {
                        if matches!(pre[i].kind, StmtKind::Decl { .. }) {
                            pre.remove(i);
                        } else {
                            consume_setter(&mut pre, i);
                        }
                    }
                    Ok(i) => consume_setter(out, i),
                }
                if let Some(ui) = ui {
                    upd.remove(ui);
                }
                // Other updates (`i++, j--`) run at the end of each iteration.
                body.extend(upd);
                out.extend(pre);
                out.push(Stmt {
                    kind: StmtKind::Loop(Loop {
                        var,
                        start,
                        end,
                        step,
                        kind: LoopKind::Serial,
                        header: Self::header_span(node),
                        body,
                    }),
                    span: sp,
                });
            }
            None => {
                out.extend(pre);
                body.extend(upd);
                out.push(Stmt {
                    kind: StmtKind::Opaque(body),
                    span: sp,
                });
            }
        }
    }

    /// `i = 0; while (i < n) { ...; i++; }` → a counted loop.
    fn lower_while(&mut self, node: Node, src: &[u8], out: &mut Vec<Stmt>) {
        let sp = span(node);
        let cond = node
            .child_by_field_name("condition")
            .map(|c| self.lower_expr(c, src));
        let body_node = node.child_by_field_name("body");
        let body_text = body_node.map(|b| text(b, src)).unwrap_or_default();
        let mut body = self.block(body_node, src);
        let mut folded = None;
        let built = (|| {
            let c = parse_cond(cond.as_ref()?, None)?;
            let step = match step_of(body.last()?, &c.var) {
                Some(step) if !assigns(&body[..body.len() - 1], &c.var) => step,
                // Bumps spread through the body (an unrolled `STEP STEP`).
                _ => {
                    let (step, f) = fold_bumps(&body, &body_text, &c.var)?;
                    folded = Some(f);
                    step
                }
            };
            if step.mentions(&c.var) {
                return None;
            }
            let (i, start) = find_setter(out, &c.var)?;
            let (start, end, step) = counted(start, &c, step)?;
            Some((c.var, start, end, step, i))
        })();
        if built.is_some() {
            match folded {
                Some(f) => body = f,
                None => {
                    body.pop();
                }
            }
        }
        Self::push_counted(out, node, sp, built, body);
    }

    /// The loop a counted `while`/`do` lowered to (its counter's setter
    /// `out[i]` consumed, the counter's bump already out of `body`), or the
    /// statements kept in an opaque block.
    fn push_counted(
        out: &mut Vec<Stmt>,
        node: Node,
        sp: Span,
        built: Option<(String, Expr, Expr, Expr, usize)>,
        body: Vec<Stmt>,
    ) {
        match built {
            Some((var, start, end, step, i)) => {
                consume_setter(out, i);
                out.push(Stmt {
                    kind: StmtKind::Loop(Loop {
                        var,
                        start,
                        end,
                        step,
                        kind: LoopKind::Serial,
                        header: Self::header_span(node),
                        body,
                    }),
                    span: sp,
                });
            }
            None => out.push(Stmt {
                kind: StmtKind::Opaque(body),
                span: sp,
            }),
        }
    }
}

impl Lowerer<'_> {
    /// `do { v += s; body } while (v < n);` (the counter bumped first, as
    /// a software-pipelined tile loop that loads tile `v` while it
    /// multiplies the one before) is the counted loop `v = start + s; v <
    /// n + s; v += s` over `body`, and `do { body; v += s; } while (v <
    /// n);` is `v = start; v < n; v += s`: the iterations of the
    /// `do`-loop whenever its range is not empty (it also runs once when
    /// it is). Anything else stays opaque, with its statements kept.
    fn lower_do(&mut self, node: Node, src: &[u8], out: &mut Vec<Stmt>) {
        let sp = span(node);
        let cond = node
            .child_by_field_name("condition")
            .map(|c| self.lower_expr(c, src));
        let mut body = self.block(node.child_by_field_name("body"), src);
        let built = (|| {
            let c = parse_cond(cond.as_ref()?, None)?;
            if !matches!(c.rel, BinOp::Lt | BinOp::Le) {
                return None;
            }
            let top = match (
                step_of(body.first()?, &c.var),
                step_of(body.last()?, &c.var),
            ) {
                (Some(s), None) => Some((true, s)),
                (None, Some(s)) => Some((false, s)),
                _ => None,
            };
            let (top, step) = top?;
            let rest = if top {
                &body[1..]
            } else {
                &body[..body.len() - 1]
            };
            if is_negative(&step) || step.mentions(&c.var) || assigns(rest, &c.var) {
                return None;
            }
            let (i, start) = find_setter(out, &c.var)?;
            let (start, end, step) = counted(start, &c, step)?;
            let ahead = |e: &Expr| {
                let sum = Expr::bin(BinOp::Add, e.clone(), step.clone());
                Poly::from_expr(&sum).map_or(sum, |p| p.to_expr())
            };
            let (start, end) = if top {
                (ahead(&start), ahead(&end))
            } else {
                (start, end)
            };
            Some((c.var, start, end, step, i, top))
        })();
        let built = built.map(|(var, start, end, step, i, top)| {
            if top {
                body.remove(0);
            } else {
                body.pop();
            }
            (var, start, end, step, i)
        });
        Self::push_counted(out, node, sp, built, body);
    }
}

fn is_statement(kind: &str) -> bool {
    kind.ends_with("_statement")
        || matches!(
            kind,
            "declaration"
                | "for_range_loop"
                | "catch_clause"
                | "ERROR"
                | "preproc_if"
                | "preproc_ifdef"
                | "preproc_else"
                | "preproc_elif"
        )
}
