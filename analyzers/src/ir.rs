//! The kernel IR: a small, language-neutral picture of loop nests, array
//! accesses and scalar updates that the three front ends (C, CUDA/C++,
//! Python) lower into and that every detector reads.
//!
//! Invariants:
//! - The IR is plain data. Front ends build it from a tree-sitter tree; the
//!   normalisation passes in [`crate::normalize`] rewrite it in place; the
//!   detectors only read it.
//! - Loops are counted: `for var in start..end step step` with `end`
//!   exclusive. Anything that is not plainly counted is lowered as
//!   [`StmtKind::Opaque`] with its body kept, so that nests inside it are
//!   still seen.
//! - Array accesses are [`Expr::Index`] with the base as an expression and one
//!   index expression per subscript; [`Access::of`] flattens chains
//!   (`A[i][k]`), pointer arithmetic (`*(A + i*K + k)`) and partial aliases into
//!   one (base, indices) pair.
//! - Every statement carries the [`Span`] of its source text.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::Serialize;

/// A source range: byte offsets and 1-based line/column (columns count bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    pub start_byte: usize,
    pub end_byte: usize,
    pub start_line: usize,
    pub start_col: usize,
    pub end_line: usize,
    pub end_col: usize,
}

impl Span {
    /// The smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        let (start, end) = (
            if self.start_byte <= other.start_byte {
                self
            } else {
                other
            },
            if self.end_byte >= other.end_byte {
                self
            } else {
                other
            },
        );
        Span {
            start_byte: start.start_byte,
            start_line: start.start_line,
            start_col: start.start_col,
            end_byte: end.end_byte,
            end_line: end.end_line,
            end_col: end.end_col,
        }
    }
}

/// The source language a file was parsed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    C,
    /// CUDA and C++ (the CUDA grammar is a C++ superset).
    Cuda,
    Python,
}

impl Lang {
    /// The language for a file name, from its extension.
    pub fn from_path(path: &str) -> Option<Lang> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "c" | "h" => Some(Lang::C),
            "cu" | "cuh" | "cc" | "cpp" | "cxx" | "hpp" | "hh" | "hxx" => Some(Lang::Cuda),
            "py" | "pyi" => Some(Lang::Python),
            _ => None,
        }
    }

    /// The language for a file, from its extension and, for a `.h` file,
    /// its text: a header with C++ constructs in its code (a class,
    /// namespace, template, `::`) is C++ as clangd guesses it
    /// (`frontend/c/dialect.rs`); every other file is [`Lang::from_path`]'s.
    pub fn of_file(path: &str, text: &str) -> Option<Lang> {
        let lang = Lang::from_path(path)?;
        let header = path
            .rsplit_once('.')
            .is_some_and(|(_, e)| e.eq_ignore_ascii_case("h"));
        if header && crate::frontend::c::looks_like_cpp(text) {
            return Some(Lang::Cuda);
        }
        Some(lang)
    }
}

/// Element types that the detectors report.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ElemType {
    F16,
    Bf16,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    /// A Python `float` held in a list (a boxed f64).
    PyFloat,
    /// A template parameter or a name we could not resolve, kept as written.
    Named(String),
}

impl ElemType {
    /// The short name used in messages and JSON (`f32`, `f64`, `py-float`, ...).
    pub fn short(&self) -> String {
        match self {
            ElemType::F16 => "f16".into(),
            ElemType::Bf16 => "bf16".into(),
            ElemType::F32 => "f32".into(),
            ElemType::F64 => "f64".into(),
            ElemType::I8 => "i8".into(),
            ElemType::I16 => "i16".into(),
            ElemType::I32 => "i32".into(),
            ElemType::I64 => "i64".into(),
            ElemType::PyFloat => "f64".into(),
            ElemType::Named(n) => n.clone(),
        }
    }

    /// Maps a C/C++/CUDA/NumPy/PyTorch type spelling to an element type.
    /// Returns `None` for names that are not numeric element types.
    pub fn from_name(name: &str) -> Option<ElemType> {
        let n = name
            .trim()
            .trim_start_matches("const ")
            .trim_end_matches(" const")
            .trim();
        let last = n.rsplit(['.', ':']).next().unwrap_or(n);
        Some(match last {
            "float" | "float32" | "f32" | "single" => ElemType::F32,
            "double" | "float64" | "f64" | "long double" => ElemType::F64,
            "half" | "__half" | "float16" | "f16" | "_Float16" => ElemType::F16,
            "__nv_bfloat16" | "bfloat16" | "bf16" | "__bf16" => ElemType::Bf16,
            "int8_t" | "int8" | "char" | "signed char" => ElemType::I8,
            "int16_t" | "int16" | "short" => ElemType::I16,
            "int" | "int32_t" | "int32" | "unsigned" | "unsigned int" | "uint32_t" => ElemType::I32,
            "long" | "long long" | "int64_t" | "int64" | "size_t" | "ptrdiff_t" => ElemType::I64,
            _ => return None,
        })
    }
}

