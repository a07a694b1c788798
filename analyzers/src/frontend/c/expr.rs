//! Expressions: literals, names, subscripts, calls (with function-like macro
//! expansion, helper inlining and intrinsic folding), operators.

use tree_sitter::Node;

use super::{text, Lowerer, MAX_DEPTH};
use crate::ir::{AssignOp, BinOp, Expr, UnOp};

/// Parses a C number literal (`0x10`, `16u`, `1.0f`, `1e-3`, `1'000`).
pub(crate) fn parse_number(s: &str) -> Expr {
    let t: String = s.trim().chars().filter(|c| *c != '\'').collect();
    let lower = t.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        if hex.contains('.') || hex.contains('p') {
            return Expr::Other(s.to_string());
        }
        let digits = hex.trim_end_matches(['u', 'l', 'z']);
        return i64::from_str_radix(digits, 16)
            .map(Expr::Int)
            .unwrap_or_else(|_| Expr::Other(s.to_string()));
    }
    if let Some(bin) = lower.strip_prefix("0b") {
        let digits = bin.trim_end_matches(['u', 'l', 'z']);
        return i64::from_str_radix(digits, 2)
            .map(Expr::Int)
            .unwrap_or_else(|_| Expr::Other(s.to_string()));
    }
    let is_float = lower.contains('.') || lower.contains('e');
    if is_float {
        let body = lower
            .trim_end_matches(['f', 'l', 'h'])
            .trim_end_matches("bf16");
        let body = body
            .trim_end_matches("f16")
            .trim_end_matches("f32")
            .trim_end_matches("f64");
        return body
            .parse::<f64>()
            .map(Expr::Float)
            .unwrap_or_else(|_| Expr::Other(s.to_string()));
    }
    let digits = lower.trim_end_matches(['u', 'l', 'z']);
    if let Some(f) = digits.strip_suffix('f') {
        // `1f` is not C, but be lenient.
        return f
            .parse::<f64>()
            .map(Expr::Float)
            .unwrap_or_else(|_| Expr::Other(s.to_string()));
    }
    let parsed = if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8)
    } else {
        digits.parse::<i64>()
    };
    parsed
        .map(Expr::Int)
        .unwrap_or_else(|_| Expr::Other(s.to_string()))
}

pub(crate) fn binop(op: &str) -> Option<BinOp> {
    Some(match op {
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Rem,
        "<" => BinOp::Lt,
        "<=" => BinOp::Le,
        ">" => BinOp::Gt,
        ">=" => BinOp::Ge,
        "==" => BinOp::Eq,
        "!=" => BinOp::Ne,
        "&&" | "and" => BinOp::And,
        "||" | "or" => BinOp::Or,
        "<<" => BinOp::Shl,
        ">>" => BinOp::Shr,
        "&" | "bitand" => BinOp::BitAnd,
        "|" | "bitor" => BinOp::BitOr,
        "^" | "xor" => BinOp::BitXor,
        _ => return None,
    })
}

fn neg(e: Expr) -> Expr {
    match e {
        Expr::Int(v) => v
            .checked_neg()
            .map(Expr::Int)
            .unwrap_or(Expr::Other(format!("-{v}"))),
        Expr::Float(f) => Expr::Float(-f),
        other => Expr::Unary(UnOp::Neg, Box::new(other)),
    }
}

fn deref(e: Expr) -> Expr {
    match e {
        Expr::Unary(UnOp::AddrOf, inner) => *inner,
        other => Expr::Unary(UnOp::Deref, Box::new(other)),
    }
}

/// Replaces every parameter by its argument, all at once.
fn substitute_all(body: &Expr, params: &[String], args: &[Expr]) -> Expr {
    body.clone().map(&mut |e| match &e {
        Expr::Var(v) => match params.iter().position(|p| p == v) {
            Some(i) => args.get(i).cloned().unwrap_or(e),
            None => e,
        },
        _ => e,
    })
}

