//! The Python front end (tree-sitter-python).
//!
//! `lower` parses the text and builds one [`Function`] per `def` (methods are
//! `Class.method`, nested defs `outer.inner`), plus the pseudo-function
//! `<module>` ([`FnKind::Module`]) holding the module-level statements
//! (class bodies other than their methods are not lowered). Module-level
//! integer constants (`N = 1024`, `M, K = 64, 32`, `N: int = 8`,
//! `NN = N * N`) go to [`File::consts`] and are left out of `<module>`'s body
//! so that loop bounds keep the symbolic name.
//!
//! Synthetic names (all start with `__`, which user code does not use):
//! - `__<l>_<name>`: the index of a loop over a sequence, `for row in A` →
//!   `__i_row` with `row` bound to `A[__i_row]`; `<l>` is a letter chosen by
//!   the loop-nest depth in the function (`i`, `j`, `k`, `l`, `m`, `n`, `p`,
//!   `q`, `r`, `s`, then `d<depth>`), so nested synthetic indices never clash.
//! - `__<l>`: the index of a `zip(x, y)` loop with several targets, or of a
//!   `for _ in range(n)` comprehension clause.
//! - `__acc<N>`: the accumulator of a `sum(...)` generator (numbered from 1
//!   per function): `__accN = 0; Loop ... { __accN += body }`, and the `sum`
//!   call is replaced by `Var("__accN")`.
//! - `__comp<N>`: a list comprehension that reads arrays but is not the whole
//!   right-hand side of an assignment (`return [...]`, `np.array([...])`) is
//!   lowered into loops writing `__compN[...]`, and replaced by the variable.
//!
//! Statements: assignments are always `Assign` (Python has no
//! declarations, so no `Decl`); `for i in range(a, b, s)` keeps `a`, `b`,
//! `s` as written (a negative step stays negative); `for x in <call>` other
//! than `range`/`zip`/`enumerate`, and uncounted `while`, are `Opaque`;
//! `with` and `try` bodies (plus `else`/`finally`) are inline, each `except`
//! body is an `Opaque`; `with f(...) as x` emits `x = f(...)`, a plain
//! `with f(...)` emits `Expr(f(...))`; `assert c` is `Expr(c)`.
//!
//! Names bound by iteration (`row` in `for row in A`, `a`/`b` in
//! `zip(row, col)`, `col` in `zip(*B)`) are substituted while lowering
//! (`row[k]` → `A[__i_row][k]`, `col[k]` → `B[k][__j_col]`), unless the loop
//! body rebinds the name, in which case `row = A[__i_row]` is emitted at the
//! top of the body instead.

mod comp;
mod expr;
mod info;
mod stmt;
#[cfg(test)]
mod tests;
mod window;

use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, Parser, Tree};

use crate::ir::{
    Access, Expr, File, FnKind, Function, Lang, Span, Stmt, StmtKind, SyntaxProblem, VarInfo,
};

/// Nesting limit for the lowering recursion (statements and expressions
/// together); deeper parts of the tree are skipped (`Expr::Other`). Real code
/// nests a few dozen levels at most; 100 keeps the recursion within the 2 MiB
/// stack of a spawned thread even in unoptimised builds (several KiB a
/// level), so no caller needs a special thread.
const MAX_DEPTH: usize = 100;

/// Lowers Python source.
pub fn lower(text: &str) -> File {
    lower_tree(parse(text, None).as_ref(), text)
}

/// Parses `text` as Python; `old` is the tree of the previous text, already
/// edited ([`Tree::edit`]) to match `text`, for an incremental re-parse.
/// `None` only if the bundled grammar cannot be loaded.
pub fn parse(text: &str, old: Option<&Tree>) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    parser.parse(text, old)
}

/// Parses only the byte ranges `kept` of `text` (sorted, disjoint, each
/// starting at a line start), positions as in the whole text: the tree of
/// a text whose other lines are blank, without lexing those lines.
pub fn parse_ranges(text: &str, kept: &[std::ops::Range<usize>]) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    let b = text.as_bytes();
    let (mut row, mut at) = (0usize, 0usize);
    let mut point = |to: usize| {
        let to = to.min(b.len());
        row += memchr::memchr_iter(b'\n', &b[at..to]).count();
        at = to;
        let line_start = memchr::memrchr(b'\n', &b[..to]).map_or(0, |i| i + 1);
        tree_sitter::Point {
            row,
            column: to - line_start,
        }
    };
    let mut ranges = Vec::with_capacity(kept.len());
    for r in kept.iter().filter(|r| r.start < r.end && r.end <= b.len()) {
        let (start_point, end_point) = (point(r.start), point(r.end));
        ranges.push(tree_sitter::Range {
            start_byte: r.start,
            end_byte: r.end,
            start_point,
            end_point,
        });
    }
    // No range at all would mean the whole text to tree-sitter.
    if ranges.is_empty() {
        return parser.parse("", None);
    }
    parser.set_included_ranges(&ranges).ok()?;
    parser.parse(text, None)
}

