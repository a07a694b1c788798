//! Test-only IR builder: a tiny C-like mini-syntax parsed straight into the
//! normalised IR, so that detector tests read like the code they mirror.
//!
//! ```text
//! for i in 0..N { ... }            Serial loop (end exclusive), `step E` optional
//! thread row.y in 0..M { ... }     CudaThread loop on axis y (`thread! ` = split)
//! comp i in 0..len(A) { ... }      Comprehension loop
//! if c { ... } else { ... }
//! decl f32 sum = 0;                Decl (scalar, or `decl f32 t[4][4];`)
//! shared f32 As[16][16];           Decl with shared: true
//! sync;                            Barrier
//! opaque { ... }                   Opaque
//! C[i][j] += A[i][k] * B[k][j];    Assign (=, +=, -=, *=, /=)
//! ```
//! Parameters are declared as `"A: f32[N][K], B: f32*, C: f32**, x: nd f64[M],
//! L: list, s: f32"`.

use std::collections::HashMap;

use crate::detectors::{Context, Reports, Rule};
use crate::finding::Finding;
use crate::ir::{
    AssignOp, BinOp, ElemType, Expr, File, FnKind, Function, Lang, Loop, LoopKind, Span, Stmt,
    StmtKind, UnOp, VarInfo,
};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Id(String),
    Int(i64),
    Float(f64),
    P(&'static str),
}

#[derive(Clone, Debug)]
struct T {
    tok: Tok,
    start: usize,
    end: usize,
}

const PUNCT: [&str; 30] = [
    "..", "+=", "-=", "*=", "/=", "<=", ">=", "==", "!=", "&&", "||", "<<", ">>", "[", "]", "(",
    ")", "{", "}", ",", ";", "+", "-", "*", "/", "%", "<", ">", "=", "!",
];

fn lex(src: &str) -> Vec<T> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == '_' {
            while i < b.len() && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            // Dotted names (`blockIdx.x`, `self.w`), but not `..`.
            while i + 1 < b.len()
                && b[i] == b'.'
                && ((b[i + 1] as char).is_ascii_alphabetic() || b[i + 1] == b'_')
            {
                i += 1;
                while i < b.len() && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
            }
            out.push(T {
                tok: Tok::Id(src[start..i].to_string()),
                start,
                end: i,
            });
            continue;
        }
        if c.is_ascii_digit() {
            while i < b.len() && (b[i] as char).is_ascii_digit() {
                i += 1;
            }
            let mut float = false;
            if i + 1 < b.len() && b[i] == b'.' && (b[i + 1] as char).is_ascii_digit() {
                float = true;
                i += 1;
                while i < b.len() && (b[i] as char).is_ascii_digit() {
                    i += 1;
                }
            }
            let text = &src[start..i];
            let tok = if float {
                Tok::Float(text.parse().unwrap())
            } else {
                Tok::Int(text.parse().unwrap())
            };
            if i < b.len() && b[i] == b'f' {
                i += 1;
            }
            out.push(T { tok, start, end: i });
            continue;
        }
        let p = PUNCT
            .iter()
            .find(|p| src[i..].starts_with(**p))
            .unwrap_or_else(|| panic!("mini-syntax: bad char {c:?} at {i}"));
        i += p.len();
        out.push(T {
            tok: Tok::P(p),
            start,
            end: i,
        });
    }
    out
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<T>,
    pos: usize,
    vars: HashMap<String, VarInfo>,
}

fn span_of(src: &str, start: usize, end: usize) -> Span {
    let lc = |off: usize| {
        let before = &src[..off];
        let line = before.matches('\n').count() + 1;
        let col = off - before.rfind('\n').map_or(0, |p| p + 1) + 1;
        (line, col)
    };
    let (sl, sc) = lc(start);
    let (el, ec) = lc(end);
    Span {
        start_byte: start,
        end_byte: end,
        start_line: sl,
        start_col: sc,
        end_line: el,
        end_col: ec,
    }
}

