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
//!    `#if` chains and headers, as the front end resolved them).
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
use crate::ir::{Expr, File, Function, Stmt, StmtKind, COMMAND_LINE};
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
    /// Anything else.
    Unknown,
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
}

/// A function defined in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FnInfo {
    pub params: Vec<String>,
    /// C/C++ `static`: not callable from other files.
    pub is_static: bool,
}

/// One file's functions and call sites.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileIndex {
    pub functions: BTreeMap<String, FnInfo>,
    pub calls: Vec<CallSite>,
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
}

/// The functions and call sites of a lowered file.
pub fn index_file(file: &File, text: &str) -> FileIndex {
    let mut out = FileIndex::default();
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
                        if func == &f.name || !is_ident(func) {
                            return;
                        }
                        let locals = locals.get_or_init(|| Locals::of(f));
                        let arg = |a: &Expr| arg_of(file, f, locals, a);
                        out.calls.push(CallSite {
                            callee: func.clone(),
                            caller: f.name.clone(),
                            line: s.span.start_line,
                            args: args.iter().map(arg).collect(),
                            kwargs: kwargs.iter().map(|(k, v)| (k.clone(), arg(v))).collect(),
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
/// never assigned again: name → (initialiser, line).
struct Locals(HashMap<String, (Expr, usize)>);

impl Locals {
    fn of(f: &Function) -> Locals {
        let mut decls: HashMap<String, Vec<(Option<Expr>, usize)>> = HashMap::new();
        let mut assigned: HashMap<String, usize> = HashMap::new();
        f.walk(&mut |s: &Stmt| match &s.kind {
            StmtKind::Decl { name, init, .. } => decls
                .entry(name.clone())
                .or_default()
                .push((init.clone(), s.span.start_line)),
            StmtKind::Assign {
                target: Expr::Var(n),
                ..
            } => *assigned.entry(n.clone()).or_default() += 1,
            StmtKind::Loop(l) => *assigned.entry(l.var.clone()).or_default() += 1,
            _ => {}
        });
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
        for (name, ds) in decls {
            if let ([(Some(init), line)], None) = (ds.as_slice(), assigned.get(&name)) {
                if !f.params.contains(&name) {
                    out.insert(name, (init.clone(), *line));
                }
            }
        }
        Locals(out)
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
        if let Some((init, line)) = locals.0.get(name) {
            let inner = RefCell::new(Vec::new());
            let v = eval_local(file, f, locals, init, &inner, depth + 1)?;
            let inner = inner.into_inner();
            if inner.iter().all(|(s, _)| s.rank() == 0) {
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
    let v = e.eval(&env)?;
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
    let def = file.consts.get(name)?;
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
    let srcs = RefCell::new(Vec::new());
    // A size is at least 1: a zero or negative argument says nothing.
    match eval_local(file, f, locals, a, &srcs, 0)
        .and_then(|v| u64::try_from(v).ok().filter(|v| *v > 0))
    {
        Some(v) => Arg::Value(v, least_certain(srcs.into_inner()).0),
        None => Arg::Unknown,
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
    srcs.into_iter()
        .max_by_key(|(s, _)| s.rank())
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
    /// (defined in `def_path`); with `axis`, the extent along it of the
    /// array the call sites pass for it.
    fn param(
        &self,
        callee: &str,
        def_path: &str,
        param: &str,
        axis: Option<usize>,
        depth: usize,
    ) -> Option<Resolved> {
        if depth > MAX_WRAPPERS {
            return None;
        }
        let info = self.file(def_path)?.functions.get(callee)?;
        let pos = info.params.iter().position(|p| p == param)?;
        let mut found: Vec<(u64, SizeSource, String, &CallSite)> = Vec::new();
        // Values the wrappers' other call sites give.
        let mut nested: Vec<u64> = Vec::new();
        for (path, site) in self.sites(callee, def_path, info) {
            if site.args.len() + site.kwargs.len() > info.params.len()
                || (site.kwargs.is_empty() && site.args.len() != info.params.len())
            {
                continue;
            }
            let arg = site
                .args
                .get(pos)
                .or_else(|| site.kwargs.iter().find(|(k, _)| k == param).map(|(_, a)| a));
            match (arg, axis) {
                (Some(Arg::Value(v, s)), None) => found.push((*v, s.clone(), path, site)),
                (Some(Arg::Shape(ext, s)), Some(d)) => {
                    if let Some(Some(v)) = ext.get(d) {
                        found.push((*v, s.clone(), path, site));
                    }
                }
                (Some(Arg::Param(p)), _) => {
                    if let Some(r) = self.param(&site.caller, &path, p, axis, depth + 1) {
                        nested.extend(r.others);
                        found.push((r.value, r.source, path, site));
                    }
                }
                _ => {}
            }
        }
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for (v, ..) in &found {
            *counts.entry(*v).or_default() += 1;
        }
        let (&value, &sites) = counts.iter().max_by_key(|(v, n)| (**n, **v))?;
        let (_, via, path, site) = found.iter().find(|(v, ..)| *v == value)?;
        let via = (via.rank() > 0).then(|| Box::new(via.clone()));
        Some(Resolved {
            value,
            source: SizeSource::CallSite {
                callee: callee.to_string(),
                param: param.to_string(),
                caller: site.caller.clone(),
                file: short_path(path),
                line: site.line,
                sites,
                total: found.len(),
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
                    let r = self.param(&f.name, self.path, name, None, 0)?;
                    srcs.borrow_mut().push((r.source, r.others));
                    return i64::try_from(r.value).ok();
                }
                if let Some((array, axis)) = shape_name(name) {
                    if f.params.iter().any(|p| p == array) {
                        let r = self.param(&f.name, self.path, array, Some(axis), 0)?;
                        srcs.borrow_mut().push((r.source, r.others));
                        return i64::try_from(r.value).ok();
                    }
                }
                if let Some(l) = locals {
                    if l.0.contains_key(name) {
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
        let v = shape_names(e.clone()).eval(&env)?;
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
        let after = finding.dims.display();
        if after != before && !before.is_empty() {
            finding.message = finding.message.replacen(&before, &after, 1);
        }
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
