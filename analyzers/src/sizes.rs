//! Size inference: every dim's value and where it came from
//! ([`SizeSource`]). The detectors give each [`Dim`] its expression and the
//! value the file's literals and constants give; [`infer`] then, for every
//! finding, evaluates each dim again with, in this order:
//!
//! 1. the user's word: a `gemmscope: size NAME=VALUE ...` comment on or
//!    above the loop or its function ([`annotations`]), then the
//!    configuration's `[sizes.FUNCTION]` table ([`crate::BuildContext`]);
//! 2. the enclosing function's parameters: the arguments of its call sites
//!    that are constant (a literal, a constant expression, a local
//!    initialised once to one), in this file ([`index_file`] of the file
//!    itself) and, where the caller hands over a [`ProjectIndex`], in the
//!    project's other files; a caller's own parameter is followed to its
//!    call sites, up to [`MAX_WRAPPERS`] levels. Several values: the most
//!    frequent (else the largest) is the dim's value, the others are kept
//!    in [`Dim::others`];
//! 3. a local initialised once, then the file's constants (macros through
//!    `#if` chains and headers, as the front end resolved them), then
//!    Python configured defaults (a config class's field, an argparse
//!    option: [`SizeSource::Default`]);
//! 4. for dims still unknown, the allocations of the buffers the call
//!    sites pass for the operands ([`SizeSource::Allocation`]).
//!
//! A CUDA launch `k<<<grid, block>>>(args)` is a call site whose
//! configuration gives the kernel's `gridDim` / `blockDim`; an argument
//! may be an expression of the caller's parameters (`B*T`, `dims.x / 16`).
//!
//! A call site counts for a function only where it can reach it: same name
//! and number of arguments, in the function's own file, or in another file
//! that does not define a function of that name itself, and never for a C
//! `static` function from another file.
//!
//! No I/O: the project index is built by the caller from the files it
//! reads ([`crate::index`]) and handed in.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use crate::finding::{Dim, Finding, SizeSource};
use crate::ir::{
    BinOp, Expr, File, Function, Stmt, StmtKind, COMMAND_LINE, LAUNCH_BLOCK, LAUNCH_GRID,
};
use crate::BuildContext;

/// How many levels of wrapper functions a parameter is followed through.
pub const MAX_WRAPPERS: usize = 3;

/// A dim's extent as an expression (kept on the [`Dim`], not serialised).
#[derive(Clone, Debug, PartialEq)]
pub struct Sym(pub(crate) Expr);

impl Eq for Sym {}

/// What a call passes for one argument, as far as its own file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A constant, and where it came from (a literal, a constant, a local).
    Value(u64, SizeSource),
    /// The caller's own parameter of this name.
    Param(String),
    /// An array whose declared extents are known, with where they came
    /// from (`a = np.zeros((512, 256))`, `float a[M][K]`): each extent's
    /// value where constant.
    Shape(Vec<Option<u64>>, SizeSource),
    /// An expression over the caller's parameters (`B*T`, `dims.x / 16`,
    /// `(n + 31) / 32`), every other name in it replaced by its value;
    /// with the least certain source of those values, where there were any.
    Expr(Sym, Option<SizeSource>),
    /// A `dim3` value (a launch's grid or block, a `dim3` local passed on):
    /// its x, y and z.
    Dim3(Vec<Arg>),
    /// A buffer whose allocation's element count is known (`malloc(n * n *
    /// sizeof(float))`, `new float[M*K]`, `cudaMalloc(&d, bytes)`): the
    /// count, the buffer's name and the allocation's line, and what gave the
    /// count its value.
    Alloc {
        elements: u64,
        array: String,
        line: usize,
        via: Option<SizeSource>,
    },
    /// Anything else.
    Unknown,
}

impl Arg {
    /// Whether the value depends on the caller's own parameters (then the
    /// caller's call sites are needed too).
    pub fn uses_params(&self) -> bool {
        match self {
            Arg::Param(_) | Arg::Expr(..) => true,
            Arg::Dim3(parts) => parts.iter().any(Arg::uses_params),
            _ => false,
        }
    }
}

/// One call `callee(args...)` inside `caller`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    pub callee: String,
    pub caller: String,
    /// 1-based line of the statement holding the call.
    pub line: usize,
    pub args: Vec<Arg>,
    /// Python keyword arguments.
    pub kwargs: Vec<(String, Arg)>,
    /// A CUDA launch's grid and block (`k<<<grid, block>>>(...)`, each a
    /// [`Arg::Dim3`] or what gives one); empty for a plain call.
    pub launch: Vec<Arg>,
}

impl CallSite {
    /// Whether an argument (or the launch configuration) depends on the
    /// caller's own parameters.
    pub fn uses_params(&self) -> bool {
        self.args
            .iter()
            .chain(self.kwargs.iter().map(|(_, a)| a))
            .chain(&self.launch)
            .any(Arg::uses_params)
    }
}

/// A function defined in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnInfo {
    pub params: Vec<String>,
    /// C/C++ `static`: not callable from other files.
    pub is_static: bool,
}

/// One file's functions and call sites; for a Python module also what it
/// imports and where it turns a faster matmul precision on (GS602 asks the
/// project: [`crate::detectors::torch_fp32_matmul_cuda::project_scope`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileIndex {
    pub functions: BTreeMap<String, FnInfo>,
    pub calls: Vec<CallSite>,
    /// Python: the modules it imports, as written (`model`, `.model`,
    /// `nanogpt.model`).
    pub imports: Vec<String>,
    /// Python: the first line that turns TF32, a reduced precision or
    /// autocast on for PyTorch matmuls.
    pub precision_line: Option<usize>,
}

/// The project's functions and call sites, by file; built by the caller
/// (`gemmscope check` once per run over the files it walks, the language
/// server for its workspace, updated per edited document).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProjectIndex {
    files: BTreeMap<String, FileIndex>,
    /// callee → (path, index into that file's calls).
    by_callee: HashMap<String, Vec<(String, usize)>>,
}

impl ProjectIndex {
    pub fn new() -> ProjectIndex {
        ProjectIndex::default()
    }

    /// Adds or replaces the index of the file at `path` (the path as it will
    /// be handed to the analysis).
    pub fn insert(&mut self, path: &str, index: FileIndex) {
        self.remove(path);
        for (i, c) in index.calls.iter().enumerate() {
            self.by_callee
                .entry(c.callee.clone())
                .or_default()
                .push((path.to_string(), i));
        }
        self.files.insert(path.to_string(), index);
    }

    pub fn remove(&mut self, path: &str) {
        if let Some(old) = self.files.remove(path) {
            for c in &old.calls {
                if let Some(v) = self.by_callee.get_mut(&c.callee) {
                    v.retain(|(p, _)| p != path);
                }
            }
        }
    }

    /// Files indexed.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Call sites indexed, over all files.
    pub fn call_count(&self) -> usize {
        self.files.values().map(|f| f.calls.len()).sum()
    }

    /// Every call site, with its file's path.
    pub fn calls(&self) -> impl Iterator<Item = (&str, &CallSite)> {
        self.files
            .iter()
            .flat_map(|(p, f)| f.calls.iter().map(move |c| (p.as_str(), c)))
    }