/// Binary operators that the IR keeps apart; everything else is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    /// Integer/floor division where the language says so (`//` in Python).
    FloorDiv,
    Rem,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
    Shl,
    Shr,
    BitAnd,
    BitOr,
    BitXor,
    Pow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    Neg,
    Not,
    /// `*p`
    Deref,
    /// `&x`
    AddrOf,
}

/// An expression. Names are kept as written, with attribute chains dotted
/// (`self.t`, `blockIdx.x`, `np.float32`).
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Int(i64),
    Float(f64),
    Str(String),
    Var(String),
    /// `base[i0][i1]...` or `base[i0, i1]`: one entry per subscript position.
    Index {
        base: Box<Expr>,
        idx: Vec<Expr>,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A call by (dotted) name. Method calls `x.f(a)` are lowered as
    /// `Call { func: "f", recv: Some(x), args: [a] }`.
    ///
    /// Conventions for calls the front ends synthesise: a C/CUDA ternary
    /// `c ? a : b` is `Call { func: "select", recv: None, args: [c, a, b] }`,
    /// except the min/max shapes (`x < y ? x : y`), which are
    /// `Call { func: "min" | "max", args: [x, y] }`. A pointer cast to a
    /// CUDA vector type (`reinterpret_cast<float4 *>(p)`, `(double2 *)p`)
    /// is `Call { func: "vector", args: [p, Int(lanes)] }` until
    /// `normalize` expands each vector access into its lanes. A Python
    /// `return a, b` returns `Call { func: "tuple", args: [a, b] }`.
    Call {
        func: String,
        recv: Option<Box<Expr>>,
        args: Vec<Expr>,
        /// Python keyword arguments (`device="cuda"`, `dim=-1`); a CUDA
        /// launch's grid and block ([`LAUNCH_GRID`], [`LAUNCH_BLOCK`]).
        kwargs: Vec<(String, Expr)>,
    },
    /// A whole-array matrix product: Python `a @ b`, `np.dot`, `np.matmul`,
    /// `torch.matmul`, `torch.mm`, `torch.bmm`.
    MatMul(Box<Expr>, Box<Expr>),
    /// A whole-array transpose of the last two axes: `.T`, `.mT`,
    /// `.transpose(-2, -1)`, `np.swapaxes(x, -1, -2)`.
    Transpose(Box<Expr>),
    /// Code with no structured form (`a if c else b`, casts we drop, ...)
    /// kept as text so that detectors can still match names inside. C
    /// ternaries are `Call { func: "select" }`, not `Other`.
    Other(String),
}

impl Expr {
    pub fn var(name: &str) -> Expr {
        Expr::Var(name.to_string())
    }