/// Lowers Python source from its parsed `tree` (of exactly `text`; `None`
/// gives an empty file).
pub fn lower_tree(tree: Option<&Tree>, text: &str) -> File {
    let mut file = File {
        lang: Lang::Python,
        functions: Vec::new(),
        consts: Default::default(),
        const_origins: Default::default(),
        type_aliases: Default::default(),
        imports: Vec::new(),
        syntax_problems: Vec::new(),
    };
    let Some(tree) = tree else {
        return file;
    };
    let root = tree.root_node();
    let src = text.as_bytes();
    file.syntax_problems = syntax_problems(root, src);

    let mut lw = Lowerer {
        src,
        imports: HashMap::new(),
        consts: HashMap::new(),
        module_vars: HashMap::new(),
    };
    lw.imports = collect_imports(root, src);
    let mut modules: Vec<String> = lw.imports.values().cloned().collect();
    modules.sort();
    modules.dedup();
    file.imports = modules;
    lw.consts = lw.collect_consts(root);

    // `<module>` first: its VarInfo is visible inside functions.
    let mut cx = Ctx::new(true, String::new());
    let mut body = Vec::new();
    lw.block(&mut cx, root, &mut body);
    let mut queue = std::mem::take(&mut cx.deferred);
    lw.finish(&mut cx, &body);
    lw.module_vars = cx.vars.clone();
    let mut functions = vec![Function {
        name: "<module>".into(),
        kind: FnKind::Module,
        params: Vec::new(),
        template_params: Vec::new(),
        template_order: Vec::new(),
        vars: cx.vars,
        body,
        span: span(root),
    }];

    let mut k = 0;
    while k < queue.len() {
        let (node, name) = queue[k].clone();
        k += 1;
        let (f, nested) = lw.function(node, name);
        functions.push(f);
        queue.extend(nested);
    }
    share_self_attributes(&mut functions);
    functions[1..].sort_by_key(|f| f.span.start_byte);
    file.functions = functions;
    file.consts = lw.consts;
    for (key, value, line) in config_defaults(root, src) {
        if let std::collections::hash_map::Entry::Vacant(e) = file.consts.entry(key.clone()) {
            e.insert(Expr::Int(value));
            file.const_origins.insert(key, (String::new(), line));
        }
    }
    file
}