    fn file(&self, path: &str) -> Option<&FileIndex> {
        self.files.get(path)
    }

    /// Every indexed file with its path.
    pub fn files(&self) -> impl Iterator<Item = (&str, &FileIndex)> {
        self.files.iter().map(|(p, f)| (p.as_str(), f))
    }
}

/// The modules a Python text imports, as written: `import a.b, c as d`
/// gives `a.b` and `c`; `from .m import x` gives `.m`. A line scan, not a
/// parse (imports are statements of their own line; one inside a string
/// or an `if` counts too, which only widens what GS602 looks at).
pub fn python_imports(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim_start();
        if let Some(rest) = l.strip_prefix("from ") {
            if let Some((m, _)) = rest.split_once(" import") {
                out.push(m.trim().to_string());
            }
        } else if let Some(rest) = l.strip_prefix("import ") {
            for part in rest.split('#').next().unwrap_or("").split(',') {
                let m = part.split_whitespace().next().unwrap_or("");
                if !m.is_empty() {
                    out.push(m.to_string());
                }
            }
        }
    }
    out
}

/// The functions and call sites of a lowered file.
pub fn index_file(file: &File, text: &str) -> FileIndex {
    let mut out = FileIndex::default();
    if file.lang == crate::ir::Lang::Python {
        out.imports = python_imports(text);
        out.precision_line = crate::detectors::torch_fp32_matmul_cuda::precision_line(file);
    }
    for f in &file.functions {
        out.functions.insert(
            f.name.clone(),
            FnInfo {
                params: f.params.clone(),
                is_static: is_static(f, text),
            },
        );
        // Built at the first call found (most functions call nothing).
        let locals = std::cell::OnceCell::new();
        f.walk(&mut |s| {
            for e in s.exprs() {
                e.walk(&mut |x| {
                    if let Expr::Call {
                        func,
                        recv: None,
                        args,
                        kwargs,
                    } = x
                    {
                        if func == &f.name || !is_ident(func) || func == "dim3" {
                            return;
                        }
                        let locals = locals.get_or_init(|| Locals::of(f));
                        let arg = |a: &Expr| arg_of(file, f, locals, a);
                        let is_launch = |k: &str| k == LAUNCH_GRID || k == LAUNCH_BLOCK;
                        out.calls.push(CallSite {
                            callee: func.clone(),
                            caller: f.name.clone(),
                            line: s.span.start_line,
                            args: args.iter().map(arg).collect(),
                            kwargs: kwargs
                                .iter()
                                .filter(|(k, _)| !is_launch(k))
                                .map(|(k, v)| (k.clone(), arg(v)))
                                .collect(),
                            launch: [LAUNCH_GRID, LAUNCH_BLOCK]
                                .into_iter()
                                .filter_map(|l| kwargs.iter().find(|(k, _)| k == l))
                                .map(|(_, v)| dim3_arg(file, f, locals, v))
                                .collect(),
                        });
                    }
                });
            }
        });
    }
    out
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// `static` before the function's name (C/C++).
fn is_static(f: &Function, text: &str) -> bool {
    let head = text
        .get(f.span.start_byte..f.span.end_byte)
        .unwrap_or("")
        .split('(')
        .next()
        .unwrap_or("");
    head.split(|c: char| !c.is_alphanumeric() && c != '_')
        .any(|w| w == "static")
}

/// The locals of a function that are declared once with an initialiser and
/// never assigned again: name → (initialiser, line); and of those, the ones
/// assigned again only inside an `if` (outside any loop), with the first such
/// line: a default the program may change (`int n = 1024; if (argc > 1) n =
/// atoi(argv[1]);`).
struct Locals(HashMap<String, (Expr, usize)>, HashMap<String, usize>);

impl Locals {
    fn of(f: &Function) -> Locals {
        /// Every statement with whether it is inside an `if` (outside any
        /// loop): `Some(true)`, in a loop: `None`.
        fn visit<'a>(
            stmts: &'a [Stmt],
            cond: Option<bool>,
            out: &mut Vec<(&'a Stmt, Option<bool>)>,
        ) {
            for s in stmts {
                out.push((s, cond));
                match &s.kind {
                    StmtKind::Loop(l) => visit(&l.body, None, out),
                    StmtKind::If { then, els, .. } => {
                        let c = cond.map(|_| true);
                        visit(then, c, out);
                        visit(els, c, out);
                    }
                    StmtKind::Opaque(b) => visit(b, cond, out),
                    _ => {}
                }
            }
        }
        let mut all = Vec::new();
        visit(&f.body, Some(false), &mut all);
        let mut decls: HashMap<String, Vec<(Option<Expr>, usize)>> = HashMap::new();
        let mut assigned: HashMap<String, usize> = HashMap::new();
        let mut in_if: HashMap<String, usize> = HashMap::new();
        for (s, cond) in &all {
            match &s.kind {
                StmtKind::Decl { name, init, .. } => decls
                    .entry(name.clone())
                    .or_default()
                    .push((init.clone(), s.span.start_line)),
                StmtKind::Assign {
                    target: Expr::Var(n),
                    ..
                } => {
                    // `dims.x = ...` changes `dims`.
                    let base = n.split_once('.').map(|(b, _)| b.to_string());
                    for name in std::iter::once(n.clone()).chain(base) {
                        if *cond == Some(true) {
                            in_if.entry(name).or_insert(s.span.start_line);
                        } else {
                            *assigned.entry(name).or_default() += 1;
                        }
                    }
                }
                StmtKind::Loop(l) => *assigned.entry(l.var.clone()).or_default() += 1,
                _ => {}
            }
        }
        // A local whose address is taken may be written through it
        // (`int bs = 0; init(&bs);`).
        f.walk(&mut |s: &Stmt| {
            for e in s.exprs() {
                e.walk(&mut |x| {
                    if let Expr::Unary(crate::ir::UnOp::AddrOf, inner) = x {
                        if let Expr::Var(n) = &**inner {
                            *assigned.entry(n.clone()).or_default() += 1;
                        }
                    }
                });
            }
        });
        let mut out = HashMap::new();
        let mut defaults = HashMap::new();
        for (name, ds) in decls {
            if let ([(Some(init), line)], None) = (ds.as_slice(), assigned.get(&name)) {
                if !f.params.contains(&name) {
                    if let Some(at) = in_if.get(&name) {
                        defaults.insert(name.clone(), *at);
                    }
                    out.insert(name, (init.clone(), *line));
                }
            }
        }
        Locals(out, defaults)
    }

    /// `g.x` of a `dim3` local `g` (`dim3 g(a, b)`): `a`; a missing
    /// component is 1.
    fn field(&self, name: &str) -> Option<Expr> {
        let (base, field) = name.split_once('.')?;
        let axis = xyz(field)?;
        match &self.0.get(base)?.0 {
            Expr::Call {
                func,
                recv: None,
                args,
                ..
            } if func == "dim3" && args.len() <= 3 => {
                Some(args.get(axis).cloned().unwrap_or(Expr::Int(1)))
            }
            _ => None,
        }
    }
}

/// The index of a `dim3` component (`x` → 0).
fn xyz(field: &str) -> Option<usize> {
    ["x", "y", "z"].iter().position(|f| *f == field)
}

/// `e` with the calls evaluation understands rewritten as arithmetic: a
/// ceiling division by any of its usual names (`ceil_div(a, b)`,
/// `CEIL_DIV`, `DIV_UP`, `iDivUp`, `cdiv`, ...) is `(a + b - 1) / b`;
/// `sizeof(float)` (a plain element type) is its size in bytes.
fn arith(e: Expr) -> Expr {
    e.map(&mut |x| match x {
        Expr::Call {
            func,
            recv: None,
            mut args,
            kwargs,
        } if args.len() == 2 && kwargs.is_empty() && is_ceil_div(&func) => {
            let b = args.pop().unwrap_or(Expr::Int(1));
            let a = args.pop().unwrap_or(Expr::Int(0));
            let up = Expr::bin(
                BinOp::Sub,
                Expr::bin(BinOp::Add, a, b.clone()),
                Expr::Int(1),
            );
            Expr::bin(BinOp::Div, up, b)
        }
        other => match sizeof_of(&other) {
            Some(n) => Expr::Int(n as i64),
            None => other,
        },
    })
}

fn is_ceil_div(name: &str) -> bool {
    let short = name.rsplit(['.', ':']).next().unwrap_or(name);
    let n: String = short
        .chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    matches!(
        n.as_str(),
        "ceildiv" | "divceil" | "cdiv" | "divup" | "idivup" | "divroundup" | "ceilingdiv"
    )
}

/// Whether `name` is a parameter of `f`, or a field of one (`dims.x`).
fn is_param_name(f: &Function, name: &str) -> bool {
    let base = name.split_once('.').map_or(name, |(b, _)| b);
    f.params.iter().any(|p| p == base)
}

/// `e` with every name that is not a parameter of `f` replaced by its
/// value (constants, locals with a constant initialiser) or by its
/// initialiser (a local computed from parameters); `None` where a name has
/// neither.
fn over_params(
    file: &File,
    f: &Function,
    locals: &Locals,
    e: &Expr,
    srcs: &RefCell<Vec<(SizeSource, Vec<u64>)>>,
    depth: usize,
) -> Option<Expr> {
    if depth > 8 {
        return None;
    }
    let mut ok = true;
    let out = arith(e.clone()).map(&mut |x| {
        let Expr::Var(n) = &x else { return x };
        if is_param_name(f, n) {
            return x;
        }
        if let Some(v) = eval_local(file, f, locals, &x, srcs, 0) {
            return Expr::Int(v);
        }
        let init = locals
            .field(n)
            .or_else(|| locals.0.get(n).map(|(i, _)| i.clone()));
        match init.and_then(|i| over_params(file, f, locals, &i, srcs, depth + 1)) {
            Some(e) => e,
            None => {
                ok = false;
                x
            }
        }
    });
    // Only arithmetic on names: evaluable with every name set to 1.
    (ok && out.eval(&|_| Some(1)).is_some()).then_some(out)
}

/// The one allocation of the buffer `name` in `f`, as an [`Arg::Alloc`]:
/// `T *p = malloc(bytes)` / `calloc(n, size)` / `new T[n]` (with or
/// without a cast), `p = ...` likewise, `cudaMalloc(&p, bytes)` (also
/// `cudaMallocManaged`, `cudaMallocHost`, `hipMalloc`). Bytes become
/// elements by dropping a `sizeof(...)` factor, else by the buffer's
/// element size. Several allocations, or a count that is not constant:
/// `None`.
fn allocation(file: &File, f: &Function, locals: &Locals, name: &str) -> Option<Arg> {
    let mut found: Vec<(&Expr, bool, usize)> = Vec::new();
    f.walk(&mut |s: &Stmt| match &s.kind {
        StmtKind::Decl {
            name: n,
            init: Some(e),
            ..
        } if n == name => found.push((e, false, s.span.start_line)),
        StmtKind::Assign {
            target: Expr::Var(n),
            value,
            ..
        } if n == name => found.push((value, false, s.span.start_line)),
        StmtKind::Expr(Expr::Call { func, args, .. })
            if matches!(
                func.as_str(),
                "cudaMalloc" | "cudaMallocManaged" | "cudaMallocHost" | "hipMalloc"
            ) && args.len() >= 2
                && addr_of(&args[0]) == Some(name) =>
        {
            found.push((&args[1], true, s.span.start_line))
        }
        _ => {}
    });
    let [(e, bytes, line)] = found.as_slice() else {
        return None;
    };
    let elem = f
        .vars
        .get(name)
        .and_then(|v| v.elem.as_ref())
        .and_then(elem_bytes);
    let (count, is_bytes) = match strip_casts(e) {
        _ if *bytes => ((*e).clone(), true),
        Expr::Call {
            func,
            args,
            recv: None,
            ..
        } if func == "malloc" && args.len() == 1 => (args[0].clone(), true),
        Expr::Call {
            func,
            args,
            recv: None,
            ..
        } if func == "calloc" && args.len() == 2 => (
            Expr::bin(BinOp::Mul, args[0].clone(), args[1].clone()),
            true,
        ),
        Expr::Other(t) => (new_count(t)?, false),
        _ => return None,
    };
    // `n * sizeof(float)`: the factors other than `sizeof`.
    let mut factors = Vec::new();
    crate::contraction::split_prod(&count, &mut factors);
    let sized = factors.iter().position(|x| sizeof_of(x).is_some());
    let srcs = RefCell::new(Vec::new());
    let elements = match (is_bytes, sized) {
        (true, Some(i)) => {
            factors.remove(i);
            let rest = factors
                .into_iter()
                .reduce(|a, b| Expr::bin(BinOp::Mul, a, b))
                .unwrap_or(Expr::Int(1));
            eval_local(file, f, locals, &rest, &srcs, 0)?
        }
        (true, None) => {
            let b = eval_local(file, f, locals, &count, &srcs, 0)?;
            let size = i64::try_from(elem?).ok()?;
            (b % size == 0).then_some(b / size)?
        }
        (false, _) => eval_local(file, f, locals, &count, &srcs, 0)?,
    };
    let elements = u64::try_from(elements).ok().filter(|v| *v > 0)?;
    let (via, _) = least_certain(srcs.into_inner());
    Some(Arg::Alloc {
        elements,
        array: name.to_string(),
        line: *line,
        via: Some(via),
    })
}

/// `p` of `&p` (also under a cast: `(void **)&p`).
fn addr_of(e: &Expr) -> Option<&str> {
    match strip_casts(e) {
        Expr::Unary(crate::ir::UnOp::AddrOf, inner) => match &**inner {
            Expr::Var(n) => Some(n),
            _ => None,
        },
        Expr::Other(t) => t.rsplit('&').next().map(str::trim).filter(|n| is_ident(n)),
        _ => None,
    }
}

/// The element count of `new T[count]` (written as text by the front end):
/// a product of names and numbers.
fn new_count(t: &str) -> Option<Expr> {
    let rest = t.trim().strip_prefix("new")?;
    let (_, count) = rest.split_once('[')?;
    let count = count.trim_end().strip_suffix(']')?;
    count
        .split('*')
        .map(|x| {
            let x = x.trim();
            x.parse::<i64>()
                .ok()
                .map(Expr::Int)
                .or_else(|| is_ident(x).then(|| Expr::Var(x.to_string())))
        })
        .try_fold(None, |acc: Option<Expr>, x| {
            let x = x?;
            Some(Some(match acc {
                None => x,
                Some(a) => Expr::bin(BinOp::Mul, a, x),
            }))
        })
        .flatten()
}

/// The size in bytes of `sizeof(T)` for a plain element type.
fn sizeof_of(e: &Expr) -> Option<u64> {
    let t = match e {
        Expr::Other(t) => t.as_str(),
        Expr::Call { func, args, .. } if func == "sizeof" && args.len() == 1 => {
            return match &args[0] {
                Expr::Var(v) => type_bytes(v),
                _ => None,
            }
        }
        _ => return None,
    };
    let inner = t.trim().strip_prefix("sizeof")?.trim();
    let inner = inner.strip_prefix('(')?.strip_suffix(')')?.trim();
    type_bytes(inner)
}

fn type_bytes(t: &str) -> Option<u64> {
    Some(match t.trim() {
        "float" | "int" | "unsigned" | "unsigned int" | "int32_t" | "uint32_t" => 4,
        "double" | "long" | "long long" | "int64_t" | "size_t" => 8,
        "half" | "__half" | "__nv_bfloat16" | "short" | "int16_t" => 2,
        "char" | "int8_t" | "uint8_t" | "signed char" | "unsigned char" => 1,
        _ => return None,
    })
}

fn elem_bytes(e: &crate::ir::ElemType) -> Option<u64> {
    use crate::ir::ElemType::*;
    Some(match e {
        F16 | Bf16 | I16 => 2,
        F32 | I32 => 4,
        F64 | I64 => 8,
        I8 => 1,
        _ => return None,
    })
}

/// A launch's grid or block: a `dim3(x, y, z)` (inline or a local), a
/// `dim3` parameter passed on, or an integer (x; y and z are 1).
fn dim3_arg(file: &File, f: &Function, locals: &Locals, e: &Expr) -> Arg {
    let e = strip_casts(e);
    // A `dim3` local set again under an `if`: its constructor is a default.
    if let Expr::Var(n) = e {
        if let (Some(at), Some((_, line))) = (locals.1.get(n), locals.0.get(n)) {
            let default = SizeSource::Default {
                name: n.clone(),
                line: *line,
                overridden: Some(*at),
            };
            let inner = Locals(locals.0.clone(), HashMap::new());
            if let Arg::Dim3(parts) = dim3_arg(file, f, &inner, e) {
                return Arg::Dim3(
                    parts
                        .into_iter()
                        .map(|p| match p {
                            Arg::Value(v, _) => Arg::Value(v, default.clone()),
                            other => other,
                        })
                        .collect(),
                );
            }
        }
    }
    let e = match e {
        Expr::Var(n) => match locals.0.get(n) {
            Some((init @ Expr::Call { func, .. }, _)) if func == "dim3" => init,
            _ => e,
        },
        _ => e,
    };
    match e {
        Expr::Call {
            func,
            recv: None,
            args,
            ..
        } if func == "dim3" && args.len() <= 3 => Arg::Dim3(
            (0..3)
                .map(|i| {
                    args.get(i).map_or(Arg::Value(1, SizeSource::Literal), |a| {
                        arg_of(file, f, locals, a)
                    })
                })
                .collect(),
        ),
        Expr::Var(n) if f.params.iter().any(|p| p == n) => Arg::Param(n.clone()),
        _ => Arg::Dim3(vec![
            arg_of(file, f, locals, e),
            Arg::Value(1, SizeSource::Literal),
            Arg::Value(1, SizeSource::Literal),
        ]),
    }
}

/// Evaluates `e` in `f` with the file's constants and `f`'s locals (not its
/// parameters), recording the least certain source used.
fn eval_local(
    file: &File,
    f: &Function,
    locals: &Locals,
    e: &Expr,
    srcs: &RefCell<Vec<(SizeSource, Vec<u64>)>>,
    depth: usize,
) -> Option<i64> {
    if depth > 16 {
        return None;
    }
    let env = |name: &str| -> Option<i64> {
        if f.params.iter().any(|p| p == name) {
            return None;
        }
        if let Some(field) = locals.field(name) {
            let v = eval_local(file, f, locals, &field, srcs, depth + 1)?;
            let base = name.split_once('.').map_or(name, |(b, _)| b);
            if let (Some(at), Some((_, line))) = (locals.1.get(base), locals.0.get(base)) {
                srcs.borrow_mut().push((
                    SizeSource::Default {
                        name: base.to_string(),
                        line: *line,
                        overridden: Some(*at),
                    },
                    Vec::new(),
                ));
            }
            return Some(v);
        }
        if let Some((init, line)) = locals.0.get(name) {
            let inner = RefCell::new(Vec::new());
            let v = eval_local(file, f, locals, init, &inner, depth + 1)?;
            let inner = inner.into_inner();
            if let Some(at) = locals.1.get(name) {
                srcs.borrow_mut().push((
                    SizeSource::Default {
                        name: name.to_string(),
                        line: *line,
                        overridden: Some(*at),
                    },
                    Vec::new(),
                ));
            } else if inner.iter().all(|(s, _)| s.rank() == 0) {
                srcs.borrow_mut().push((
                    SizeSource::Local {
                        name: name.to_string(),
                        line: *line,
                    },
                    Vec::new(),
                ));
            } else {
                srcs.borrow_mut().extend(inner);
            }
            return Some(v);
        }
        constant(
            file,
            name,
            depth,
            &|e, d, s| eval_local(file, f, locals, e, s, d),
            srcs,
        )
    };
    let v = arith(e.clone()).eval(&env)?;
    if srcs.borrow().is_empty() {
        srcs.borrow_mut().push((SizeSource::Literal, Vec::new()));
    }
    Some(v)
}

type Inner<'a> = dyn Fn(&Expr, usize, &RefCell<Vec<(SizeSource, Vec<u64>)>>) -> Option<i64> + 'a;

/// A file constant: its definition evaluated with `inner`; its own source
/// where the definition is made of literals only, else what it is made of.
fn constant(
    file: &File,
    name: &str,
    depth: usize,
    inner: &Inner<'_>,
    srcs: &RefCell<Vec<(SizeSource, Vec<u64>)>>,
) -> Option<i64> {
    let Some(def) = file.consts.get(name) else {
        return config_default(file, name, srcs);
    };
    let sub = RefCell::new(Vec::new());
    let v = inner(def, depth + 1, &sub)?;
    let sub = sub.into_inner();
    if sub.iter().all(|(s, _)| s.rank() == 0) {
        let (path, line) = match file.const_origins.get(name) {
            Some((p, _)) if p == COMMAND_LINE => (Some("the command line (-D)".to_string()), None),
            Some((p, l)) if !p.is_empty() => (Some(short_path(p)), Some(*l)),
            _ => (None, None),
        };
        srcs.borrow_mut().push((
            SizeSource::Constant {
                name: name.to_string(),
                file: path,
                line,
            },
            Vec::new(),
        ));
    } else {
        srcs.borrow_mut().extend(sub);
    }
    Some(v)
}

/// The one assignment `self.d = value` in the methods of `class`:
/// `None` where there is none, `Some(None)` where there are several.
fn self_attribute<'f>(
    file: &'f File,
    class: &str,
    name: &str,
) -> Option<Option<(&'f Function, &'f Expr)>> {
    let mut found: Vec<(&'f Function, &'f Expr)> = Vec::new();
    for m in &file.functions {
        if m.name.rsplit_once('.').map(|(c, _)| c) != Some(class) {
            continue;
        }
        m.walk(&mut |s: &'f Stmt| {
            if let StmtKind::Assign {
                target: Expr::Var(t),
                value,
                op,
            } = &s.kind
            {
                if t == name {
                    found.push((m, value));
                    if *op != crate::ir::AssignOp::Set {
                        found.push((m, value)); // not one value
                    }
                }
            }
        });
    }
    match found.as_slice() {
        [] => None,
        [one] => Some(Some(*one)),
        _ => Some(None),
    }
}