    pub fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
        Expr::Binary(op, Box::new(a), Box::new(b))
    }

    /// Visits this expression and all sub-expressions, parents first.
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        self.walk_pruned(&mut |e| {
            f(e);
            true
        });
    }

    /// Visits this expression and its sub-expressions, parents first,
    /// descending into a node's children only where `f` returns true.
    pub fn walk_pruned(&self, f: &mut dyn FnMut(&Expr) -> bool) {
        if !f(self) {
            return;
        }
        match self {
            Expr::Index { base, idx } => {
                base.walk_pruned(f);
                for e in idx {
                    e.walk_pruned(f);
                }
            }
            Expr::Unary(_, a) | Expr::Transpose(a) => a.walk_pruned(f),
            Expr::Binary(_, a, b) | Expr::MatMul(a, b) => {
                a.walk_pruned(f);
                b.walk_pruned(f);
            }
            Expr::Call {
                recv, args, kwargs, ..
            } => {
                if let Some(r) = recv {
                    r.walk_pruned(f);
                }
                for a in args.iter().chain(kwargs.iter().map(|(_, v)| v)) {
                    a.walk_pruned(f);
                }
            }
            Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Var(_) | Expr::Other(_) => {}
        }
    }

    /// Rewrites this expression bottom-up with `f` (children first).
    pub fn map(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let e = self.map_children(&mut |c| c.map(f));
        f(e)
    }

    /// This expression with each direct sub-expression replaced by `f` of
    /// it (no deeper: `f` recurses itself where it wants to, as a rewrite
    /// that must leave some subtrees alone does).
    pub fn map_children(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        match self {
            Expr::Index { base, idx } => Expr::Index {
                base: Box::new(f(*base)),
                idx: idx.into_iter().map(&mut *f).collect(),
            },
            Expr::Unary(op, a) => Expr::Unary(op, Box::new(f(*a))),
            Expr::Transpose(a) => Expr::Transpose(Box::new(f(*a))),
            Expr::Binary(op, a, b) => {
                let a = f(*a);
                Expr::Binary(op, Box::new(a), Box::new(f(*b)))
            }
            Expr::MatMul(a, b) => {
                let a = f(*a);
                Expr::MatMul(Box::new(a), Box::new(f(*b)))
            }
            Expr::Call {
                func,
                recv,
                args,
                kwargs,
            } => Expr::Call {
                func,
                recv: recv.map(|r| Box::new(f(*r))),
                args: args.into_iter().map(&mut *f).collect(),
                kwargs: kwargs.into_iter().map(|(k, v)| (k, f(v))).collect(),
            },
            leaf => leaf,
        }
    }

    /// All variable names read by this expression (array bases included).
    pub fn vars(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.walk(&mut |e| {
            if let Expr::Var(v) = e {
                out.insert(v.clone());
            }
        });
        out
    }

    /// True if `name` occurs as a variable anywhere inside.
    pub fn mentions(&self, name: &str) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if let Expr::Var(v) = e {
                if v == name {
                    found = true;
                }
            }
        });
        found
    }

    /// Replaces every `Var(name)` by `with`.
    pub fn substitute(self, name: &str, with: &Expr) -> Expr {
        self.map(&mut |e| match e {
            Expr::Var(ref v) if v == name => with.clone(),
            other => other,
        })
    }

    /// The affine/polynomial view of an integer expression, if it has one.
    pub fn to_poly(&self) -> Option<Poly> {
        Poly::from_expr(self)
    }

    /// Evaluates an integer expression given values for names.
    pub fn eval(&self, env: &dyn Fn(&str) -> Option<i64>) -> Option<i64> {
        Some(match self {
            Expr::Int(v) => *v,
            Expr::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => *f as i64,
            Expr::Var(v) => env(v)?,
            Expr::Unary(UnOp::Neg, a) => a.eval(env)?.checked_neg()?,
            Expr::Binary(op, a, b) => {
                let (x, y) = (a.eval(env)?, b.eval(env)?);
                match op {
                    BinOp::Add => x.checked_add(y)?,
                    BinOp::Sub => x.checked_sub(y)?,
                    BinOp::Mul => x.checked_mul(y)?,
                    BinOp::Div | BinOp::FloorDiv => x.checked_div(y)?,
                    BinOp::Rem => x.checked_rem(y)?,
                    BinOp::Shl => x.checked_shl(u32::try_from(y).ok()?)?,
                    BinOp::Shr => x.checked_shr(u32::try_from(y).ok()?)?,
                    BinOp::Pow => x.checked_pow(u32::try_from(y).ok()?)?,
                    _ => return None,
                }
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Expr {
    /// A compact, C-like rendering used in messages and symbolic dims.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn prec(e: &Expr) -> u8 {
            match e {
                Expr::Binary(BinOp::Add | BinOp::Sub, ..) => 1,
                Expr::Binary(
                    BinOp::Mul | BinOp::Div | BinOp::FloorDiv | BinOp::Rem | BinOp::Pow,
                    ..,
                ) => 2,
                Expr::Binary(..) => 0,
                _ => 3,
            }
        }
        fn paren(f: &mut fmt::Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
            if prec(e) < min {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        }
        match self {
            Expr::Int(v) => write!(f, "{v}"),
            Expr::Float(v) => write!(f, "{v}"),
            Expr::Str(s) => write!(f, "{s:?}"),
            Expr::Var(v) => write!(f, "{v}"),
            Expr::Index { base, idx } => {
                paren(f, base, 3)?;
                for i in idx {
                    write!(f, "[{i}]")?;
                }
                Ok(())
            }
            Expr::Unary(op, a) => {
                let s = match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "!",
                    UnOp::Deref => "*",
                    UnOp::AddrOf => "&",
                };
                write!(f, "{s}")?;
                paren(f, a, 3)
            }
            Expr::Binary(op, a, b) => {
                let (s, p) = match op {
                    BinOp::Add => ("+", 1),
                    BinOp::Sub => ("-", 1),
                    BinOp::Mul => ("*", 2),
                    BinOp::Div => ("/", 2),
                    BinOp::FloorDiv => ("//", 2),
                    BinOp::Rem => ("%", 2),
                    BinOp::Lt => ("<", 0),
                    BinOp::Le => ("<=", 0),
                    BinOp::Gt => (">", 0),
                    BinOp::Ge => (">=", 0),
                    BinOp::Eq => ("==", 0),
                    BinOp::Ne => ("!=", 0),
                    BinOp::And => ("&&", 0),
                    BinOp::Or => ("||", 0),
                    BinOp::Shl => ("<<", 0),
                    BinOp::Shr => (">>", 0),
                    BinOp::BitAnd => ("&", 0),
                    BinOp::BitOr => ("|", 0),
                    BinOp::BitXor => ("^", 0),
                    BinOp::Pow => ("**", 2),
                };
                paren(f, a, p)?;
                write!(f, "{s}")?;
                // Right operands of non-commutative ops need parens at equal precedence.
                let rp = if matches!(op, BinOp::Sub | BinOp::Div | BinOp::FloorDiv | BinOp::Rem) {
                    p + 1
                } else {
                    p
                };
                paren(f, b, rp)
            }
            Expr::Call {
                func,
                recv,
                args,
                kwargs,
            } => {
                if let Some(r) = recv {
                    paren(f, r, 3)?;
                    write!(f, ".")?;
                }
                write!(f, "{func}(")?;
                let mut first = true;
                for a in args {
                    if !first {
                        write!(f, ", ")?;
                    }
                    first = false;
                    write!(f, "{a}")?;
                }
                for (k, v) in kwargs {
                    if !first {
                        write!(f, ", ")?;
                    }
                    first = false;
                    write!(f, "{k}={v}")?;
                }
                write!(f, ")")
            }
            Expr::MatMul(a, b) => write!(f, "({a} @ {b})"),
            Expr::Transpose(a) => {
                paren(f, a, 3)?;
                write!(f, ".T")
            }
            Expr::Other(s) => write!(f, "{s}"),
        }
    }
}

/// A normalised array access: `base[idx0][idx1]...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Access {
    /// The array's name as written (`A`, `self.t`, `d_A`).
    pub base: String,
    /// One index expression per subscript position (after flattening chains
    /// and folding pointer offsets into the first index).
    pub idx: Vec<Expr>,
}

impl Access {
    /// Normalises `e` into an access, if it is one:
    /// `A[i][k]` and `A[i, k]` → `A, [i, k]`; `*(A + i*K + k)` → `A, [i*K + k]`;
    /// `(A + off)[e]` → `A, [off + e]`. `is_array` says which names are arrays
    /// or pointers (to pick the base out of a pointer sum).
    pub fn of(e: &Expr, is_array: &dyn Fn(&str) -> bool) -> Option<Access> {
        match e {
            Expr::Index { base, idx } => {
                if let Some(mut inner) = Access::of(base, is_array) {
                    inner.idx.extend(idx.iter().cloned());
                    return Some(inner);
                }
                if let Some((b, off)) = pointer_sum(base, is_array) {
                    let mut idx = idx.clone();
                    if let Some(first) = idx.first_mut() {
                        *first = Expr::bin(BinOp::Add, off, first.clone());
                    }
                    return Some(Access { base: b, idx });
                }
                if let Expr::Var(b) = base.as_ref() {
                    return Some(Access {
                        base: b.clone(),
                        idx: idx.clone(),
                    });
                }
                None
            }
            Expr::Unary(UnOp::Deref, inner) => {
                if let Some((b, off)) = pointer_sum(inner, is_array) {
                    return Some(Access {
                        base: b,
                        idx: vec![off],
                    });
                }
                if let Expr::Var(b) = inner.as_ref() {
                    if is_array(b) {
                        return Some(Access {
                            base: b.clone(),
                            idx: vec![Expr::Int(0)],
                        });
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The index expressions as polynomials, if every one is polynomial.
    pub fn polys(&self) -> Option<Vec<Poly>> {
        self.idx.iter().map(Poly::from_expr).collect()
    }

    /// Which of `vars` occur in the indices.
    pub fn uses(&self, vars: &[String]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for e in &self.idx {
            for v in e.vars() {
                if vars.contains(&v) {
                    out.insert(v);
                }
            }
        }
        out
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.base)?;
        for i in &self.idx {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

/// Splits `A + off` (any order of terms) into the array name and the offset.
fn pointer_sum(e: &Expr, is_array: &dyn Fn(&str) -> bool) -> Option<(String, Expr)> {
    let mut terms = Vec::new();
    fn collect(e: &Expr, sign: bool, out: &mut Vec<(bool, Expr)>) {
        match e {
            Expr::Binary(BinOp::Add, a, b) => {
                collect(a, sign, out);
                collect(b, sign, out);
            }
            Expr::Binary(BinOp::Sub, a, b) => {
                collect(a, sign, out);
                collect(b, !sign, out);
            }
            other => out.push((sign, other.clone())),
        }
    }
    collect(e, true, &mut terms);
    if terms.len() < 2 {
        return None;
    }
    let pos = terms
        .iter()
        .position(|(s, t)| *s && matches!(t, Expr::Var(v) if is_array(v)))?;
    let (_, base) = terms.remove(pos);
    let Expr::Var(base) = base else { return None };
    let mut off: Option<Expr> = None;
    for (sign, t) in terms {
        off = Some(match (off, sign) {
            (None, true) => t,
            (None, false) => Expr::Unary(UnOp::Neg, Box::new(t)),
            (Some(acc), true) => Expr::bin(BinOp::Add, acc, t),
            (Some(acc), false) => Expr::bin(BinOp::Sub, acc, t),
        });
    }
    Some((base, off?))
}

/// A polynomial with integer coefficients over named symbols: the view of an
/// index expression in which `i*K + k` has the symbolic coefficient `K` for
/// `i`. Monomials are sorted lists of symbol names (with repeats for powers).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Poly {
    pub terms: BTreeMap<Vec<String>, i64>,
}

impl Poly {
    pub fn constant(c: i64) -> Poly {
        let mut p = Poly::default();
        if c != 0 {
            p.terms.insert(Vec::new(), c);
        }
        p
    }

    pub fn symbol(name: &str) -> Poly {
        let mut p = Poly::default();
        p.terms.insert(vec![name.to_string()], 1);
        p
    }

    /// The polynomial of an index expression; `None` when it is not one, or
    /// when a coefficient overflows `i64` (`i * 9223372036854775807 * 2`).
    pub fn from_expr(e: &Expr) -> Option<Poly> {
        match e {
            Expr::Int(v) => Some(Poly::constant(*v)),
            Expr::Var(v) => Some(Poly::symbol(v)),
            Expr::Unary(UnOp::Neg, a) => Poly::from_expr(a)?.checked_scale(-1),
            Expr::Binary(BinOp::Add, a, b) => Poly::from_expr(a)?.checked_add(&Poly::from_expr(b)?),
            Expr::Binary(BinOp::Sub, a, b) => {
                Poly::from_expr(a)?.checked_add(&Poly::from_expr(b)?.checked_scale(-1)?)
            }
            Expr::Binary(BinOp::Mul, a, b) => Poly::from_expr(a)?.checked_mul(&Poly::from_expr(b)?),
            Expr::Binary(BinOp::Shl, a, b) => {
                let Expr::Int(s) = b.as_ref() else {
                    return None;
                };
                let k = 1i64.checked_shl(u32::try_from(*s).ok()?)?;
                // `1 << 63` is negative: not a stride.
                if k <= 0 {
                    return None;
                }
                Poly::from_expr(a)?.checked_scale(k)
            }
            _ => None,
        }
    }

    /// `self + o`; `None` when a coefficient overflows.
    pub fn checked_add(&self, o: &Poly) -> Option<Poly> {
        let mut r = self.clone();
        for (m, c) in &o.terms {
            let e = r.terms.entry(m.clone()).or_insert(0);
            *e = e.checked_add(*c)?;
            if *e == 0 {
                r.terms.remove(m);
            }
        }
        Some(r)
    }

    /// `k · self`; `None` when a coefficient overflows.
    pub fn checked_scale(&self, k: i64) -> Option<Poly> {
        if k == 0 {
            return Some(Poly::default());
        }
        let mut terms = BTreeMap::new();
        for (m, c) in &self.terms {
            terms.insert(m.clone(), c.checked_mul(k)?);
        }
        Some(Poly { terms })
    }

    /// `self · o`; `None` when a coefficient overflows.
    pub fn checked_mul(&self, o: &Poly) -> Option<Poly> {
        let mut r = Poly::default();
        for (m1, c1) in &self.terms {
            for (m2, c2) in &o.terms {
                let mut m: Vec<String> = m1.iter().chain(m2.iter()).cloned().collect();
                m.sort();
                let e = r.terms.entry(m.clone()).or_insert(0);
                *e = e.checked_add(c1.checked_mul(*c2)?)?;
                if *e == 0 {
                    r.terms.remove(&m);
                }
            }
        }
        Some(r)
    }

    pub fn is_zero(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn as_const(&self) -> Option<i64> {
        match self.terms.len() {
            0 => Some(0),
            1 => self.terms.get(&Vec::new()).copied(),
            _ => None,
        }
    }

    /// `self + o`, coefficients saturating at the `i64` range (polynomials
    /// from [`Poly::from_expr`] never reach it).
    pub fn add(&self, o: &Poly) -> Poly {
        let mut r = self.clone();
        for (m, c) in &o.terms {
            let e = r.terms.entry(m.clone()).or_insert(0);
            *e = e.saturating_add(*c);
            if *e == 0 {
                r.terms.remove(m);
            }
        }
        r
    }

    pub fn sub(&self, o: &Poly) -> Poly {
        self.add(&o.scale(-1))
    }

    pub fn scale(&self, k: i64) -> Poly {
        if k == 0 {
            return Poly::default();
        }
        Poly {
            terms: self
                .terms
                .iter()
                .map(|(m, c)| (m.clone(), c.saturating_mul(k)))
                .collect(),
        }
    }

    pub fn mul(&self, o: &Poly) -> Poly {
        let mut r = Poly::default();
        for (m1, c1) in &self.terms {
            for (m2, c2) in &o.terms {
                let mut m: Vec<String> = m1.iter().chain(m2.iter()).cloned().collect();
                m.sort();
                let e = r.terms.entry(m.clone()).or_insert(0);
                *e = e.saturating_add(c1.saturating_mul(*c2));
                if *e == 0 {
                    r.terms.remove(&m);
                }
            }
        }
        r
    }

    /// All symbols that occur.
    pub fn symbols(&self) -> BTreeSet<String> {
        self.terms.keys().flatten().cloned().collect()
    }

    /// The coefficient of `var` when the polynomial is affine in it
    /// (`i*K + k` → coefficient of `i` is `K`); `None` if `var` occurs with
    /// degree above one. A zero polynomial means `var` does not occur.
    pub fn coeff(&self, var: &str) -> Option<Poly> {
        let mut r = Poly::default();
        for (m, c) in &self.terms {
            let n = m.iter().filter(|s| *s == var).count();
            match n {
                0 => {}
                1 => {
                    let rest: Vec<String> = m.iter().filter(|s| *s != var).cloned().collect();
                    r.terms.insert(rest, *c);
                }
                _ => return None,
            }
        }
        Some(r)
    }

    /// The part that mentions none of `vars`.
    pub fn without(&self, vars: &[String]) -> Poly {
        Poly {
            terms: self
                .terms
                .iter()
                .filter(|(m, _)| !m.iter().any(|s| vars.contains(s)))
                .map(|(m, c)| (m.clone(), *c))
                .collect(),
        }
    }

    /// Evaluates with values for symbols.
    pub fn eval(&self, env: &dyn Fn(&str) -> Option<i64>) -> Option<i64> {
        let mut total: i64 = 0;
        for (m, c) in &self.terms {
            let mut v = *c;
            for s in m {
                v = v.checked_mul(env(s)?)?;
            }
            total = total.checked_add(v)?;
        }
        Some(total)
    }

    /// Back to an expression (for display and substitution).
    pub fn to_expr(&self) -> Expr {
        let mut out: Option<Expr> = None;
        // Higher-degree terms first, constants last: `i*K + k + 1`.
        let mut terms: Vec<(&Vec<String>, &i64)> = self.terms.iter().collect();
        terms.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        for (m, c) in terms {
            let mut t: Option<Expr> = None;
            for s in m {
                let v = Expr::Var(s.clone());
                t = Some(match t {
                    None => v,
                    Some(acc) => Expr::bin(BinOp::Mul, acc, v),
                });
            }
            let mag = c.abs();
            let term = match t {
                None => Expr::Int(mag),
                Some(t) if mag == 1 => t,
                Some(t) => Expr::bin(BinOp::Mul, Expr::Int(mag), t),
            };
            out = Some(match (out, *c < 0) {
                (None, false) => term,
                (None, true) => Expr::Unary(UnOp::Neg, Box::new(term)),
                (Some(acc), false) => Expr::bin(BinOp::Add, acc, term),
                (Some(acc), true) => Expr::bin(BinOp::Sub, acc, term),
            });
        }
        out.unwrap_or(Expr::Int(0))
    }
}

impl fmt::Display for Poly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_expr())
    }
}

/// Compound-assignment operators; `x = x + e` is normalised to `Add`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssignOp {
    Set,
    Add,
    Sub,
    Mul,
    Div,
    /// `|=`, `<<=`, ... : kept apart so that detectors ignore them.
    Other,
}

/// How a loop is executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoopKind {
    /// A sequential loop (`for`, counted `while`, `for ... in range`).
    Serial,
    /// A CUDA thread index used as a loop: one thread per iteration.
    /// `axis` is `x`, `y` or `z`; `split` is set for an index obtained by
    /// `/` or `%` from a 1-D global index.
    CudaThread { axis: char, split: bool },
    /// A Python comprehension or generator expression lowered as a loop.
    Comprehension,
}

/// A counted loop `for var in start..end (step)`, `end` exclusive.
#[derive(Clone, Debug, PartialEq)]
pub struct Loop {
    pub var: String,
    pub start: Expr,
    pub end: Expr,
    pub step: Expr,
    pub kind: LoopKind,
    /// The loop header (`for (...)` or `for i in range(n):`), for inlay hints.
    pub header: Span,
    pub body: Vec<Stmt>,
}

/// The prefixes of the loop variables that normalize/simd.rs makes: the
/// lanes of an x86 vector register and the copies of an unrolled register
/// block, each one digit of a flat index that an outer loop steps over.
pub const LANE_LOOP_PREFIX: &str = "__vlane";
pub const UNROLL_LOOP_PREFIX: &str = "__unroll";

/// Whether `var` is such a digit (see [`LANE_LOOP_PREFIX`]).
pub fn is_register_digit(var: &str) -> bool {
    var.starts_with(LANE_LOOP_PREFIX) || var.starts_with(UNROLL_LOOP_PREFIX)
}

impl Loop {
    /// The trip-count expression `end - start` (ignores the step unless it is
    /// a constant other than one).
    pub fn extent(&self) -> Expr {
        let diff = match &self.start {
            Expr::Int(0) => self.end.clone(),
            s => {
                let p = Poly::from_expr(&self.end)
                    .zip(Poly::from_expr(s))
                    .map(|(e, s)| e.sub(&s).to_expr());
                p.unwrap_or_else(|| Expr::bin(BinOp::Sub, self.end.clone(), s.clone()))
            }
        };
        match &self.step {
            Expr::Int(1) => diff,
            Expr::Int(k) if *k > 1 => Expr::bin(BinOp::Div, diff, Expr::Int(*k)),
            _ => diff,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    Loop(Loop),
    /// `target op= value`; targets are `Var` (scalar) or an indexed array.
    Assign {
        target: Expr,
        op: AssignOp,
        value: Expr,
    },
    /// A local declaration; `init` is also lowered as if it were `Set`.
    Decl {
        name: String,
        elem: Option<ElemType>,
        /// Array extents for `float t[16][16]`, empty for scalars and pointers.
        dims: Vec<Expr>,
        /// CUDA `__shared__`.
        shared: bool,
        init: Option<Expr>,
    },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    /// An expression evaluated for its effect (calls).
    Expr(Expr),
    Return(Option<Expr>),
    /// `__syncthreads()` and friends.
    Barrier,
    /// A construct we do not model (uncounted `while`, `switch`, `try`, ...);
    /// its nested statements are kept.
    Opaque(Vec<Stmt>),
}

impl Stmt {
    /// Visits this statement and every nested one, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Stmt)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }

    /// Visits this statement and every nested one mutably, parents first.
    pub fn walk_mut(&mut self, f: &mut dyn FnMut(&mut Stmt)) {
        f(self);
        match &mut self.kind {
            StmtKind::Loop(l) => l.body.iter_mut().for_each(|c| c.walk_mut(f)),
            StmtKind::If { then, els, .. } => then
                .iter_mut()
                .chain(els.iter_mut())
                .for_each(|c| c.walk_mut(f)),
            StmtKind::Opaque(b) => b.iter_mut().for_each(|c| c.walk_mut(f)),
            _ => {}
        }
    }

    /// The statement lists directly nested in this one.
    pub fn children(&self) -> Box<dyn Iterator<Item = &Stmt> + '_> {
        match &self.kind {
            StmtKind::Loop(l) => Box::new(l.body.iter()),
            StmtKind::If { then, els, .. } => Box::new(then.iter().chain(els.iter())),
            StmtKind::Opaque(b) => Box::new(b.iter()),
            _ => Box::new(std::iter::empty()),
        }
    }

    /// Calls `f` on every expression directly held by this statement (not
    /// nested statements), to rewrite it in place.
    pub fn exprs_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        match &mut self.kind {
            StmtKind::Loop(l) => {
                f(&mut l.start);
                f(&mut l.end);
                f(&mut l.step);
            }
            StmtKind::Assign { target, value, .. } => {
                f(target);
                f(value);
            }
            StmtKind::Decl { dims, init, .. } => {
                dims.iter_mut().for_each(&mut *f);
                if let Some(v) = init {
                    f(v);
                }
            }
            StmtKind::If { cond, .. } => f(cond),
            StmtKind::Expr(e) => f(e),
            StmtKind::Return(Some(e)) => f(e),
            StmtKind::Return(None) | StmtKind::Barrier | StmtKind::Opaque(_) => {}
        }
    }

    /// How many statements among `stmts` and their nested ones define
    /// `name`: assignments to it and initialised declarations count once, a
    /// loop over it twice (its start and its step).
    pub fn defs_of(stmts: &[Stmt], name: &str) -> usize {
        let mut n = 0;
        for s in stmts {
            s.walk(&mut |s| match &s.kind {
                StmtKind::Assign {
                    target: Expr::Var(v),
                    ..
                } if v == name => n += 1,
                StmtKind::Decl {
                    name: v,
                    init: Some(_),
                    ..
                } if v == name => n += 1,
                StmtKind::Loop(l) if l.var == name => n += 2,
                _ => {}
            });
        }
        n
    }

    /// Every expression directly held by this statement (not nested statements).
    pub fn exprs(&self) -> Vec<&Expr> {
        match &self.kind {
            StmtKind::Loop(l) => vec![&l.start, &l.end, &l.step],
            StmtKind::Assign { target, value, .. } => vec![target, value],
            StmtKind::Decl { init, dims, .. } => dims.iter().chain(init.iter()).collect(),
            StmtKind::If { cond, .. } => vec![cond],
            StmtKind::Expr(e) => vec![e],
            StmtKind::Return(e) => e.iter().collect(),
            StmtKind::Barrier | StmtKind::Opaque(_) => vec![],
        }
    }
}

/// What kind of function a body belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FnKind {
    /// Ordinary C/C++ host code.
    Host,
    /// CUDA `__global__`.
    CudaKernel,
    /// CUDA `__device__` helper.
    CudaDevice,
    /// A Python `def` (methods included).
    Python,
    /// Python module-level code, lowered as a pseudo-function `<module>`.
    Module,
}

/// What a name denotes inside a function, from its declaration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VarInfo {
    pub elem: Option<ElemType>,
    /// Number of subscripts the declaration allows (`float **a` → 2,
    /// `float a[N][N]` → 2, `std::vector<float>` → 1); 0 for scalars.
    pub rank: usize,
    /// Declared extents where known (`float a[N][K]` → `[N, K]`, C99 VLA
    /// `float a[n][k]` → `[n, k]`, `np.zeros((M, K))` → `[M, K]`). Only the
    /// first extent may be unknown, written `Expr::Other("?")`: a C parameter
    /// `float a[][K]` or `float (*a)[K]` → `[?, K]`. A non-empty shape of
    /// length ≥ 2 means one contiguous block; rows allocated apart have
    /// fewer extents than `rank` (`float **a` → `[]`,
    /// `vector<vector<float>> a(n, ...)` → `[n]`).
    pub shape: Vec<Expr>,
    /// True for pointers, arrays, vectors, lists and NumPy/PyTorch arrays.
    pub is_array: bool,
    /// CUDA `__shared__` memory.
    pub shared: bool,
    /// Python: a NumPy array / PyTorch tensor rather than a list.
    pub ndarray: bool,
    /// C++: the outermost container template that holds the elements
    /// (`"vector"`, `"array"`, `"deque"`, `"device_vector"`, `"unique_ptr"`,
    /// ...), `None` for built-in arrays and pointers. Rewrites need it: a
    /// `deque` is not contiguous, a `device_vector` is GPU memory, and a
    /// vector's elements are reached with `.data()`.
    pub container: Option<String>,
    /// An x86 vector register (`__m256 acc[6][2]`) read as an array of its
    /// lanes, with this many lanes as its last extent (normalize/simd.rs).
    pub vector_lanes: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// The enclosing function, kernel or `Class.method` (`<module>` for
    /// Python top-level code).
    pub name: String,
    pub kind: FnKind,
    pub params: Vec<String>,
    /// Template parameters (`template <typename T>`), so that `T` is known as
    /// an element-type parameter.
    pub template_params: Vec<String>,
    /// Every template parameter, types and values (`template <typename T,
    /// int BM>` → `[T, BM]`), in order: what a call's template arguments
    /// (`ns::f<float, 64>(...)`) bind when the function is inlined.
    pub template_order: Vec<String>,
    /// Declared names: parameters and locals.
    pub vars: HashMap<String, VarInfo>,
    pub body: Vec<Stmt>,
    pub span: Span,
}

impl Function {
    pub fn is_array(&self, name: &str) -> bool {
        self.vars.get(name).is_some_and(|v| v.is_array)
    }

    /// Visits every statement in the body, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Stmt)) {
        for s in &self.body {
            s.walk(f);
        }
    }
}