impl<'s> Parser<'s> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }
    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::P(q)) if *q == p)
    }
    fn is_id(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Id(q)) if q == s)
    }
    fn eat(&mut self, p: &str) {
        assert!(
            self.is(p),
            "mini-syntax: expected {p:?}, got {:?}",
            self.peek()
        );
        self.pos += 1;
    }
    fn id(&mut self) -> String {
        match self.peek().cloned() {
            Some(Tok::Id(s)) => {
                self.pos += 1;
                s
            }
            t => panic!("mini-syntax: expected a name, got {t:?}"),
        }
    }
    fn span_from(&self, start_tok: usize) -> Span {
        let s = self.toks[start_tok].start;
        let e = self.toks[self.pos - 1].end;
        span_of(self.src, s, e)
    }

    fn block(&mut self) -> Vec<Stmt> {
        self.eat("{");
        let mut out = Vec::new();
        while !self.is("}") {
            out.push(self.stmt());
        }
        self.eat("}");
        out
    }

    fn stmt(&mut self) -> Stmt {
        let st = self.pos;
        let kind = if self.is_id("for") || self.is_id("thread") || self.is_id("comp") {
            let kw = self.id();
            let split = kw == "thread" && self.is("!");
            if split {
                self.eat("!");
            }
            let name = self.id();
            let (var, kind) = match kw.as_str() {
                "for" => (name, LoopKind::Serial),
                "comp" => (name, LoopKind::Comprehension),
                _ => {
                    let (v, axis) = name.rsplit_once('.').expect("thread var.axis");
                    (
                        v.to_string(),
                        LoopKind::CudaThread {
                            axis: axis.chars().next().unwrap(),
                            split,
                        },
                    )
                }
            };
            assert!(self.is_id("in"));
            self.pos += 1;
            let start = self.expr();
            self.eat("..");
            let end = self.expr();
            let step = if self.is_id("step") {
                self.pos += 1;
                self.expr()
            } else {
                Expr::Int(1)
            };
            let header = self.span_from(st);
            let body = self.block();
            StmtKind::Loop(Loop {
                var,
                start,
                end,
                step,
                kind,
                header,
                body,
            })
        } else if self.is_id("if") {
            self.pos += 1;
            let cond = self.expr();
            let then = self.block();
            let els = if self.is_id("else") {
                self.pos += 1;
                self.block()
            } else {
                Vec::new()
            };
            StmtKind::If { cond, then, els }
        } else if self.is_id("opaque") {
            self.pos += 1;
            StmtKind::Opaque(self.block())
        } else if self.is_id("sync") {
            self.pos += 1;
            self.eat(";");
            StmtKind::Barrier
        } else if self.is_id("decl") || self.is_id("shared") {
            let shared = self.id() == "shared";
            let ty = self.id();
            let name = self.id();
            let mut dims = Vec::new();
            while self.is("[") {
                self.pos += 1;
                dims.push(self.expr());
                self.eat("]");
            }
            let init = if self.is("=") {
                self.pos += 1;
                Some(self.expr())
            } else {
                None
            };
            self.eat(";");
            let elem = ElemType::from_name(&ty);
            self.vars.insert(
                name.clone(),
                VarInfo {
                    elem: elem.clone(),
                    rank: dims.len(),
                    shape: dims.clone(),
                    is_array: !dims.is_empty(),
                    shared,
                    ndarray: false,
                    container: None,
                    vector_lanes: None,
                },
            );
            StmtKind::Decl {
                name,
                elem,
                dims,
                shared,
                init,
            }
        } else {
            let target = self.expr();
            let op = match self.peek() {
                Some(Tok::P("=")) => AssignOp::Set,
                Some(Tok::P("+=")) => AssignOp::Add,
                Some(Tok::P("-=")) => AssignOp::Sub,
                Some(Tok::P("*=")) => AssignOp::Mul,
                Some(Tok::P("/=")) => AssignOp::Div,
                t => panic!("mini-syntax: expected an assignment, got {t:?}"),
            };
            self.pos += 1;
            let value = self.expr();
            self.eat(";");
            StmtKind::Assign { target, op, value }
        };
        Stmt {
            kind,
            span: self.span_from(st),
        }
    }

    fn expr(&mut self) -> Expr {
        self.binary(0)
    }

    fn binop(&self) -> Option<(BinOp, u8)> {
        let Some(Tok::P(p)) = self.peek() else {
            return None;
        };
        Some(match *p {
            "||" => (BinOp::Or, 1),
            "&&" => (BinOp::And, 2),
            "==" => (BinOp::Eq, 3),
            "!=" => (BinOp::Ne, 3),
            "<" => (BinOp::Lt, 4),
            "<=" => (BinOp::Le, 4),
            ">" => (BinOp::Gt, 4),
            ">=" => (BinOp::Ge, 4),
            "<<" => (BinOp::Shl, 5),
            ">>" => (BinOp::Shr, 5),
            "+" => (BinOp::Add, 6),
            "-" => (BinOp::Sub, 6),
            "*" => (BinOp::Mul, 7),
            "/" => (BinOp::Div, 7),
            "%" => (BinOp::Rem, 7),
            _ => return None,
        })
    }

    fn binary(&mut self, min: u8) -> Expr {
        let mut lhs = self.unary();
        while let Some((op, p)) = self.binop() {
            if p < min {
                break;
            }
            self.pos += 1;
            let rhs = self.binary(p + 1);
            lhs = Expr::bin(op, lhs, rhs);
        }
        lhs
    }

    fn unary(&mut self) -> Expr {
        if self.is("-") {
            self.pos += 1;
            return Expr::Unary(UnOp::Neg, Box::new(self.unary()));
        }
        if self.is("*") {
            self.pos += 1;
            return Expr::Unary(UnOp::Deref, Box::new(self.unary()));
        }
        if self.is("!") {
            self.pos += 1;
            return Expr::Unary(UnOp::Not, Box::new(self.unary()));
        }
        let mut e = self.primary();
        loop {
            if self.is("[") {
                self.pos += 1;
                let mut idx = vec![self.expr()];
                while self.is(",") {
                    self.pos += 1;
                    idx.push(self.expr());
                }
                self.eat("]");
                e = Expr::Index {
                    base: Box::new(e),
                    idx,
                };
            } else if self.is("(") {
                let Expr::Var(func) = e else {
                    panic!("mini-syntax: call of a non-name")
                };
                self.pos += 1;
                let mut args = Vec::new();
                while !self.is(")") {
                    args.push(self.expr());
                    if self.is(",") {
                        self.pos += 1;
                    }
                }
                self.eat(")");
                e = Expr::Call {
                    func,
                    recv: None,
                    args,
                    kwargs: Vec::new(),
                };
            } else {
                return e;
            }
        }
    }

    fn primary(&mut self) -> Expr {
        match self.peek().cloned() {
            Some(Tok::Int(v)) => {
                self.pos += 1;
                Expr::Int(v)
            }
            Some(Tok::Float(v)) => {
                self.pos += 1;
                Expr::Float(v)
            }
            Some(Tok::Id(s)) => {
                self.pos += 1;
                Expr::Var(s)
            }
            Some(Tok::P("(")) => {
                self.pos += 1;
                let e = self.expr();
                self.eat(")");
                e
            }
            t => panic!("mini-syntax: unexpected {t:?}"),
        }
    }
}