/// `X.field` (`config.n_embd`, `self.config.n_embd`, `args.n`) where one
/// config class of the file has an integer default for `field`, or one
/// argparse option has `dest` `field` (both collected by the Python front
/// end as `Class.field` and `--field` constants): that default. A field
/// that two classes (or a class and an option) give different values says
/// nothing.
fn config_default(
    file: &File,
    name: &str,
    srcs: &RefCell<Vec<(SizeSource, Vec<u64>)>>,
) -> Option<i64> {
    let (_, field) = name.rsplit_once('.')?;
    if !is_ident(field) {
        return None;
    }
    let dot = format!(".{field}");
    let flag = format!("--{field}");
    let mut hits: Vec<(&String, i64)> = file
        .consts
        .iter()
        .filter(|(k, _)| **k == flag || (k.ends_with(&dot) && !k.starts_with("--")))
        .filter_map(|(k, v)| Some((k, v.eval(&|_| None)?)))
        .collect();
    hits.sort();
    let (key, value) = *hits.first()?;
    if hits.iter().any(|(_, v)| *v != value) {
        return None;
    }
    let line = file.const_origins.get(key).map_or(0, |(_, l)| *l);
    srcs.borrow_mut().push((
        SizeSource::Default {
            name: key.clone(),
            line,
            overridden: None,
        },
        Vec::new(),
    ));
    Some(value)
}