/// Integer defaults a program's sizes are often configured with, as
/// constants under names no Python variable has (size inference reads
/// them, [`crate::sizes`]): a class attribute with an integer default
/// (`n_embd: int = 768` in a `@dataclass class GPTConfig`, `n = 64` in a
/// plain config class) as `GPTConfig.n_embd`; an argparse option with an
/// integer default (`add_argument('--n-embd', type=int, default=768)`) as
/// `--n_embd` (its `dest`). A name defined twice with different values is
/// left out. Each with its 1-based line.
fn config_defaults(root: Node<'_>, src: &[u8]) -> Vec<(String, i64, usize)> {
    let text = |n: Node<'_>| n.utf8_text(src).unwrap_or("").to_string();
    let int = |n: Node<'_>| -> Option<i64> {
        (n.kind() == "integer")
            .then(|| text(n).replace('_', "").parse().ok())
            .flatten()
    };
    let mut found: Vec<(String, i64, usize)> = Vec::new();
    let mut stack = vec![root];
    let mut seen = 0usize;
    // Without an `add_argument` in the text only classes count, and a class
    // is a statement: expressions (most of the tree) need no walk.
    let calls = memchr::memmem::find(src, b"add_argument").is_some();
    let holds_statements = |k: &str| {
        matches!(
            k,
            "module"
                | "block"
                | "if_statement"
                | "elif_clause"
                | "else_clause"
                | "for_statement"
                | "while_statement"
                | "try_statement"
                | "except_clause"
                | "except_group_clause"
                | "finally_clause"
                | "with_statement"
                | "match_statement"
                | "case_clause"
                | "function_definition"
                | "class_definition"
                | "decorated_definition"
                | "ERROR"
        )
    };
    while let Some(n) = stack.pop() {
        seen += 1;
        if seen > 200_000 {
            break;
        }
        if !calls && !holds_statements(n.kind()) {
            continue;
        }
        match n.kind() {
            "class_definition" => {
                let (Some(name), Some(body)) =
                    (n.child_by_field_name("name"), n.child_by_field_name("body"))
                else {
                    continue;
                };
                for st in named(body) {
                    if st.kind() != "expression_statement" {
                        continue;
                    }
                    for a in named(st) {
                        let (Some(l), Some(r)) = (
                            a.child_by_field_name("left"),
                            a.child_by_field_name("right"),
                        ) else {
                            continue;
                        };
                        if a.kind() == "assignment" && l.kind() == "identifier" {
                            if let Some(v) = int(r) {
                                let line = a.start_position().row + 1;
                                found.push((format!("{}.{}", text(name), text(l)), v, line));
                            }
                        }
                    }
                }
                stack.push(body);
            }
            "call" => {
                let f = n.child_by_field_name("function");
                let is_add = f.is_some_and(|f| {
                    f.kind() == "attribute"
                        && f.child_by_field_name("attribute")
                            .is_some_and(|a| text(a) == "add_argument")
                });
                if let (true, Some(args)) = (is_add, n.child_by_field_name("arguments")) {
                    let mut flag = None;
                    let (mut dest, mut default) = (None, None);
                    for a in named(args) {
                        match a.kind() {
                            "string" if flag.is_none() => {
                                let t = text(a);
                                let t = t.trim_matches(|c| c == '"' || c == '\'');
                                if t.starts_with('-') {
                                    flag = Some(t.trim_start_matches('-').replace('-', "_"));
                                }
                            }
                            "keyword_argument" => {
                                let k = a.child_by_field_name("name").map(text);
                                let v = a.child_by_field_name("value");
                                match (k.as_deref(), v) {
                                    (Some("default"), Some(v)) => default = int(v),
                                    (Some("dest"), Some(v)) => {
                                        dest = Some(
                                            text(v)
                                                .trim_matches(|c| c == '"' || c == '\'')
                                                .to_string(),
                                        )
                                    }
                                    _ => {}
                                }
                            }
                            _ => {}
                        }
                    }
                    if let (Some(d), Some(v)) = (dest.or(flag), default) {
                        found.push((format!("--{d}"), v, n.start_position().row + 1));
                    }
                }
                let mut w = n.walk();
                stack.extend(n.named_children(&mut w));
            }
            _ => {
                let mut w = n.walk();
                stack.extend(n.named_children(&mut w));
            }
        }
    }
    // A name with two different values says nothing.
    let mut out: Vec<(String, i64, usize)> = Vec::new();
    let mut bad: HashSet<String> = HashSet::new();
    for (k, v, l) in found {
        match out.iter().find(|(o, ..)| *o == k) {
            Some((_, ov, _)) if *ov != v => {
                bad.insert(k);
            }
            Some(_) => {}
            None => out.push((k, v, l)),
        }
    }
    out.retain(|(k, ..)| !bad.contains(k));
    out
}

/// A name bound while lowering a loop or comprehension body.
#[derive(Clone, Debug)]
pub(super) enum Bind {
    /// The name stands for this expression (`row` → `A[__i_row]`).
    Elem(Expr),
    /// The name is column `j` of `base` (`col` from `zip(*B)`):
    /// `col[e]` → `base[e][j]`.
    Column { base: Expr, j: Expr },
    /// A loop variable that hides an outer binding of the same name.
    Shadow,
}

/// Per-function lowering state.
pub(super) struct Ctx<'a> {
    pub module: bool,
    pub params: Vec<String>,
    pub vars: HashMap<String, VarInfo>,
    pub binds: Vec<(String, Bind)>,
    /// Statements hoisted out of the expression being lowered (loops of
    /// `sum(...)` generators and comprehensions), emitted before it.
    pub pre: Vec<Stmt>,
    /// The span of the statement being lowered.
    pub span: Span,
    pub loop_depth: usize,
    pub next_acc: usize,
    pub next_comp: usize,
    /// Names bound to a sliced subscript (`win = x[:, i:i+R]`), read as
    /// that window by `np.sum(win * w)` (`window.rs`).
    pub windows: HashMap<String, Node<'a>>,
    pub depth: usize,
    /// Prefix for nested definitions (`f.`, `Class.`).
    pub qual: String,
    pub deferred: Vec<(Node<'a>, String)>,
}