/// Parses a parameter list such as `"A: f32[N][K], B: f32*, C: f32**, x: nd f64[M], L: list"`.
fn params(decls: &str) -> Vec<(String, VarInfo)> {
    let mut out = Vec::new();
    for d in decls.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let (name, ty) = d.split_once(':').expect("name: type");
        let mut ty = ty.trim();
        let mut info = VarInfo::default();
        if let Some(rest) = ty.strip_prefix("nd ") {
            info.ndarray = true;
            ty = rest.trim();
        }
        if let Some(rest) = ty.strip_prefix("shared ") {
            info.shared = true;
            ty = rest.trim();
        }
        if ty == "list" {
            // A Python list of lists of floats.
            info.elem = Some(ElemType::PyFloat);
            info.rank = 2;
            info.is_array = true;
            out.push((name.trim().to_string(), info));
            continue;
        }
        let elem_end = ty.find(['[', '*']).unwrap_or(ty.len());
        let elem = &ty[..elem_end];
        info.elem = ElemType::from_name(elem).or_else(|| Some(ElemType::Named(elem.to_string())));
        let rest = &ty[elem_end..];
        let stars = rest.matches('*').count();
        let shape: Vec<Expr> = rest
            .split('[')
            .skip(1)
            .map(|s| {
                let s = s.trim_end_matches(']');
                let mut p = Parser {
                    src: s,
                    toks: lex(s),
                    pos: 0,
                    vars: HashMap::new(),
                };
                p.expr()
            })
            .collect();
        info.rank = stars + shape.len();
        info.is_array = info.rank > 0;
        info.shape = shape;
        if info.ndarray && info.shape.is_empty() {
            info.is_array = true;
        }
        out.push((name.trim().to_string(), info));
    }
    out
}