/// The file name of a path (`gemm.h` of `./linear-algebra/blas/gemm/gemm.h`).
fn short_path(p: &str) -> String {
    p.rsplit(['/', '\\']).next().unwrap_or(p).to_string()
}

fn arg_of(file: &File, f: &Function, locals: &Locals, a: &Expr) -> Arg {
    let a = strip_casts(a);
    if let Expr::Var(n) = a {
        if f.params.iter().any(|p| p == n) {
            return Arg::Param(n.clone());
        }
    }
    if let Expr::Var(n) = a {
        if let Some(vi) = f.vars.get(n).filter(|v| v.is_array && !v.shape.is_empty()) {
            let srcs = RefCell::new(Vec::new());
            let ext: Vec<Option<u64>> = vi
                .shape
                .iter()
                .map(|e| {
                    eval_local(file, f, locals, e, &srcs, 0)
                        .and_then(|v| u64::try_from(v).ok())
                        .filter(|v| *v > 0)
                })
                .collect();
            if ext.iter().any(Option::is_some) {
                let (inner, _) = least_certain(srcs.into_inner());
                let source = SizeSource::Shape {
                    array: n.clone(),
                    via: (inner.rank() > 0).then(|| Box::new(inner)),
                };
                return Arg::Shape(ext, source);
            }
        }
    }
    if let Expr::Var(n) = a {
        if matches!(locals.0.get(n), Some((Expr::Call { func, .. }, _)) if func == "dim3") {
            return dim3_arg(file, f, locals, a);
        }
        if f.is_array(n) {
            if let Some(alloc) = allocation(file, f, locals, n) {
                return alloc;
            }
        }
    }
    let srcs = RefCell::new(Vec::new());
    // A size is at least 1: a zero or negative argument says nothing.
    if let Some(v) = eval_local(file, f, locals, a, &srcs, 0)
        .and_then(|v| u64::try_from(v).ok().filter(|v| *v > 0))
    {
        return Arg::Value(v, least_certain(srcs.into_inner()).0);
    }
    let srcs = RefCell::new(Vec::new());
    match over_params(file, f, locals, a, &srcs, 0) {
        Some(Expr::Var(p)) if f.params.contains(&p) => Arg::Param(p),
        Some(e) if e.vars().iter().any(|v| is_param_name(f, v)) => {
            let srcs = srcs.into_inner();
            let source = (!srcs.is_empty()).then(|| least_certain(srcs).0);
            Arg::Expr(Sym(e), source)
        }
        _ => Arg::Unknown,
    }
}