impl<'a> Ctx<'a> {
    fn new(module: bool, qual: String) -> Ctx<'a> {
        Ctx {
            module,
            params: Vec::new(),
            vars: HashMap::new(),
            binds: Vec::new(),
            pre: Vec::new(),
            span: Span::default(),
            loop_depth: 0,
            next_acc: 1,
            next_comp: 1,
            windows: HashMap::new(),
            depth: 0,
            qual,
            deferred: Vec::new(),
        }
    }

    /// The innermost binding of `name` (a `Shadow` hides outer ones).
    pub fn bind(&self, name: &str) -> Option<&Bind> {
        match self.binds.iter().rev().find(|(n, _)| n == name) {
            Some((_, Bind::Shadow)) | None => None,
            Some((_, b)) => Some(b),
        }
    }

    /// True if `name` is a parameter, a local or a bound name here.
    pub fn is_local(&self, name: &str) -> bool {
        self.vars.contains_key(name)
            || self.params.iter().any(|p| p == name)
            || self.binds.iter().any(|(n, _)| n == name)
    }
}

pub(super) struct Lowerer<'a> {
    pub src: &'a [u8],
    /// Import aliases: local name → full dotted path (`np` → `numpy`,
    /// `dot` → `numpy.dot` after `from numpy import dot`).
    pub imports: HashMap<String, String>,
    pub consts: HashMap<String, Expr>,
    pub module_vars: HashMap<String, VarInfo>,
}

/// Names treated as modules even without an import statement.
const DEFAULT_MODULES: &[(&str, &str)] = &[
    ("np", "numpy"),
    ("numpy", "numpy"),
    ("torch", "torch"),
    ("F", "torch.nn.functional"),
    ("nn", "torch.nn"),
    ("math", "math"),
    ("random", "random"),
    ("cp", "cupy"),
    ("cupy", "cupy"),
    ("jnp", "jax.numpy"),
    ("jax", "jax"),
    ("scipy", "scipy"),
    ("tf", "tensorflow"),
    ("time", "time"),
    ("os", "os"),
    ("sys", "sys"),
    ("itertools", "itertools"),
    ("functools", "functools"),
    ("tl", "triton.language"),
    ("triton", "triton"),
];