/// Folds intrinsics and library calls with a known meaning.
fn builtin_call(name: &str, args: &[Expr]) -> Option<Expr> {
    let short = name.rsplit("::").next().unwrap_or(name);
    let a = |i: usize| args.get(i).cloned();
    let mul = |x: Expr, y: Expr| Expr::bin(BinOp::Mul, x, y);
    Some(match short {
        "fmaf" | "fma" | "fmal" | "__fmaf_rn" | "__fmaf_rz" | "__fmaf_ru" | "__fmaf_rd"
        | "__fma_rn" | "__fma_rz" | "__fma_ru" | "__fma_rd" | "__fmaf_ieee_rn" | "__hfma"
        | "__hfma2" | "fmaf_rn"
            if args.len() == 3 =>
        {
            Expr::bin(BinOp::Add, mul(a(0)?, a(1)?), a(2)?)
        }
        "__fmul_rn" | "__fmul_rz" | "__fmul_ru" | "__fmul_rd" | "__dmul_rn" | "__dmul_rz"
        | "__dmul_ru" | "__dmul_rd" | "__hmul" | "__hmul2"
            if args.len() == 2 =>
        {
            mul(a(0)?, a(1)?)
        }
        "__fadd_rn" | "__fadd_rz" | "__fadd_ru" | "__fadd_rd" | "__dadd_rn" | "__dadd_rz"
        | "__dadd_ru" | "__dadd_rd" | "__hadd" | "__hadd2"
            if args.len() == 2 =>
        {
            Expr::bin(BinOp::Add, a(0)?, a(1)?)
        }
        "__fsub_rn" | "__fsub_rz" | "__dsub_rn" | "__hsub" if args.len() == 2 => {
            Expr::bin(BinOp::Sub, a(0)?, a(1)?)
        }
        "__fdiv_rn" | "__fdividef" | "__ddiv_rn" | "__hdiv" if args.len() == 2 => {
            Expr::bin(BinOp::Div, a(0)?, a(1)?)
        }
        "min" | "fmin" | "fminf" | "MIN" | "imin" | "umin" | "__hmin" if args.len() == 2 => {
            Expr::Call {
                func: "min".into(),
                recv: None,
                args: args.to_vec(),
                kwargs: Vec::new(),
            }
        }
        "max" | "fmax" | "fmaxf" | "MAX" | "imax" | "umax" | "__hmax" if args.len() == 2 => {
            Expr::Call {
                func: "max".into(),
                recv: None,
                args: args.to_vec(),
                kwargs: Vec::new(),
            }
        }
        "__ldg" | "__ldcg" | "__ldca" | "__ldcs" | "__ldlu" | "__ldcv" if args.len() == 1 => {
            deref(a(0)?)
        }
        "static_cast"
        | "reinterpret_cast"
        | "const_cast"
        | "dynamic_cast"
        | "__float2half"
        | "__half2float"
        | "__float2bfloat16"
        | "__bfloat162float"
        | "__float2half_rn"
        | "__float2bfloat16_rn"
        | "__int2float_rn"
        | "__float2int_rn"
        | "__double2float_rn"
        | "float2half"
        | "half2float"
            if args.len() == 1 =>
        {
            a(0)?
        }
        _ => return None,
    })
}

/// The lane count of a pointer-to-CUDA-vector type as written in a cast
/// (`float4 *`, `<const float4 *>`, `double2*`): 2, 3 or 4; `None` for
/// anything else (scalars, `float4` values, other pointers).
fn vector_pointer_width(ty: &str) -> Option<i64> {
    let t: String = ty
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '<' | '>'))
        .collect();
    let t = t.strip_suffix('*')?;
    let t = t.strip_prefix("const").unwrap_or(t);
    let t = t.strip_suffix("const").unwrap_or(t);
    vector_type_width(t)
}

/// The lane count of a CUDA vector type name (`float4` → 4, `double2` → 2).
pub(crate) fn vector_type_width(t: &str) -> Option<i64> {
    // The last character is the lane count: split there (a multi-byte
    // last character is no vector type, and no char boundary to split at).
    let (base, n) = t.split_at(t.len().checked_sub(1).filter(|&i| t.is_char_boundary(i))?);
    let n = match n {
        "2" => 2,
        "3" => 3,
        "4" => 4,
        _ => return None,
    };
    matches!(
        base,
        "float" | "double" | "int" | "uint" | "long" | "ulong" | "short" | "ushort"
    )
    .then_some(n)
}