fn strip_casts(e: &Expr) -> &Expr {
    match e {
        Expr::Call { func, args, .. }
            if args.len() == 1 && matches!(func.as_str(), "int" | "size_t" | "long") =>
        {
            strip_casts(&args[0])
        }
        _ => e,
    }
}

fn least_certain(srcs: Vec<(SizeSource, Vec<u64>)>) -> (SizeSource, Vec<u64>) {
    let single = srcs.len() == 1;
    // Equally certain: the one that says more (follows more steps).
    let steps = |s: &SizeSource| {
        let mut n = 0;
        let mut at = s;
        while let SizeSource::CallSite { via: Some(v), .. }
        | SizeSource::Shape { via: Some(v), .. } = at
        {
            n += 1;
            at = v;
        }
        n
    };
    srcs.into_iter()
        .max_by_key(|(s, _)| (s.rank(), steps(s)))
        .map(|(s, o)| (s, if single { o } else { Vec::new() }))
        .unwrap_or((SizeSource::Literal, Vec::new()))
}

/// The user's sizes for one finding: name → (value, source).
type User = HashMap<String, (u64, SizeSource)>;

/// One `gemmscope: size a=1 b=2` comment: its 1-based line and pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub line: usize,
    pub sizes: Vec<(String, u64)>,
}