impl<'a> Lowerer<'a> {
    pub fn text(&self, n: Node<'_>) -> &'a str {
        n.utf8_text(self.src).unwrap_or("")
    }

    /// What a name denotes: a local (or parameter), else a module-level
    /// variable (inside functions, unless shadowed by a parameter).
    pub fn lookup<'c>(&'c self, cx: &'c Ctx<'_>, name: &str) -> Option<&'c VarInfo> {
        if let Some(v) = cx.vars.get(name) {
            return Some(v);
        }
        if cx.module || cx.params.iter().any(|p| p == name) || cx.bind(name).is_some() {
            return None;
        }
        self.module_vars.get(name)
    }

    /// True if `head` (the first name of a dotted chain) is a module.
    pub fn is_module(&self, cx: &Ctx<'_>, head: &str) -> bool {
        !cx.is_local(head)
            && (self.imports.contains_key(head) || DEFAULT_MODULES.iter().any(|(a, _)| *a == head))
    }

    /// Expands the import alias at the head of a dotted name
    /// (`np.dot` → `numpy.dot`).
    pub fn resolve(&self, dotted: &str) -> String {
        let (head, rest) = match dotted.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (dotted, None),
        };
        let full = self
            .imports
            .get(head)
            .map(String::as_str)
            .or_else(|| {
                DEFAULT_MODULES
                    .iter()
                    .find(|(a, _)| *a == head)
                    .map(|(_, f)| *f)
            })
            .unwrap_or(head);
        match rest {
            Some(r) => format!("{full}.{r}"),
            None => full.to_string(),
        }
    }

    /// A `def`: its Function and the definitions nested in it.
    fn function(&self, node: Node<'a>, name: String) -> (Function, Vec<(Node<'a>, String)>) {
        let mut cx = Ctx::new(false, format!("{name}."));
        if let Some(ps) = node.child_by_field_name("parameters") {
            for p in named(ps) {
                let (pname, ann) = match p.kind() {
                    "identifier" => (Some(self.text(p)), None),
                    "typed_parameter" => (
                        named(p)
                            .into_iter()
                            .find(|c| c.kind() == "identifier")
                            .map(|c| self.text(c))
                            .or_else(|| {
                                named(p)
                                    .into_iter()
                                    .find(|c| c.kind().ends_with("splat_pattern"))
                                    .and_then(|c| named(c).first().map(|i| self.text(*i)))
                            }),
                        p.child_by_field_name("type"),
                    ),
                    "default_parameter" => {
                        (p.child_by_field_name("name").map(|c| self.text(c)), None)
                    }
                    "typed_default_parameter" => (
                        p.child_by_field_name("name").map(|c| self.text(c)),
                        p.child_by_field_name("type"),
                    ),
                    "list_splat_pattern" | "dictionary_splat_pattern" => {
                        (named(p).first().map(|c| self.text(*c)), None)
                    }
                    _ => (None, None),
                };
                let Some(pname) = pname else { continue };
                if pname.is_empty() {
                    continue;
                }
                let vi = ann
                    .map(|t| info::annotation_info(self.text(t)))
                    .unwrap_or_default();
                cx.params.push(pname.to_string());
                cx.vars.insert(pname.to_string(), vi);
            }
        }
        let mut body = Vec::new();
        if let Some(b) = node.child_by_field_name("body") {
            self.block(&mut cx, b, &mut body);
        }
        self.finish(&mut cx, &body);
        let nested = std::mem::take(&mut cx.deferred);
        (
            Function {
                name,
                kind: FnKind::Python,
                params: cx.params,
                template_params: Vec::new(),
                template_order: Vec::new(),
                vars: cx.vars,
                body,
                span: span(node),
            },
            nested,
        )
    }

    /// Completes `cx.vars`: loop variables and assigned names, module-level
    /// variables that the function reads, and names used with subscripts
    /// (arrays, with their rank).
    fn finish(&self, cx: &mut Ctx<'a>, body: &[Stmt]) {
        let mut locals = Vec::new();
        let mut exprs: Vec<&Expr> = Vec::new();
        for s in body {
            s.walk(&mut |s| {
                match &s.kind {
                    StmtKind::Loop(l) => locals.push(l.var.clone()),
                    StmtKind::Assign {
                        target: Expr::Var(v),
                        ..
                    } => locals.push(v.clone()),
                    _ => {}
                }
                exprs.extend(s.exprs());
            });
        }
        for l in locals {
            cx.vars.entry(l).or_default();
        }
        let mut used = HashSet::new();
        let mut indexed: Vec<(String, usize)> = Vec::new();
        for e in exprs {
            e.walk(&mut |e| match e {
                Expr::Var(v) => {
                    used.insert(v.clone());
                }
                Expr::Index { idx, .. } => {
                    if idx.iter().any(|i| matches!(i, Expr::Str(_))) {
                        return;
                    }
                    if let Some(a) = Access::of(e, &|_| false) {
                        if !a.base.ends_with(".shape") {
                            indexed.push((a.base, a.idx.len()));
                        }
                    }
                }
                _ => {}
            });
        }
        if !cx.module {
            for u in &used {
                if !cx.vars.contains_key(u) {
                    if let Some(vi) = self.module_vars.get(u) {
                        cx.vars.insert(u.clone(), vi.clone());
                    }
                }
            }
        }
        for (base, rank) in indexed {
            let vi = cx.vars.entry(base).or_default();
            vi.is_array = true;
            vi.rank = vi.rank.max(rank);
        }
    }
}

/// Methods of one class see the `self.x` arrays that sibling methods
/// (typically `__init__`) created.
fn share_self_attributes(functions: &mut [Function]) {
    let mut by_class: HashMap<String, HashMap<String, VarInfo>> = HashMap::new();
    for f in functions.iter() {
        let Some((class, _)) = f.name.rsplit_once('.') else {
            continue;
        };
        let entry = by_class.entry(class.to_string()).or_default();
        for (n, vi) in &f.vars {
            if n.starts_with("self.") && (vi.elem.is_some() || !vi.shape.is_empty()) {
                entry.entry(n.clone()).or_insert_with(|| vi.clone());
            }
        }
    }
    for f in functions.iter_mut() {
        let Some((class, _)) = f.name.rsplit_once('.') else {
            continue;
        };
        let Some(known) = by_class.get(class) else {
            continue;
        };
        let mut used = HashSet::new();
        f.walk(&mut |s| {
            for e in s.exprs() {
                e.walk(&mut |e| {
                    if let Expr::Var(v) = e {
                        if v.starts_with("self.") {
                            used.insert(v.clone());
                        }
                    }
                });
            }
        });
        for u in used {
            let Some(k) = known.get(&u) else { continue };
            match f.vars.get_mut(&u) {
                None => {
                    f.vars.insert(u, k.clone());
                }
                Some(cur) if cur.elem.is_none() && cur.shape.is_empty() => {
                    let rank = cur.rank.max(k.rank);
                    *cur = k.clone();
                    cur.rank = rank;
                    cur.is_array = true;
                }
                Some(_) => {}
            }
        }
    }
}

