//! Test-only builders for hand-built IR, shaped the way the BRIEF's front-end
//! conventions (7–9) say the Python and C front ends lower code: dotted names
//! for module functions, `recv` for methods, `Expr::MatMul` / `Expr::Transpose`
//! for whole-array products and transposes, comprehensions as
//! `LoopKind::Comprehension` loops, module-level code as `<module>`.
//! Used by the library-idiom detectors' unit tests (GS401, GS501, GS601, GS602).

#![allow(dead_code)]

use std::collections::HashMap;

use crate::detectors::{Context, Reports, Rule};
use crate::finding::Finding;
use crate::ir::{
    AssignOp, BinOp, ElemType, Expr, File, FnKind, Function, Lang, Loop, LoopKind, Span, Stmt,
    StmtKind, UnOp, VarInfo,
};

/// A span covering line `line` (bytes `line*1000 ..`), so that tests can
/// check which statement a finding's range starts and ends on.
pub fn span(line: usize) -> Span {
    Span {
        start_byte: line * 1000,
        end_byte: line * 1000 + 80,
        start_line: line,
        start_col: 1,
        end_line: line,
        end_col: 81,
    }
}

pub fn v(name: &str) -> Expr {
    Expr::var(name)
}

pub fn int(i: i64) -> Expr {
    Expr::Int(i)
}

pub fn flt(x: f64) -> Expr {
    Expr::Float(x)
}

pub fn s(text: &str) -> Expr {
    Expr::Str(text.to_string())
}

pub fn neg(e: Expr) -> Expr {
    Expr::Unary(UnOp::Neg, Box::new(e))
}

pub fn addr(e: Expr) -> Expr {
    Expr::Unary(UnOp::AddrOf, Box::new(e))
}

pub fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    Expr::bin(op, a, b)
}

/// `base[i0, i1, ...]` (one Index node, as for `a[i, k]`).
pub fn idx(base: Expr, idx: Vec<Expr>) -> Expr {
    Expr::Index {
        base: Box::new(base),
        idx,
    }
}

/// `name[a][b]...` with variable indices.
pub fn at(name: &str, vars: &[&str]) -> Expr {
    idx(v(name), vars.iter().map(|x| v(x)).collect())
}

/// A slice subscript (`:`), which the front end keeps as text.
pub fn colon() -> Expr {
    Expr::Other(":".into())
}

pub fn mm(a: Expr, b: Expr) -> Expr {
    Expr::MatMul(Box::new(a), Box::new(b))
}

pub fn tr(a: Expr) -> Expr {
    Expr::Transpose(Box::new(a))
}

/// A module-function call `func(args)`.
pub fn call(func: &str, args: Vec<Expr>) -> Expr {
    kcall(func, args, vec![])
}

/// A module-function call with keyword arguments.
pub fn kcall(func: &str, args: Vec<Expr>, kwargs: Vec<(&str, Expr)>) -> Expr {
    Expr::Call {
        func: func.to_string(),
        recv: None,
        args,
        kwargs: kwargs
            .into_iter()
            .map(|(k, e)| (k.to_string(), e))
            .collect(),
    }
}

/// A method call `recv.func(args)`.
pub fn method(recv: Expr, func: &str, args: Vec<Expr>) -> Expr {
    kmethod(recv, func, args, vec![])
}

pub fn kmethod(recv: Expr, func: &str, args: Vec<Expr>, kwargs: Vec<(&str, Expr)>) -> Expr {
    Expr::Call {
        func: func.to_string(),
        recv: Some(Box::new(recv)),
        args,
        kwargs: kwargs
            .into_iter()
            .map(|(k, e)| (k.to_string(), e))
            .collect(),
    }
}

fn stmt(line: usize, kind: StmtKind) -> Stmt {
    Stmt {
        kind,
        span: span(line),
    }
}

/// `target = value`.
pub fn set(line: usize, target: Expr, value: Expr) -> Stmt {
    assign(line, target, AssignOp::Set, value)
}

/// `name = value`.
pub fn let_(line: usize, name: &str, value: Expr) -> Stmt {
    set(line, v(name), value)
}

pub fn assign(line: usize, target: Expr, op: AssignOp, value: Expr) -> Stmt {
    stmt(line, StmtKind::Assign { target, op, value })
}

/// An expression statement (a call evaluated for its effect, or a `with`
/// header).
pub fn expr(line: usize, e: Expr) -> Stmt {
    stmt(line, StmtKind::Expr(e))
}

pub fn ret(line: usize, e: Expr) -> Stmt {
    stmt(line, StmtKind::Return(Some(e)))
}

/// A C declaration with an initialiser.
pub fn decl(line: usize, name: &str, elem: Option<ElemType>, init: Expr) -> Stmt {
    stmt(
        line,
        StmtKind::Decl {
            name: name.to_string(),
            elem,
            dims: vec![],
            shared: false,
            init: Some(init),
        },
    )
}