/// Every `gemmscope: size NAME=VALUE ...` comment in `text` (the marker
/// right after `//`, `/*` or `#`, as for `gemmscope: ignore[...]`). A value is a number or a product of numbers and names given
/// before it in the same comment (`M=B*T` with `B=8 T=1024`); a pair that is
/// neither is skipped.
pub fn annotations(text: &str) -> Vec<Annotation> {
    const KEY: &str = "gemmscope: size";
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(at) = line.find(KEY) else { continue };
        // The comment opener right before the marker, as for suppressions.
        let before = line[..at].trim_end();
        if !["//", "/*", "#"].iter().any(|o| before.ends_with(o)) {
            continue;
        }
        let rest = &line[at + KEY.len()..];
        if !rest.starts_with(|c: char| c.is_whitespace()) {
            continue;
        }
        let mut sizes: Vec<(String, u64)> = Vec::new();
        for tok in rest.split(|c: char| c.is_whitespace() || c == ',') {
            let tok = tok.trim_end_matches("*/");
            let Some((k, v)) = tok.split_once('=') else {
                continue;
            };
            if !is_ident(k) {
                continue;
            }
            let value = v.split('*').try_fold(1u64, |acc, f| {
                let f = f.trim();
                let n = f
                    .parse::<u64>()
                    .ok()
                    .or_else(|| sizes.iter().find(|(n, _)| n == f).map(|(_, v)| *v))?;
                acc.checked_mul(n)
            });
            if let Some(v) = value.filter(|_| !v.is_empty()) {
                sizes.push((k.to_string(), v));
            }
        }
        if !sizes.is_empty() {
            out.push(Annotation { line: i + 1, sizes });
        }
    }
    out
}

/// The user's sizes that apply to a finding starting at `line` in `func`:
/// annotations on the lines from the comment block just above the function
/// to the finding's first line (the nearest wins), then the configuration's
/// `[sizes.FUNCTION]` (by full name, else by its last `.` part).
fn user_sizes(
    anns: &[Annotation],
    lines: &[&str],
    func: Option<&Function>,
    line: usize,
    build: &BuildContext,
    fname: Option<&str>,
) -> User {
    let mut out = User::new();
    if let Some(name) = fname {
        let short = name.rsplit('.').next().unwrap_or(name);
        let table = build.sizes.get(name).or_else(|| build.sizes.get(short));
        if let Some(t) = table {
            let key = if build.sizes.contains_key(name) {
                name
            } else {
                short
            };
            for (n, v) in t {
                out.insert(
                    n.clone(),
                    (
                        *v,
                        SizeSource::Config {
                            function: key.to_string(),
                            name: n.clone(),
                        },
                    ),
                );
            }
        }
    }
    let top = func.map_or(line, |f| f.span.start_line.min(line));
    // The comment block just above `top`.
    let mut from = top;
    while from > 1 {
        let l = lines.get(from - 2).map_or("", |l| l.trim());
        let comment =
            l.starts_with("//") || l.starts_with('#') || l.starts_with("/*") || l.starts_with('*');
        if !comment {
            break;
        }
        from -= 1;
    }
    let mut applying: Vec<&Annotation> = anns
        .iter()
        .filter(|a| a.line >= from && a.line <= line)
        .collect();
    applying.sort_by_key(|a| a.line);
    for a in applying {
        for (n, v) in &a.sizes {
            out.insert(
                n.clone(),
                (
                    *v,
                    SizeSource::Annotation {
                        name: n.clone(),
                        line: a.line,
                    },
                ),
            );
        }
    }
    out
}

/// Call sites and functions: the file's own (fresh) and the project's.
struct Resolver<'a> {
    path: &'a str,
    here: &'a FileIndex,
    project: Option<&'a ProjectIndex>,
}

/// What part of a call site's argument gives a size.
enum Sel {
    /// The argument's value.
    Whole,
    /// The extent along an axis of the array passed.
    Axis(usize),
    /// A field (`x`, `y`, `z`) of the `dim3` passed.
    Field(String),
    /// The element count of the buffer passed (its allocation, or its
    /// declared extents).
    Elements,
}

/// One resolved value with its source and the other call sites' values.
struct Resolved {
    value: u64,
    source: SizeSource,
    others: Vec<u64>,
}