/// Builds a function from a parameter list and a body in the mini-syntax.
pub fn func(name: &str, kind: FnKind, decls: &str, body: &str) -> Function {
    let mut p = Parser {
        src: body,
        toks: lex(body),
        pos: 0,
        vars: HashMap::new(),
    };
    let mut stmts = Vec::new();
    while p.pos < p.toks.len() {
        stmts.push(p.stmt());
    }
    let mut vars = p.vars;
    let ps = params(decls);
    let names = ps.iter().map(|(n, _)| n.clone()).collect();
    for (n, v) in ps {
        vars.insert(n, v);
    }
    Function {
        name: name.to_string(),
        kind,
        params: names,
        template_params: Vec::new(),
        template_order: Vec::new(),
        vars,
        body: stmts,
        span: span_of(body, 0, body.len()),
    }
}

/// Builds a file from functions and integer constants.
pub fn file(lang: Lang, consts: &[(&str, i64)], functions: Vec<Function>) -> File {
    File {
        lang,
        functions,
        consts: consts
            .iter()
            .map(|(n, v)| (n.to_string(), Expr::Int(*v)))
            .collect(),
        const_origins: HashMap::new(),
        type_aliases: HashMap::new(),
        imports: Vec::new(),
        syntax_problems: Vec::new(),
    }
}

/// Runs one rule over a file.
pub fn run(rule: &'static dyn Rule, f: &File) -> Vec<Finding> {
    let cx = Context::new(f, "");
    let mut out = Reports::default();
    out.check(rule, &cx);
    out.findings()
}

/// Runs every registered rule over a file.
pub fn run_all(f: &File) -> Vec<Finding> {
    crate::detectors::run_all(f, "")
        .into_iter()
        .map(|r| r.finding)
        .collect()
}

/// A host C function in a file with the given constants.
pub fn host(consts: &[(&str, i64)], decls: &str, body: &str) -> File {
    file(Lang::C, consts, vec![func("f", FnKind::Host, decls, body)])
}

#[test]
fn mini_syntax_parses_a_nest() {
    let f = func(
        "f",
        FnKind::Host,
        "A: f32[N][N], B: f32*",
        "for i in 0..N {\n  x[i, 2] += -A[i][k] * *(B + i) / 2;\n}",
    );
    let StmtKind::Loop(l) = &f.body[0].kind else {
        panic!()
    };
    assert_eq!(l.var, "i");
    assert_eq!(l.body[0].span.start_line, 2);
    let StmtKind::Assign { target, op, value } = &l.body[0].kind else {
        panic!()
    };
    assert_eq!(*op, AssignOp::Add);
    assert_eq!(target.to_string(), "x[i][2]");
    assert_eq!(value.to_string(), "-A[i][k]**(B+i)/2");
    assert!(f.vars["A"].is_array && f.vars["A"].shape.len() == 2);
    assert_eq!(f.vars["B"].rank, 1);
}