/// The named children of `n`, without comments.
pub(super) fn named(n: Node<'_>) -> Vec<Node<'_>> {
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter(|c| !matches!(c.kind(), "comment" | "line_continuation"))
        .collect()
}

/// 1-based span of a node.
pub(super) fn span(n: Node<'_>) -> Span {
    span_of(n, n)
}

/// From the start of `a` to the end of `b`.
pub(super) fn span_of(a: Node<'_>, b: Node<'_>) -> Span {
    let (s, e) = (a.start_position(), b.end_position());
    Span {
        start_byte: a.start_byte(),
        end_byte: b.end_byte(),
        start_line: s.row + 1,
        start_col: s.column + 1,
        end_line: e.row + 1,
        end_col: e.column + 1,
    }
}

/// ERROR and MISSING nodes, found without recursion.
fn syntax_problems(root: Node<'_>, src: &[u8]) -> Vec<SyntaxProblem> {
    let mut out = Vec::new();
    if !root.has_error() {
        return out;
    }
    let mut c = root.walk();
    loop {
        let n = c.node();
        let mut descend = n.has_error();
        if n.is_error() {
            let t = n.utf8_text(src).unwrap_or("");
            let snippet: String = t.lines().next().unwrap_or("").chars().take(40).collect();
            out.push(SyntaxProblem {
                span: span(n),
                message: if snippet.trim().is_empty() {
                    "syntax error".to_string()
                } else {
                    format!("syntax error near `{}`", snippet.trim())
                },
            });
            descend = false;
        } else if n.is_missing() {
            out.push(SyntaxProblem {
                span: span(n),
                message: format!("missing `{}`", n.kind()),
            });
        }
        if out.len() >= 100 {
            break;
        }
        if descend && c.goto_first_child() {
            continue;
        }
        loop {
            if c.goto_next_sibling() {
                break;
            }
            if !c.goto_parent() {
                return out;
            }
        }
    }
    out
}

/// `import a.b as c`, `from m import x as y`, anywhere in the file.
fn collect_imports(root: Node<'_>, src: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let text = |n: Node<'_>| n.utf8_text(src).unwrap_or("").to_string();
    let mut c = root.walk();
    loop {
        let n = c.node();
        let mut descend = true;
        match n.kind() {
            "import_statement" => {
                descend = false;
                let mut w = n.walk();
                for name in n.children_by_field_name("name", &mut w) {
                    if name.kind() == "aliased_import" {
                        if let (Some(m), Some(a)) = (
                            name.child_by_field_name("name"),
                            name.child_by_field_name("alias"),
                        ) {
                            out.insert(text(a), text(m));
                        }
                    } else {
                        let full = text(name);
                        let head = full.split('.').next().unwrap_or("").to_string();
                        out.insert(head.clone(), head);
                    }
                }
            }
            "import_from_statement" => {
                descend = false;
                let module = n
                    .child_by_field_name("module_name")
                    .map(text)
                    .unwrap_or_default();
                let mut w = n.walk();
                for name in n.children_by_field_name("name", &mut w) {
                    let (m, a) = if name.kind() == "aliased_import" {
                        (
                            name.child_by_field_name("name").map(text),
                            name.child_by_field_name("alias").map(text),
                        )
                    } else {
                        (Some(text(name)), Some(text(name)))
                    };
                    if let (Some(m), Some(a)) = (m, a) {
                        out.insert(a, format!("{module}.{m}"));
                    }
                }
            }
            "function_definition"
            | "class_definition"
            | "block"
            | "module"
            | "if_statement"
            | "try_statement"
            | "with_statement"
            | "decorated_definition"
            | "else_clause"
            | "elif_clause"
            | "except_clause"
            | "finally_clause"
            | "ERROR" => {}
            _ => descend = false,
        }
        if descend && c.goto_first_child() {
            continue;
        }
        loop {
            if c.goto_next_sibling() {
                break;
            }
            if !c.goto_parent() {
                return out;
            }
        }
    }
}