impl<'a> Resolver<'a> {
    fn file(&self, path: &str) -> Option<&'a FileIndex> {
        if path == self.path {
            Some(self.here)
        } else {
            self.project.and_then(|p| p.file(path))
        }
    }

    /// The call sites that can reach `callee` defined in `def_path`: those
    /// in its own file and, unless it is `static`, those of the other files
    /// that do not define a function of that name themselves.
    fn sites(&self, callee: &str, def_path: &str, info: &FnInfo) -> Vec<(String, &'a CallSite)> {
        let calls_in = |f: &'a FileIndex| f.calls.iter().filter(move |c| c.callee == callee);
        let mut out: Vec<(String, &'a CallSite)> = Vec::new();
        if let Some(f) = self.file(def_path) {
            out.extend(calls_in(f).map(|c| (def_path.to_string(), c)));
        }
        if info.is_static {
            return out;
        }
        if let Some(project) = self.project {
            for (path, i) in project.by_callee.get(callee).into_iter().flatten() {
                if path == def_path || path == self.path {
                    continue;
                }
                let Some(f) = project.file(path) else {
                    continue;
                };
                if f.functions.contains_key(callee) {
                    continue;
                }
                if let Some(c) = f.calls.get(*i) {
                    out.push((path.clone(), c));
                }
            }
        }
        if def_path != self.path && !self.here.functions.contains_key(callee) {
            out.extend(calls_in(self.here).map(|c| (self.path.to_string(), c)));
        }
        out
    }

    /// The value the call sites give parameter `param` of `callee`
    /// (defined in `def_path`), or the part of it `sel` selects: the
    /// extent along an axis of the array passed, a field of the `dim3`
    /// passed. `param` `gridDim` / `blockDim` (with a field) are a kernel's
    /// launch configuration, from its launches.
    fn param(
        &self,
        callee: &str,
        def_path: &str,
        param: &str,
        sel: &Sel,
        depth: usize,
    ) -> Option<Resolved> {
        if depth > MAX_WRAPPERS {
            return None;
        }
        let info = self.file(def_path)?.functions.get(callee)?;
        let launch = ["gridDim", "blockDim"].iter().position(|l| *l == param);
        let pos = match launch {
            Some(_) => None,
            None => Some(info.params.iter().position(|p| p == param)?),
        };
        let mut found: Vec<(u64, SizeSource, String, &CallSite)> = Vec::new();
        // Values the wrappers' other call sites give.
        let mut nested: Vec<u64> = Vec::new();
        // The call sites that pass this parameter at all, with a value or not.
        let mut passing = 0usize;
        for (path, site) in self.sites(callee, def_path, info) {
            if site.args.len() + site.kwargs.len() > info.params.len()
                || (site.kwargs.is_empty() && site.args.len() != info.params.len())
            {
                continue;
            }
            let arg = match (launch, pos) {
                (Some(l), _) => site.launch.get(l),
                (None, Some(pos)) => site
                    .args
                    .get(pos)
                    .or_else(|| site.kwargs.iter().find(|(k, _)| k == param).map(|(_, a)| a)),
                _ => None,
            };
            let Some(arg) = arg else { continue };
            passing += 1;
            if let Some((v, s, others)) = self.arg_value(site, &path, arg, sel, depth) {
                nested.extend(others);
                found.push((v, s, path, site));
            }
        }
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for (v, ..) in &found {
            *counts.entry(*v).or_default() += 1;
        }
        // Most call sites pass a size known only when the program runs: a
        // constant that a few of them pass is not the function's size (a
        // GEMM called with n = 1 by one layer of twelve is not a GEMV).
        if found.len() * 2 < passing {
            return None;
        }
        let (&value, &sites) = counts.iter().max_by_key(|(v, n)| (**n, **v))?;
        let (_, via, path, site) = found.iter().find(|(v, ..)| *v == value)?;
        let via = (via.rank() > 0).then(|| Box::new(via.clone()));
        let param = match sel {
            Sel::Field(f) => format!("{param}.{f}"),
            _ => param.to_string(),
        };
        Some(Resolved {
            value,
            source: SizeSource::CallSite {
                callee: callee.to_string(),
                param,
                caller: site.caller.clone(),
                file: short_path(path),
                line: site.line,
                sites,
                total: passing,
                via,
            },
            others: {
                let mut o: Vec<u64> = counts
                    .keys()
                    .copied()
                    .chain(nested)
                    .filter(|v| *v != value)
                    .collect();
                o.sort_unstable();
                o.dedup();
                o
            },
        })
    }

    /// The value one call site's argument `arg` gives (the part `sel`
    /// selects), its source and the other values its own call sites give.
    fn arg_value(
        &self,
        site: &CallSite,
        path: &str,
        arg: &Arg,
        sel: &Sel,
        depth: usize,
    ) -> Option<(u64, SizeSource, Vec<u64>)> {
        match (arg, sel) {
            (Arg::Value(v, s), Sel::Whole) => Some((*v, s.clone(), Vec::new())),
            (Arg::Shape(ext, s), Sel::Axis(d)) => Some(((*ext.get(*d)?)?, s.clone(), Vec::new())),
            (Arg::Shape(ext, s), Sel::Elements) => {
                let n = ext.iter().try_fold(1u64, |acc, e| acc.checked_mul((*e)?))?;
                Some((n, s.clone(), Vec::new()))
            }
            (
                Arg::Alloc {
                    elements,
                    array,
                    line,
                    via,
                },
                Sel::Elements,
            ) => Some((
                *elements,
                SizeSource::Allocation {
                    array: array.clone(),
                    file: short_path(path),
                    line: *line,
                    via: via.clone().filter(|v| v.rank() > 0).map(Box::new),
                },
                Vec::new(),
            )),
            (Arg::Dim3(parts), Sel::Field(f)) => {
                self.arg_value(site, path, parts.get(xyz(f)?)?, &Sel::Whole, depth)
            }
            (Arg::Param(p), _) => {
                let r = self.param(&site.caller, path, p, sel, depth + 1)?;
                Some((r.value, r.source, r.others))
            }
            (Arg::Expr(Sym(e), s), Sel::Whole) => {
                let srcs = RefCell::new(Vec::new());
                if let Some(s) = s {
                    srcs.borrow_mut().push((s.clone(), Vec::new()));
                }
                let env = |name: &str| -> Option<i64> {
                    let (p, sel) = match name.split_once('.') {
                        Some((p, f)) => (p, Sel::Field(f.to_string())),
                        None => (name, Sel::Whole),
                    };
                    let r = self.param(&site.caller, path, p, &sel, depth + 1)?;
                    srcs.borrow_mut().push((r.source, r.others));
                    i64::try_from(r.value).ok()
                };
                let v = u64::try_from(e.eval(&env)?).ok().filter(|v| *v > 0)?;
                let srcs = srcs.into_inner();
                let others = match srcs.as_slice() {
                    [(_, o)] => o.clone(),
                    _ => Vec::new(),
                };
                Some((v, least_certain(srcs).0, others))
            }
            _ => None,
        }
    }

    /// Evaluates `e` in `f` with everything: the user's sizes, `f`'s call
    /// sites, its locals, the file's constants.
    fn eval(
        &self,
        scope: &Scope<'_>,
        e: &Expr,
        depth: usize,
        srcs: &RefCell<Vec<(SizeSource, Vec<u64>)>>,
    ) -> Option<i64> {
        if depth > 16 {
            return None;
        }
        let Scope {
            file,
            func: f,
            locals,
            user,
        } = *scope;
        let env = |name: &str| -> Option<i64> {
            if let Some((v, s)) = user.get(name) {
                srcs.borrow_mut().push((s.clone(), Vec::new()));
                return i64::try_from(*v).ok();
            }
            if let Some(f) = f {
                if f.params.iter().any(|p| p == name) {
                    let r = self.param(&f.name, self.path, name, &Sel::Whole, 0)?;
                    srcs.borrow_mut().push((r.source, r.others));
                    return i64::try_from(r.value).ok();
                }
                if let Some((array, axis)) = shape_name(name) {
                    if f.params.iter().any(|p| p == array) {
                        let r = self.param(&f.name, self.path, array, &Sel::Axis(axis), 0)?;
                        srcs.borrow_mut().push((r.source, r.others));
                        return i64::try_from(r.value).ok();
                    }
                }
                // A launch's `gridDim.x`, `blockDim.y`; a `dim3`
                // parameter's field.
                if let Some((base, field)) = name.split_once('.') {
                    let launch = matches!(base, "gridDim" | "blockDim");
                    if xyz(field).is_some() && (launch || f.params.iter().any(|p| p == base)) {
                        let sel = Sel::Field(field.to_string());
                        if let Some(r) = self.param(&f.name, self.path, base, &sel, 0) {
                            srcs.borrow_mut().push((r.source, r.others));
                            return i64::try_from(r.value).ok();
                        }
                    }
                }
                // `self.d` of a method: what the class assigns it, once.
                if let (Some(attr), Some((class, _))) =
                    (name.strip_prefix("self."), f.name.rsplit_once('.'))
                {
                    if is_ident(attr) {
                        if let Some(found) = self_attribute(file, class, name) {
                            let (m, value) = found?;
                            let ml = Locals::of(m);
                            let inner = Scope {
                                file,
                                func: Some(m),
                                locals: Some(&ml),
                                user: &User::new(),
                            };
                            return self.eval(&inner, value, depth + 1, srcs);
                        }
                    }
                }
                if let Some(l) = locals {
                    if l.0.contains_key(name) || l.field(name).is_some() {
                        return eval_local(file, f, l, &Expr::Var(name.to_string()), srcs, depth);
                    }
                }
            }
            constant(
                file,
                name,
                depth,
                &|e, d, s| self.eval(scope, e, d, s),
                srcs,
            )
        };
        let v = arith(shape_names(e.clone())).eval(&env)?;
        if srcs.borrow().is_empty() {
            srcs.borrow_mut().push((SizeSource::Literal, Vec::new()));
        }
        Some(v)
    }
}

/// `A.shape[1]`, `len(A)`, `len(A[0])` (A a plain name) as one name,
/// `A.shape[1]`, for the evaluation: the extent along an axis of an array.
fn shape_names(e: Expr) -> Expr {
    e.map(&mut |x| {
        let axis_of = |x: &Expr| -> Option<(String, usize)> {
            match x {
                Expr::Index { base, idx } => match (&**base, idx.as_slice()) {
                    (Expr::Var(b), [Expr::Int(d)]) if *d >= 0 => {
                        Some((b.strip_suffix(".shape")?.to_string(), *d as usize))
                    }
                    _ => None,
                },
                Expr::Call {
                    func,
                    recv: None,
                    args,
                    ..
                } if func == "len" && args.len() == 1 => {
                    let mut a = &args[0];
                    let mut levels = 0;
                    while let Expr::Index { base, idx } = a {
                        if idx.len() != 1 {
                            return None;
                        }
                        a = base;
                        levels += 1;
                    }
                    match a {
                        Expr::Var(b) => Some((b.clone(), levels)),
                        _ => None,
                    }
                }
                _ => None,
            }
        };
        match axis_of(&x) {
            Some((b, d)) if is_ident(&b) => Expr::Var(format!("{b}.shape[{d}]")),
            _ => x,
        }
    })
}