/// The lane a CUDA vector component names (`x` → 0 ... `w` → 3).
fn vector_lane(field: &str) -> Option<i64> {
    ["x", "y", "z", "w"]
        .iter()
        .position(|c| *c == field)
        .map(|l| l as i64)
}

/// `(float4 *)p` as the IR writes it: `vector(p, 4)` (see the IR
/// conventions on [`Expr::Call`]); `normalize` expands its lanes.
fn vector_pointer(p: Expr, width: i64) -> Expr {
    Expr::Call {
        func: "vector".into(),
        recv: None,
        args: vec![p, Expr::Int(width)],
        kwargs: Vec::new(),
    }
}

impl Lowerer<'_> {
    /// Lowers an expression node (never fails; unknown forms are `Other`).
    pub(crate) fn lower_expr(&mut self, node: Node, src: &[u8]) -> Expr {
        if self.depth >= MAX_DEPTH {
            return Expr::Other(text(node, src));
        }
        self.depth += 1;
        let e = match self.reparsed_without_pseudo_casts(node, src) {
            Some(e) => e,
            None => self.lower_expr_inner(node, src),
        };
        self.depth -= 1;
        e
    }

    /// `(r) + (c) * (ld)` parses as a cast of `+(c)` to a type named `r`
    /// (and `(c) * (ld)` as a cast of `*ld`): the grammar cannot know that
    /// `r` is not a type, and the precedence it builds is wrong too. At the
    /// root of an arithmetic expression holding such a pseudo-cast, drop the
    /// parentheses around lone names that are not types and parse the text
    /// again: `r + c * ld`.
    fn reparsed_without_pseudo_casts(&mut self, node: Node, src: &[u8]) -> Option<Expr> {
        const ARITH: &[&str] = &[
            "binary_expression",
            "unary_expression",
            "cast_expression",
            "parenthesized_expression",
            "pointer_expression",
        ];
        if !ARITH.contains(&node.kind()) {
            return None;
        }
        if node.parent().is_some_and(|p| ARITH.contains(&p.kind())) {
            return None;
        }
        if !self.has_pseudo_cast(node, src, 0) {
            return None;
        }
        let cleaned = strip_name_parens(&text(node, src), &|n| self.is_type_name(n));
        if cleaned == text(node, src) {
            return None;
        }
        self.lower_snippet(&cleaned)
    }

    fn has_pseudo_cast(&self, node: Node, src: &[u8], depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        if node.kind() == "cast_expression" && self.not_a_type(node, src).is_some() {
            let v = node.child_by_field_name("value");
            let op = v
                .filter(|v| matches!(v.kind(), "unary_expression" | "pointer_expression"))
                .and_then(|v| v.child_by_field_name("operator"))
                .map(|o| text(o, src));
            if matches!(op.as_deref(), Some("+" | "-" | "*" | "&")) {
                return true;
            }
        }
        let mut c = node.walk();
        let kids: Vec<Node> = node.named_children(&mut c).collect();
        kids.into_iter()
            .any(|k| self.has_pseudo_cast(k, src, depth + 1))
    }

    fn lower_expr_inner(&mut self, node: Node, src: &[u8]) -> Expr {
        let other = || Expr::Other(text(node, src));
        match node.kind() {
            "identifier" | "field_identifier" | "type_identifier" | "namespace_identifier" => {
                let name = text(node, src);
                match name.as_str() {
                    "NULL" => Expr::Int(0),
                    _ => Expr::Var(name),
                }
            }
            "qualified_identifier" => Expr::Var(
                text(node, src)
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect(),
            ),
            "number_literal" => parse_number(&text(node, src)),
            "true" => Expr::Int(1),
            "false" | "null" | "nullptr" => Expr::Int(0),
            "this" => Expr::Var("this".into()),
            "string_literal" => {
                let mut c = node.walk();
                let s: String = node
                    .named_children(&mut c)
                    .map(|n| text(n, src))
                    .collect::<Vec<_>>()
                    .join("");
                Expr::Str(s)
            }
            "parenthesized_expression" | "condition_clause" => {
                let mut c = node.walk();
                let inner = node
                    .children_by_field_name("value", &mut c)
                    .next()
                    .or_else(|| {
                        let mut c2 = node.walk();
                        let kids: Vec<Node> = node
                            .named_children(&mut c2)
                            .filter(|n| n.kind() != "comment")
                            .collect();
                        kids.last().copied()
                    });
                match inner {
                    Some(n) => self.lower_expr(n, src),
                    None => other(),
                }
            }
            "cast_expression" => match node.child_by_field_name("value") {
                Some(v) => {
                    let value = self.lower_expr(v, src);
                    let ty = node
                        .child_by_field_name("type")
                        .map(|t| text(t, src))
                        .unwrap_or_default();
                    match vector_pointer_width(&ty) {
                        Some(w) => vector_pointer(value, w),
                        None => value,
                    }
                }
                None => other(),
            },
            "field_expression" => self.lower_field(node, src),
            "subscript_expression" => self.lower_subscript(node, src),
            "pointer_expression" => {
                let (Some(op), Some(arg)) = (
                    node.child_by_field_name("operator"),
                    node.child_by_field_name("argument"),
                ) else {
                    return other();
                };
                let a = self.lower_expr(arg, src);
                match op.kind() {
                    "*" => deref(a),
                    "&" => match a {
                        Expr::Unary(UnOp::Deref, inner) => *inner,
                        a => Expr::Unary(UnOp::AddrOf, Box::new(a)),
                    },
                    _ => other(),
                }
            }
            "unary_expression" => {
                let (Some(op), Some(arg)) = (
                    node.child_by_field_name("operator"),
                    node.child_by_field_name("argument"),
                ) else {
                    return other();
                };
                match op.kind() {
                    "-" => {
                        let a = self.lower_expr(arg, src);
                        neg(a)
                    }
                    "+" => self.lower_expr(arg, src),
                    "!" | "not" => {
                        let a = self.lower_expr(arg, src);
                        Expr::Unary(UnOp::Not, Box::new(a))
                    }
                    _ => other(),
                }
            }
            "binary_expression" => {
                let (Some(l), Some(op), Some(r)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("operator"),
                    node.child_by_field_name("right"),
                ) else {
                    return other();
                };
                let Some(op) = binop(op.kind()) else {
                    return other();
                };
                let a = self.lower_expr(l, src);
                let b = self.lower_expr(r, src);
                Expr::bin(op, a, b)
            }
            "conditional_expression" => self.lower_conditional(node, src),
            // `*p++` inside an assignment: the value of `p` (or of `p + 1`
            // for `++p`), with the increment run beside the statement.
            "update_expression" if self.updates.is_some() => {
                let (Some(arg), Some(op)) = (
                    node.child_by_field_name("argument"),
                    node.child_by_field_name("operator"),
                ) else {
                    return other();
                };
                let target = self.lower_expr(arg, src);
                if !matches!(target, Expr::Var(_)) {
                    return other();
                }
                let prefix = op.start_byte() < arg.start_byte();
                let aop = if op.kind() == "--" {
                    AssignOp::Sub
                } else {
                    AssignOp::Add
                };
                if let Some(u) = self.updates.as_mut() {
                    u.push((target.clone(), aop, prefix));
                }
                target
            }
            "call_expression" => self.lower_call(node, src),
            "comma_expression" => match node.child_by_field_name("right") {
                Some(r) => self.lower_expr(r, src),
                None => other(),
            },
            "assignment_expression" => match node.child_by_field_name("right") {
                // `a = b = c` used as a value: the value is the right side.
                Some(r) if text(node.child_by_field_name("operator").unwrap_or(r), src) == "=" => {
                    self.lower_expr(r, src)
                }
                _ => other(),
            },
            "template_function" => match node.child_by_field_name("name") {
                Some(n) => Expr::Var(text(n, src)),
                None => other(),
            },
            _ => other(),
        }
    }

    /// The name in `(name)` of a cast expression when it is a lone
    /// identifier that is not a type this file knows (so the "cast" is a
    /// parenthesised operand of a binary operator).
    fn not_a_type(&self, cast: Node, src: &[u8]) -> Option<String> {
        let td = cast.child_by_field_name("type")?;
        if td.named_child_count() != 1 {
            return None;
        }
        let t = td.named_child(0)?;
        if t.kind() != "type_identifier" {
            return None;
        }
        let name = text(t, src);
        (!self.is_type_name(&name)).then_some(name)
    }

    fn lower_field(&mut self, node: Node, src: &[u8]) -> Expr {
        let (Some(arg), Some(field)) = (
            node.child_by_field_name("argument"),
            node.child_by_field_name("field"),
        ) else {
            return Expr::Other(text(node, src));
        };
        let f = text(field, src);
        if arg.kind() == "this" {
            return Expr::Var(f);
        }
        match self.lower_expr(arg, src) {
            Expr::Var(base) => Expr::Var(format!("{base}.{f}")),
            // A lane of an element of a local array of CUDA vectors
            // (`float4 acc[4]; acc[i].y`): the element's lane as one more
            // subscript, `acc[i][1]` (normalize's lanes pass gives the
            // array that extent).
            Expr::Index { base, mut idx } => match (base.as_ref(), vector_lane(&f)) {
                (Expr::Var(b), Some(l))
                    if self.vars.get(b).is_some_and(|v| {
                        v.rank == idx.len()
                            && !v.shape.is_empty()
                            && matches!(&v.elem, Some(crate::ir::ElemType::Named(t))
                                if vector_type_width(t).is_some_and(|w| l < w))
                    }) =>
                {
                    idx.push(Expr::Int(l));
                    Expr::Index { base, idx }
                }
                _ => Expr::Other(text(node, src)),
            },
            _ => Expr::Other(text(node, src)),
        }
    }

    fn lower_subscript(&mut self, node: Node, src: &[u8]) -> Expr {
        let Some(arg) = node.child_by_field_name("argument") else {
            return Expr::Other(text(node, src));
        };
        let base = self.lower_expr(arg, src);
        let mut idx = Vec::new();
        if let Some(i) = node.child_by_field_name("index") {
            idx.push(self.lower_expr(i, src));
        } else if let Some(list) = node.child_by_field_name("indices") {
            let mut c = list.walk();
            let kids: Vec<Node> = list
                .named_children(&mut c)
                .filter(|n| n.kind() != "comment")
                .collect();
            for k in kids {
                idx.push(self.lower_expr(k, src));
            }
        }
        if idx.is_empty() {
            return Expr::Other(text(node, src));
        }
        Expr::Index {
            base: Box::new(base),
            idx,
        }
    }

    /// `x < y ? x : y` → `min(x, y)` (and `max` alike); any other `c ? a : b`
    /// → `select(c, a, b)` (see the IR conventions on [`Expr::Call`]).
    fn lower_conditional(&mut self, node: Node, src: &[u8]) -> Expr {
        let (Some(c), Some(a), Some(b)) = (
            node.child_by_field_name("condition"),
            node.child_by_field_name("consequence"),
            node.child_by_field_name("alternative"),
        ) else {
            return Expr::Other(text(node, src));
        };
        let cond = self.lower_expr(c, src);
        let then = self.lower_expr(a, src);
        let els = self.lower_expr(b, src);
        if let Expr::Binary(op, x, y) = &cond {
            let (x, y) = (x.as_ref(), y.as_ref());
            let func = match op {
                BinOp::Lt | BinOp::Le if &then == x && &els == y => Some("min"),
                BinOp::Lt | BinOp::Le if &then == y && &els == x => Some("max"),
                BinOp::Gt | BinOp::Ge if &then == x && &els == y => Some("max"),
                BinOp::Gt | BinOp::Ge if &then == y && &els == x => Some("min"),
                _ => None,
            };
            if let Some(func) = func {
                return Expr::Call {
                    func: func.into(),
                    recv: None,
                    args: vec![then, els],
                    kwargs: Vec::new(),
                };
            }
        }
        Expr::Call {
            func: "select".into(),
            recv: None,
            args: vec![cond, then, els],
            kwargs: Vec::new(),
        }
    }

    fn call_args(&mut self, node: Node, src: &[u8]) -> Vec<Expr> {
        let Some(list) = node.child_by_field_name("arguments") else {
            return Vec::new();
        };
        let mut c = list.walk();
        let kids: Vec<Node> = list
            .named_children(&mut c)
            .filter(|n| n.kind() != "comment")
            .collect();
        kids.into_iter().map(|k| self.lower_expr(k, src)).collect()
    }

    fn lower_call(&mut self, node: Node, src: &[u8]) -> Expr {
        let Some(func) = node.child_by_field_name("function") else {
            return Expr::Other(text(node, src));
        };
        if func.kind() == "field_expression" {
            let (Some(recv), Some(field)) = (
                func.child_by_field_name("argument"),
                func.child_by_field_name("field"),
            ) else {
                return Expr::Other(text(node, src));
            };
            let name = text(field, src);
            let args = self.call_args(node, src);
            let recv = if recv.kind() == "this" {
                Expr::Var("this".into())
            } else {
                self.lower_expr(recv, src)
            };
            if name == "at" && args.len() == 1 {
                return Expr::Index {
                    base: Box::new(recv),
                    idx: args,
                };
            }
            return Expr::Call {
                func: name,
                recv: Some(Box::new(recv)),
                args,
                kwargs: Vec::new(),
            };
        }
        let name = match func.kind() {
            "identifier" => text(func, src),
            "qualified_identifier" => text(func, src)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect(),
            "template_function" => {
                let name: String = match func.child_by_field_name("name") {
                    Some(n) => text(n, src)
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect(),
                    None => text(func, src),
                };
                // `reinterpret_cast<float4 *>(p)`: a pointer to vectors.
                if name.ends_with("_cast") {
                    let targs = func
                        .child_by_field_name("arguments")
                        .map(|a| text(a, src))
                        .unwrap_or_default();
                    let mut args = self.call_args(node, src);
                    if let (Some(w), 1) = (vector_pointer_width(&targs), args.len()) {
                        return vector_pointer(args.remove(0), w);
                    }
                }
                name
            }
            "primitive_type" | "type_identifier" | "sized_type_specifier" => {
                // A functional cast `float(x)`.
                let args = self.call_args(node, src);
                if args.len() == 1 {
                    return args.into_iter().next().unwrap_or(Expr::Int(0));
                }
                text(func, src)
            }
            "parenthesized_expression" => {
                let inner = self.lower_expr(func, src);
                match inner {
                    Expr::Var(v) => v,
                    _ => text(func, src),
                }
            }
            _ => text(func, src),
        };
        // Function-like macros: expand the lowered body.
        if self.fmacros.contains_key(&name) && !self.expanding.contains(&name) {
            let args = self.call_args(node, src);
            if let Some((params, body)) = self.macro_body(&name) {
                if params.len() == args.len() || params.is_empty() && args.is_empty() {
                    return substitute_all(&body, &params, &args);
                }
            }
            return Expr::Call {
                func: name,
                recv: None,
                args,
                kwargs: Vec::new(),
            };
        }
        let args = self.call_args(node, src);
        if args.len() == 1 && self.is_type_name(&name) {
            // `T(0)`, `(DATA_TYPE)(x)` parsed as a call: a cast.
            return args.into_iter().next().unwrap_or(Expr::Int(0));
        }
        // `m(i, j)` on an object of a class with an inline `operator()`:
        // its body, the fields read as the object's (`m.d[i*m.c + j]`).
        let object = match func.kind() {
            "identifier" if self.vars.contains_key(&name) => Some(Some(name.clone())),
            "parenthesized_expression" if text(func, src).replace(' ', "") == "(*this)" => {
                Some(None)
            }
            _ => None,
        };
        if let Some(object) = object {
            let declared = object
                .as_ref()
                .and_then(|o| match self.vars.get(o).map(|v| &v.elem) {
                    Some(Some(crate::ir::ElemType::Named(t))) => Some(t.clone()),
                    _ => None,
                });
            if let Some(h) = self.helpers.get("operator()") {
                // The object must be of the class that defines it.
                let same = match (&declared, &h.class) {
                    (Some(t), Some(c)) => {
                        t == c || t.ends_with(&format!("::{c}")) || t.starts_with(&format!("{c}<"))
                    }
                    _ => true,
                };
                if same && h.params.len() == args.len() {
                    let body = substitute_all(&h.ret, &h.params, &args);
                    let fields: Vec<String> = h
                        .class
                        .as_ref()
                        .and_then(|c| self.class_fields.get(c))
                        .map(|f| f.keys().cloned().collect())
                        .unwrap_or_default();
                    return match object {
                        None => body,
                        Some(o) => body.map(&mut |x| match x {
                            Expr::Var(ref v) if fields.contains(v) => Expr::Var(format!("{o}.{v}")),
                            other => other,
                        }),
                    };
                }
            }
        }
        let short = name.rsplit("::").next().unwrap_or(&name).to_string();
        if !self.expanding.contains(&short) {
            if let Some(h) = self.helpers.get(&short) {
                if h.params.len() == args.len() {
                    return substitute_all(&h.ret, &h.params, &args);
                }
            }
        }
        if let Some(e) = builtin_call(&name, &args) {
            return e;
        }
        Expr::Call {
            func: name,
            recv: None,
            args,
            kwargs: self.launch_config(node, src),
        }
    }

    /// A CUDA launch's `<<<grid, block, ...>>>`: the grid and block as the
    /// call's keyword arguments [`crate::ir::LAUNCH_GRID`] and
    /// [`crate::ir::LAUNCH_BLOCK`] (what
    /// size inference reads them from); nothing for a plain call.
    fn launch_config(&mut self, node: Node, src: &[u8]) -> Vec<(String, Expr)> {
        let mut c = node.walk();
        let Some(cfg) = node
            .children(&mut c)
            .find(|n| n.kind() == "kernel_call_syntax")
        else {
            return Vec::new();
        };
        let mut c = cfg.walk();
        let parts: Vec<Node> = cfg
            .named_children(&mut c)
            .filter(|n| n.kind() != "comment")
            .take(2)
            .collect();
        [crate::ir::LAUNCH_GRID, crate::ir::LAUNCH_BLOCK]
            .into_iter()
            .zip(parts)
            .map(|(k, n)| (k.to_string(), self.lower_expr(n, src)))
            .collect()
    }
}