/// An `if` with only a then-branch.
pub fn if_(line: usize, cond: Expr, then: Vec<Stmt>) -> Stmt {
    stmt(
        line,
        StmtKind::If {
            cond,
            then,
            els: vec![],
        },
    )
}

/// `for var in range(end):` — the body's lines should follow `line`.
pub fn for_range(line: usize, var: &str, end: Expr, body: Vec<Stmt>) -> Stmt {
    loop_of(line, var, end, LoopKind::Serial, body)
}

/// A comprehension lowered as a loop (convention 8): every statement carries
/// the comprehension's own span.
pub fn comp_loop(line: usize, var: &str, end: Expr, body: Vec<Stmt>) -> Stmt {
    loop_of(line, var, end, LoopKind::Comprehension, body)
}

fn loop_of(line: usize, var: &str, end: Expr, kind: LoopKind, body: Vec<Stmt>) -> Stmt {
    let mut sp = span(line);
    if let Some(last) = body.last() {
        sp = sp.cover(last.span);
    }
    Stmt {
        kind: StmtKind::Loop(Loop {
            var: var.to_string(),
            start: int(0),
            end,
            step: int(1),
            kind,
            header: span(line),
            body,
        }),
        span: sp,
    }
}

/// A NumPy/PyTorch array of `elem` with the given shape.
pub fn nd(elem: Option<ElemType>, shape: Vec<Expr>) -> VarInfo {
    VarInfo {
        elem,
        rank: shape.len(),
        shape,
        is_array: true,
        shared: false,
        ndarray: true,
        container: None,
        vector_lanes: None,
    }
}

/// An array of known rank but unknown extents.
pub fn nd_rank(elem: Option<ElemType>, rank: usize) -> VarInfo {
    VarInfo {
        elem,
        rank,
        shape: vec![],
        is_array: true,
        shared: false,
        ndarray: true,
        container: None,
        vector_lanes: None,
    }
}

/// A C pointer `T *p`.
pub fn ptr(elem: ElemType) -> VarInfo {
    VarInfo {
        elem: Some(elem),
        rank: 1,
        shape: vec![],
        is_array: true,
        shared: false,
        ndarray: false,
        container: None,
        vector_lanes: None,
    }
}

/// A name the front end knows nothing about (a Python parameter).
pub fn unknown() -> VarInfo {
    VarInfo::default()
}

/// A function whose span covers its body.
pub fn func(name: &str, kind: FnKind, vars: Vec<(&str, VarInfo)>, body: Vec<Stmt>) -> Function {
    let mut sp = body.first().map(|s| s.span).unwrap_or_else(|| span(1));
    if let Some(last) = body.last() {
        sp = sp.cover(last.span);
    }
    Function {
        name: name.to_string(),
        kind,
        params: vec![],
        template_params: vec![],
        template_order: vec![],
        vars: vars
            .into_iter()
            .map(|(n, i)| (n.to_string(), i))
            .collect::<HashMap<_, _>>(),
        body,
        span: sp,
    }
}

/// Python module-level code (`<module>`).
pub fn module(vars: Vec<(&str, VarInfo)>, body: Vec<Stmt>) -> Function {
    func("<module>", FnKind::Module, vars, body)
}

/// A hand-built file; Python files import `numpy` (as real ones that use
/// array products do).
pub fn file(lang: Lang, functions: Vec<Function>, consts: &[(&str, i64)]) -> File {
    File {
        lang,
        functions,
        consts: consts
            .iter()
            .map(|(n, c)| (n.to_string(), Expr::Int(*c)))
            .collect(),
        const_origins: HashMap::new(),
        type_aliases: HashMap::new(),
        imports: if lang == Lang::Python {
            vec!["numpy".into()]
        } else {
            Vec::new()
        },
        syntax_problems: vec![],
    }
}

/// Runs one rule over a hand-built file.
pub fn run(rule: &'static dyn Rule, file: &File, text: &str) -> Vec<Finding> {
    let cx = Context::new(file, text);
    let mut out = Reports::default();
    out.check(rule, &cx);
    out.findings()
}

/// `M×N×K` as the fixture format prints it (values where known, else exprs),
/// with a `BATCHx(...)` prefix when a batch dim is present.
pub fn dims_str(f: &Finding) -> String {
    let d = |x: &Option<crate::finding::Dim>| x.as_ref().map(|d| d.display()).unwrap_or_default();
    let core = format!("{}x{}x{}", d(&f.dims.m), d(&f.dims.n), d(&f.dims.k));
    match &f.dims.batch {
        Some(b) => format!("{}x({core})", b.display()),
        None => core,
    }
}

/// Shorthand: `a * b` etc.
pub fn mul(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Mul, a, b)
}

pub fn div(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Div, a, b)
}

pub fn sub(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Sub, a, b)
}

pub fn add(a: Expr, b: Expr) -> Expr {
    bin(BinOp::Add, a, b)
}