/// The array and axis of a name made by [`shape_names`].
fn shape_name(name: &str) -> Option<(&str, usize)> {
    let (array, rest) = name.split_once(".shape[")?;
    Some((array, rest.strip_suffix(']')?.parse().ok()?))
}

/// What a finding's dims are evaluated in: the file, the enclosing
/// function and its locals, the user's sizes.
#[derive(Clone, Copy)]
struct Scope<'a> {
    file: &'a File,
    func: Option<&'a Function>,
    locals: Option<&'a Locals>,
    user: &'a User,
}

/// Gives every dim of `findings` its value and source (module comment).
/// `here`: the index of `file` itself.
pub(crate) fn infer(
    findings: &mut [Finding],
    file: &File,
    text: &str,
    path: &str,
    build: &BuildContext,
) {
    if findings.is_empty() {
        return;
    }
    let here = index_file(file, text);
    let r = Resolver {
        path,
        here: &here,
        project: build.project.as_deref(),
    };
    let anns = annotations(text);
    let lines: Vec<&str> = text.lines().collect();
    for finding in findings {
        let func = finding
            .function
            .as_deref()
            .and_then(|n| {
                file.functions.iter().find(|f| {
                    f.name == n
                        && f.span.start_byte <= finding.range.start_byte
                        && finding.range.end_byte <= f.span.end_byte
                })
            })
            .or_else(|| {
                finding
                    .function
                    .as_deref()
                    .and_then(|n| file.functions.iter().find(|f| f.name == n))
            });
        let locals = func.map(Locals::of);
        let user = user_sizes(
            &anns,
            &lines,
            func,
            finding.range.start_line,
            build,
            finding.function.as_deref(),
        );
        let before = finding.dims.display();
        let dims = &mut finding.dims;
        for d in [&mut dims.m, &mut dims.n, &mut dims.k, &mut dims.batch]
            .into_iter()
            .flatten()
        {
            let scope = Scope {
                file,
                func,
                locals: locals.as_ref(),
                user: &user,
            };
            fill(d, &r, &scope);
        }
        if let Some(f) = func {
            from_operands(finding, &r, f);
        }
        let after = finding.dims.display();
        if after != before && !before.is_empty() {
            finding.message = finding.message.replacen(&before, &after, 1);
        }
    }
}

/// Dims still unknown from the buffers the call sites pass for the
/// operands (GEMM: C is M×N, A M×K, B K×N; GEMV: y is M, A M×K, x K): the
/// element count of the allocation (or declared extents) divided by the
/// operand's known dims, the remaining unknown dims being one name (`n*n`:
/// its square root). An operand with a leading dimension of its own
/// (`A[i*lda + k]`) or rows allocated apart is not used.
fn from_operands(finding: &mut Finding, r: &Resolver<'_>, f: &Function) {
    use crate::finding::Routine;
    for _ in 0..2 {
        let layouts = finding.layouts.clone();
        for lay in layouts {
            // Indices into (M, N, K).
            let roles: &[usize] = match (finding.routine, lay.role.as_str()) {
                (Routine::Gemm, "C") => &[0, 1],
                (Routine::Gemm, "A") | (Routine::Gemv, "A") => &[0, 2],
                (Routine::Gemm, "B") => &[2, 1],
                (Routine::Gemv, "y") => &[0],
                (Routine::Gemv, "x") => &[2],
                _ => continue,
            };
            if lay.jagged || !f.params.contains(&lay.name) {
                continue;
            }
            let d = &finding.dims;
            let dims: Option<Vec<&Dim>> = roles
                .iter()
                .map(|i| [&d.m, &d.n, &d.k][*i].as_ref())
                .collect();
            let Some(dims) = dims else { continue };
            if lay
                .ld
                .as_ref()
                .is_some_and(|ld| !dims.iter().any(|d| &d.expr == ld))
            {
                continue;
            }
            let unknown: Vec<&str> = dims
                .iter()
                .filter(|d| d.value.is_none())
                .map(|d| d.expr.as_str())
                .collect();
            let Some(first) = unknown.first().copied() else {
                continue;
            };
            if unknown.iter().any(|e| *e != first) {
                continue;
            }
            let known = dims
                .iter()
                .filter_map(|d| d.value)
                .try_fold(1u64, u64::checked_mul)
                .filter(|k| *k > 0);
            let Some(known) = known else { continue };
            let Some(res) = r.param(&f.name, r.path, &lay.name, &Sel::Elements, 0) else {
                continue;
            };
            if res.value % known != 0 {
                continue;
            }
            let Some(v) = exact_root(res.value / known, unknown.len() as u32) else {
                continue;
            };
            let expr = first.to_string();
            let source = innermost_allocation(&res.source).unwrap_or(res.source);
            let dm = &mut finding.dims;
            for d in [&mut dm.m, &mut dm.n, &mut dm.k].into_iter().flatten() {
                if d.value.is_none() && d.expr == expr {
                    d.value = Some(v);
                    d.source = Some(source.clone());
                }
            }
        }
    }
}

/// The `k`th root of `n` where it is an integer.
fn exact_root(n: u64, k: u32) -> Option<u64> {
    if n == 0 || k == 0 {
        return None;
    }
    let guess = (n as f64).powf(1.0 / f64::from(k)).round() as u64;
    (guess.saturating_sub(1)..=guess + 1).find(|g| *g > 0 && g.checked_pow(k) == Some(n))
}

/// The allocation a call-site chain ends in.
fn innermost_allocation(s: &SizeSource) -> Option<SizeSource> {
    match s {
        SizeSource::Allocation { .. } => Some(s.clone()),
        SizeSource::CallSite { via: Some(v), .. } => innermost_allocation(v),
        _ => None,
    }
}

fn fill(d: &mut Dim, r: &Resolver<'_>, scope: &Scope<'_>) {
    let Some(Sym(e)) = d.sym.clone() else {
        if d.value.is_some() && d.source.is_none() {
            d.source = Some(SizeSource::Literal);
        }
        return;
    };
    let srcs = RefCell::new(Vec::new());
    let v = r
        .eval(scope, &e, 0, &srcs)
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0 || d.value == Some(0));
    let (source, others) = least_certain(srcs.into_inner());
    match v {
        Some(v) if d.value.is_none() || d.value == Some(v) || source.rank() >= 4 => {
            d.value = Some(v);
            d.source = Some(source);
            d.others = others;
        }
        _ => {
            if d.value.is_some() {
                d.source = Some(SizeSource::Literal);
            }
        }
    }
}

#[cfg(test)]
mod tests;