/// Removes the parentheses around lone names that are not types
/// (`(r) + (c)` → `r + c`), leaving calls (`f(x)`), subscripts and casts to
/// real types (`(float)x`) alone.
pub(crate) fn strip_name_parens(t: &str, is_type: &dyn Fn(&str) -> bool) -> String {
    let b = t.as_bytes();
    let mut out = String::with_capacity(t.len());
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        if b[i] == b'(' {
            // What comes before: a name, `)` or `]` makes this a call/index.
            let prev = out.trim_end().as_bytes().last().copied();
            let call = prev.is_some_and(|p| ident(p) || p == b')' || p == b']');
            let mut j = i + 1;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            let s = j;
            while j < b.len() && ident(b[j]) {
                j += 1;
            }
            let name = &t[s..j];
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            let lone = !name.is_empty()
                && !name.as_bytes()[0].is_ascii_digit()
                && j < b.len()
                && b[j] == b')';
            if !call && lone && !is_type(name) {
                out.push_str(name);
                i = j + 1;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

#[cfg(test)]
mod strip_tests {
    use super::strip_name_parens;

    #[test]
    fn strips_only_parentheses_around_lone_non_type_names() {
        let t = |n: &str| n == "float" || n == "T";
        assert_eq!(strip_name_parens("((r) + (c) * (ld))", &t), "(r + c * ld)");
        assert_eq!(strip_name_parens("f(x) + (y)", &t), "f(x) + y");
        assert_eq!(
            strip_name_parens("(float)(x) + a[(i)]", &t),
            "(float)(x) + a[i]"
        );
        // `(T)` stays (a type); `(n)` after `)` could be a call, so it stays too.
        assert_eq!(strip_name_parens("(T)(n) * (m)", &t), "(T)(n) * m");
    }
}