/// A syntax error the parser recovered from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyntaxProblem {
    pub span: Span,
    pub message: String,
}

/// The keyword of a CUDA launch's grid on its call (`k<<<grid, block>>>(a)`
/// is `Call { func: "k", args: [a], kwargs: [(LAUNCH_GRID, grid),
/// (LAUNCH_BLOCK, block)] }`).
pub const LAUNCH_GRID: &str = "<<<grid";
/// The keyword of a CUDA launch's block on its call ([`LAUNCH_GRID`]).
pub const LAUNCH_BLOCK: &str = "<<<block";

/// The path of a constant defined on the compiler's command line (`-D`).
pub const COMMAND_LINE: &str = "<command line -D>";

/// One parsed source file, lowered.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub lang: Lang,
    pub functions: Vec<Function>,
    /// File-level constants: `#define N 1024`, `const int N = 1024;`,
    /// enumerators, Python module-level `N = 1024`. Values are expressions so
    /// that `#define NN (N*N)` and a macro that names a parameter both work.
    pub consts: HashMap<String, Expr>,
    /// Where each constant of `consts` is defined, where the front end
    /// knows: (path, 1-based line); the path is [`COMMAND_LINE`] for `-D`.
    pub const_origins: HashMap<String, (String, usize)>,
    /// Type aliases: `#define DATA_TYPE double`, `typedef float real;`,
    /// `using T = float;`.
    pub type_aliases: HashMap<String, String>,
    /// Modules the file imports (Python: `numpy`, `torch.nn.functional`;
    /// C/C++/CUDA: the `#include`d header names, `cublas_v2.h`).
    pub imports: Vec<String>,
    pub syntax_problems: Vec<SyntaxProblem>,
}

impl File {
    /// True when the file imports `module` or a submodule of it.
    pub fn imports_module(&self, module: &str) -> bool {
        self.imports
            .iter()
            .any(|m| m == module || m.strip_prefix(module).is_some_and(|r| r.starts_with('.')))
    }

    /// True for a Python file that computes with exact or arbitrary-precision
    /// numbers (SymPy, mpmath, `fractions`, `decimal`, gmpy2) and imports no
    /// array library: its loops are over symbolic or big numbers, which no
    /// BLAS call can take.
    pub fn exact_arithmetic(&self) -> bool {
        self.lang == Lang::Python
            && !self.imports_array_library()
            && ["sympy", "mpmath", "fractions", "decimal", "gmpy2", "flint"]
                .iter()
                .any(|m| self.imports_module(m))
    }

    /// True for a Python file that imports an array library whose arrays
    /// have BLAS-backed matrix products (NumPy, PyTorch, CuPy, JAX,
    /// TensorFlow, SciPy).
    pub fn imports_array_library(&self) -> bool {
        ["numpy", "torch", "cupy", "jax", "tensorflow", "scipy"]
            .iter()
            .any(|m| self.imports_module(m))
    }
    /// Resolves a name to an integer through the file's constants (macros
    /// that name other macros are followed, with a depth limit).
    pub fn const_value(&self, name: &str) -> Option<i64> {
        fn go(f: &File, name: &str, depth: u32) -> Option<i64> {
            if depth > 16 {
                return None;
            }
            let e = f.consts.get(name)?;
            e.eval(&|n| go(f, n, depth + 1))
        }
        go(self, name, 0)
    }

    /// Evaluates an expression through the file's constants.
    pub fn eval(&self, e: &Expr) -> Option<i64> {
        e.eval(&|n| self.const_value(n))
    }

    /// Resolves a type name through aliases to an element type.
    pub fn elem_type(&self, name: &str) -> Option<ElemType> {
        let mut n = name.trim().to_string();
        for _ in 0..16 {
            if let Some(t) = ElemType::from_name(&n) {
                return Some(t);
            }
            match self.type_aliases.get(&n) {
                Some(next) => n = next.clone(),
                None => break,
            }
        }
        None
    }
}
