//! The C and CUDA/C++ front end (tree-sitter-c, tree-sitter-cuda).
//!
//! Lowering happens in two passes over the translation unit:
//! 1. *Declarations*: macros (object-like into `File.consts` /
//!    `File.type_aliases`, function-like kept for expansion), `#include "x.h"`
//!    headers (read through the [`IncludeResolver`], recursively), typedefs,
//!    `using`, file-scope constants and enums, globals, class fields, and
//!    single-`return` helpers that are inlined at call sites.
//! 2. *Functions*: every function definition (free functions, methods,
//!    kernels, templates) is lowered into a [`Function`]; CUDA kernels then go
//!    through the thread-index binding pass in [`cuda`].
//!
//! The front end never panics on bad input: tree-sitter recovers from syntax
//! errors (reported in `File.syntax_problems`), and recursion over the tree is
//! capped at [`MAX_DEPTH`] levels (deeper parts become `Opaque` / `Other`).

mod attributes;
mod conditionals;
mod cuda;
mod dialect;
pub(crate) use dialect::looks_like_cpp;
mod expr;
pub(crate) use expr::vector_type_width;
mod stmt;
mod stmt_macros;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, Parser, Tree};

use super::reuse::{hash_map, LowerCache, Site};
use crate::ir::{ElemType, Expr, File, FnKind, Function, Lang, Span, SyntaxProblem, VarInfo};
use crate::{BuildContext, IncludeResolver};

/// Recursion cap for statements, expressions and top-level nesting.
pub(crate) const MAX_DEPTH: usize = 256;
/// At most this many syntax problems are recorded per file.
const MAX_PROBLEMS: usize = 50;
/// `#include` nesting limit.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Lowers C (`cuda == false`) or CUDA/C++ source.
pub fn lower(text: &str, path: &str, includes: &dyn IncludeResolver, cuda: bool) -> File {
    lower_with(text, path, includes, cuda, &BuildContext::default())
}

/// Lowers C or CUDA/C++ source with the build's `-D`/`-U` macros defined
/// first, as the compiler's command line defines them: a file's own
/// `#ifndef N / #define N 64 / #endif` then keeps the command line's `N`.
pub fn lower_with(
    text: &str,
    path: &str,
    includes: &dyn IncludeResolver,
    cuda: bool,
    build: &BuildContext,
) -> File {
    let tree = parse(text, cuda, None);
    lower_tree(tree.as_ref(), text, path, includes, cuda, build)
}

/// The tree-sitter grammar for C (`cuda == false`) or CUDA/C++.
pub(crate) fn language(cuda: bool) -> tree_sitter::Language {
    if cuda {
        tree_sitter_cuda::LANGUAGE.into()
    } else {
        tree_sitter_c::LANGUAGE.into()
    }
}

/// Parses `text` as C or CUDA/C++; `old` is the tree of the previous text,
/// already edited ([`Tree::edit`]) to match `text`, for an incremental
/// re-parse. GNU attributes are parsed as blanks ([`attributes`]), a
/// conditional group whose arms leave braces open as its one compiled arm
/// ([`conditionals`]), and statement macros' calls as statements
/// ([`stmt_macros`]). `None` only if the bundled grammar cannot be loaded.
pub fn parse(text: &str, cuda: bool, old: Option<&Tree>) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(&language(cuda)).ok()?;
    let (prepared, nonlocal) = prepare(text);
    // A `;` put after a statement macro's call, or a conditional's arm
    // chosen, depends on text that may lie outside the edited range:
    // parse such text afresh.
    let old = old.filter(|_| !nonlocal);
    parser.parse(prepared.as_bytes(), old)
}

/// The text tree-sitter parses for `text` (offsets, lines and columns
/// kept): GNU attributes blanked ([`attributes`]), conditional groups
/// whose arms leave braces open read as one arm ([`conditionals`]), the
/// statement macros' calls ended ([`stmt_macros`]); and whether the last
/// two changed anything, which depends on text away from the change.
fn prepare(text: &str) -> (std::borrow::Cow<'_, str>, bool) {
    use std::borrow::Cow;
    let blanked = attributes::blank(text);
    let resolved = conditionals::resolve(&blanked);
    let prepared = stmt_macros::terminate(&resolved);
    let nonlocal = matches!(resolved, Cow::Owned(_)) || matches!(prepared, Cow::Owned(_));
    let out = match (&blanked, nonlocal) {
        (Cow::Borrowed(_), false) => Cow::Borrowed(text),
        _ => Cow::Owned(prepared.into_owned()),
    };
    (out, nonlocal)
}

/// Lowers the main file from its parsed `tree` (of exactly `text`; `None`
/// lowers nothing but the command-line macros). Headers and macro bodies
/// are still parsed here, from scratch.
pub fn lower_tree(
    tree: Option<&Tree>,
    text: &str,
    path: &str,
    includes: &dyn IncludeResolver,
    cuda: bool,
    build: &BuildContext,
) -> File {
    lower_tree_reusing(tree, text, path, includes, cuda, build, None)
}

/// [`lower_tree`], re-using from `cache` the functions whose lowering
/// cannot have changed since it was filled, and leaving in it this text's
/// functions ([`super::reuse`]).
pub fn lower_tree_reusing(
    tree: Option<&Tree>,
    text: &str,
    path: &str,
    includes: &dyn IncludeResolver,
    cuda: bool,
    build: &BuildContext,
    cache: Option<&mut LowerCache>,
) -> File {
    let mut lw = Lowerer::new(cuda, includes);
    let top = TopCtx {
        active: true,
        class: None,
        tparams: Vec::new(),
        path: path.to_string(),
    };
    lw.command_line_macros(build, &top);
    let Some(tree) = tree else {
        return lw.file;
    };
    let src = text.as_bytes();
    let root = tree.root_node();
    lw.collect_problems(root);
    lw.visited.insert(normalize_path(path));
    lw.walk_top(root, src, &top, Pass::Decls, 0);
    if let Some(cache) = cache {
        cache.start();
        lw.context = Some(lw.fingerprint());
        lw.cache = Some(cache);
    }
    lw.walk_top(root, src, &top, Pass::Functions, 0);
    if let Some(cache) = lw.cache.take() {
        cache.finish();
    }
    lw.file
}

/// Which of the two passes [`Lowerer::walk_top`] performs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Decls,
    Functions,
}

/// Context of a top-level item.
#[derive(Clone)]
struct TopCtx {
    /// False inside a preprocessor branch known to be inactive.
    active: bool,
    /// The enclosing class or struct, for methods.
    class: Option<String>,
    /// Enclosing template parameters: (name, is a type parameter).
    tparams: Vec<(String, bool)>,
    /// The path of the file being walked (for nested includes).
    path: String,
}

/// A function-like macro (parameters and body text, lowered on first use),
/// or an object-like one whose body is statements ([`stmt_macros`]).
struct FnMacro {
    params: Vec<String>,
    body: String,
    /// An object-like macro (no parameter list).
    object: bool,
    /// The body is statements, expanded where the macro is called as one.
    statements: bool,
    /// `None`: not lowered yet; `Some(None)`: the body is not an expression.
    lowered: Option<Option<Expr>>,
}

/// A single-`return` function inlined at call sites.
struct Helper {
    params: Vec<String>,
    ret: Expr,
    /// The class of a method defined in its class body (`operator()`),
    /// whose fields the body reads.
    class: Option<String>,
}

/// What the type part of a declaration says.
#[derive(Clone, Debug, Default)]
struct TypeInfo {
    elem: Option<ElemType>,
    /// Subscript levels contributed by container types (`std::vector`).
    rank: usize,
    /// Known extents of the container levels (`std::array<float, N>`).
    shape: Vec<Option<Expr>>,
    /// The outermost container template (`vector` of `vector<vector<T>>`).
    container: Option<String>,
}

/// What a declarator says: name, pointer levels, array extents, initialiser.
struct DeclInfo<'t> {
    name: String,
    pointers: usize,
    /// Array extents outermost first; `None` for `[]`.
    dims: Vec<Option<Expr>>,
    init: Option<Node<'t>>,
}

pub(crate) struct Lowerer<'r> {
    includes: &'r dyn IncludeResolver,
    parser: Parser,
    file: File,
    /// Names whose definition came from a preprocessor branch known to be
    /// inactive; an active definition replaces them.
    weak: HashSet<String>,
    /// Compiler-defined macros (`__CUDACC__` for CUDA/C++), for `#ifdef`.
    predefined: HashSet<String>,
    fmacros: HashMap<String, FnMacro>,
    helpers: HashMap<String, Helper>,
    globals: HashMap<String, VarInfo>,
    class_fields: HashMap<String, HashMap<String, VarInfo>>,
    /// Macros and helpers being expanded (recursion guard).
    expanding: Vec<String>,
    /// Include paths already read (cycle guard).
    visited: HashSet<String>,
    include_depth: usize,
    /// Current recursion depth in statements/expressions.
    depth: usize,
    // Per-function state.
    vars: HashMap<String, VarInfo>,
    declared: HashSet<String>,
    type_params: Vec<String>,
    /// `Some` while an assignment statement is lowered: the increments
    /// (`p++`, `++p`) inside it, to run after (`true`: before) it.
    updates: Option<Vec<(Expr, crate::ir::AssignOp, bool)>>,
    /// Functions lowered earlier (the functions pass), and the fingerprint
    /// of everything besides its own text that a function's lowering reads.
    cache: Option<&'r mut LowerCache>,
    context: Option<u64>,
    /// Counts changes to the file-level state (macros, constants, aliases).
    mutations: u64,
}

impl<'r> Lowerer<'r> {
    fn new(cuda: bool, includes: &'r dyn IncludeResolver) -> Self {
        let mut parser = Parser::new();
        // Setting a bundled grammar only fails on an ABI mismatch; `parse`
        // then returns `None` and we lower nothing.
        let _ = parser.set_language(&language(cuda));
        let predefined: HashSet<String> = if cuda {
            ["__CUDACC__", "__NVCC__", "__cplusplus"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            HashSet::new()
        };
        Lowerer {
            includes,
            parser,
            file: File {
                lang: if cuda { Lang::Cuda } else { Lang::C },
                functions: Vec::new(),
                consts: HashMap::new(),
                const_origins: Default::default(),
                type_aliases: HashMap::new(),
                imports: Vec::new(),
                syntax_problems: Vec::new(),
            },
            weak: HashSet::new(),
            predefined,
            fmacros: HashMap::new(),
            helpers: HashMap::new(),
            globals: HashMap::new(),
            class_fields: HashMap::new(),
            expanding: Vec::new(),
            visited: HashSet::new(),
            include_depth: 0,
            depth: 0,
            vars: HashMap::new(),
            declared: HashSet::new(),
            type_params: Vec::new(),
            updates: None,
            cache: None,
            context: None,
            mutations: 0,
        }
    }

    /// What the functions pass reads besides a function's own text: the
    /// declarations pass's state (see [`super::reuse`]).
    fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.file.lang.hash(&mut h);
        hash_map(&mut h, &self.file.consts);
        hash_map(&mut h, &self.file.type_aliases);
        let mut weak: Vec<&String> = self.weak.iter().collect();
        weak.sort_unstable();
        weak.hash(&mut h);
        let mut pre: Vec<&String> = self.predefined.iter().collect();
        pre.sort_unstable();
        pre.hash(&mut h);
        let macros: HashMap<String, (&Vec<String>, &String, bool)> = self
            .fmacros
            .iter()
            .map(|(k, m)| (k.clone(), (&m.params, &m.body, m.object)))
            .collect();
        hash_map(&mut h, &macros);
        let helpers: HashMap<String, (&Vec<String>, &Expr)> = self
            .helpers
            .iter()
            .map(|(k, m)| (k.clone(), (&m.params, &m.ret)))
            .collect();
        hash_map(&mut h, &helpers);
        hash_map(&mut h, &self.globals);
        let fields: HashMap<String, Vec<(&String, String)>> = self
            .class_fields
            .iter()
            .map(|(k, m)| {
                let mut v: Vec<(&String, String)> =
                    m.iter().map(|(n, i)| (n, format!("{i:?}"))).collect();
                v.sort_unstable();
                (k.clone(), v)
            })
            .collect();
        hash_map(&mut h, &fields);
        h.finish()
    }

    /// [`Self::lower_function`], or the same function from the cache.
    fn lower_function_reusing(&mut self, node: Node, src: &[u8], ctx: &TopCtx) -> Option<Function> {
        let Some(fp) = self.context.filter(|_| self.cache.is_some()) else {
            return self.lower_function(node, src, ctx);
        };
        let context = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            fp.hash(&mut h);
            ctx.active.hash(&mut h);
            ctx.class.hash(&mut h);
            ctx.tparams.hash(&mut h);
            ctx.path.hash(&mut h);
            h.finish()
        };
        let site = Site {
            text: &src[node.start_byte()..node.end_byte()],
            start_byte: node.start_byte(),
            start_row: node.start_position().row,
            start_column: node.start_position().column,
            context,
        };
        if let Some(f) = self.cache.as_mut().and_then(|c| c.get(&site)) {
            return f;
        }
        let before = self.mutations;
        let f = self.lower_function(node, src, ctx);
        if self.mutations != before {
            // Its body changed the file-level state: never reused, and what
            // follows is lowered under a state that includes it.
            if let Some(c) = self.cache.as_mut() {
                c.lowered += 1;
            }
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            context.hash(&mut h);
            site.text.hash(&mut h);
            self.context = Some(h.finish());
            return f;
        }
        if let Some(c) = self.cache.as_mut() {
            c.put(&site, &f);
        }
        f
    }

    /// Defines `-D` macros (and removes `-U` ones) as if written before the
    /// first line. Names that are not identifiers are skipped.
    fn command_line_macros(&mut self, build: &BuildContext, top: &TopCtx) {
        let ident = |n: &str| {
            let mut cs = n.chars();
            cs.next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        let mut pre = String::new();
        for (name, value) in &build.defines {
            // `-DF(x)=...` defines a function-like macro.
            let head = name.split('(').next().unwrap_or("");
            if !ident(head) {
                continue;
            }
            let value = value.as_deref().unwrap_or("1").replace(['\r', '\n'], " ");
            pre.push_str(&format!("#define {name} {value}\n"));
        }
        for name in &build.undefines {
            if ident(name) {
                pre.push_str(&format!("#undef {name}\n"));
            }
        }
        if pre.is_empty() {
            return;
        }
        let Some(tree) = self.parse(&pre) else {
            return;
        };
        let src = pre.as_bytes();
        let root = tree.root_node();
        let top = &TopCtx {
            path: crate::ir::COMMAND_LINE.to_string(),
            ..top.clone()
        };
        let mut c = root.walk();
        let kids: Vec<Node> = root.named_children(&mut c).collect();
        for k in kids {
            if k.kind() == "preproc_call" {
                // `#undef NAME`
                let arg = k.child_by_field_name("argument").map(|a| text(a, src));
                if let Some(name) = arg {
                    let name = name.trim();
                    self.file.consts.remove(name);
                    self.file.type_aliases.remove(name);
                    self.fmacros.remove(name);
                }
            } else {
                self.walk_top(k, src, top, Pass::Decls, 0);
            }
        }
    }

    fn parse(&mut self, text: &str) -> Option<Tree> {
        self.parser.parse(prepare(text).0.as_bytes(), None)
    }

    /// Records ERROR and MISSING nodes (iteratively: trees can be deep).
    fn collect_problems(&mut self, root: Node) {
        if !root.has_error() {
            return;
        }
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            if self.file.syntax_problems.len() >= MAX_PROBLEMS {
                break;
            }
            if n.is_missing() {
                self.file.syntax_problems.push(SyntaxProblem {
                    span: span(n),
                    message: format!("missing `{}`", n.kind()),
                });
                continue;
            }
            if n.is_error() {
                self.file.syntax_problems.push(SyntaxProblem {
                    span: span(n),
                    message: "syntax error".to_string(),
                });
            }
            let mut c = n.walk();
            let kids: Vec<Node> = n.children(&mut c).filter(|k| k.has_error()).collect();
            stack.extend(kids.into_iter().rev());
        }
        self.file.syntax_problems.sort_by_key(|p| p.span.start_byte);
    }

    // ----------------------------------------------------------------
    // Top level
    // ----------------------------------------------------------------

    fn walk_top(&mut self, node: Node, src: &[u8], ctx: &TopCtx, pass: Pass, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match node.kind() {
            "translation_unit" | "declaration_list" | "ERROR" => {
                self.walk_children(node, src, ctx, pass, depth);
            }
            "preproc_if" | "preproc_ifdef" | "preproc_elif" | "preproc_elifdef"
            | "preproc_else" => {
                self.walk_conditional(node, src, ctx, pass, depth);
            }
            "linkage_specification" | "namespace_definition" => {
                if let Some(b) = node.child_by_field_name("body") {
                    self.walk_top(b, src, ctx, pass, depth + 1);
                }
            }
            "template_declaration" => {
                let mut inner = ctx.clone();
                if let Some(ps) = node.child_by_field_name("parameters") {
                    inner.tparams.extend(template_params(ps, src));
                }
                let mut c = node.walk();
                for ch in node.named_children(&mut c) {
                    if ch.kind() != "template_parameter_list" {
                        self.walk_top(ch, src, &inner, pass, depth + 1);
                    }
                }
            }
            "function_definition" => match pass {
                Pass::Decls => self.register_helper(node, src, ctx),
                Pass::Functions => {
                    if let Some(f) = self.lower_function_reusing(node, src, ctx) {
                        self.file.functions.push(f);
                    }
                }
            },
            "class_specifier" | "struct_specifier" | "union_specifier" => {
                self.walk_class(node, src, ctx, pass, depth);
            }
            _ if pass == Pass::Functions => {
                // Classes can hide inside declarations and typedefs.
                if matches!(node.kind(), "declaration" | "type_definition") {
                    if let Some(t) = node.child_by_field_name("type") {
                        if t.child_by_field_name("body").is_some() {
                            self.walk_top(t, src, ctx, pass, depth + 1);
                        }
                    }
                }
            }
            "preproc_def" => self.define_object_macro(node, src, ctx),
            "preproc_function_def" => self.define_function_macro(node, src),
            "preproc_include" => self.include(node, src, ctx),
            "type_definition" => self.typedef(node, src, ctx, depth),
            "alias_declaration" => {
                let name = node.child_by_field_name("name").map(|n| text(n, src));
                let ty = node.child_by_field_name("type").map(|n| text(n, src));
                if let (Some(name), Some(ty)) = (name, ty) {
                    self.define_alias(&name, &ty, ctx.active);
                }
            }
            "enum_specifier" => self.enumerators(node, src, ctx.active),
            "declaration" => self.file_declaration(node, src, ctx, depth),
            _ => {}
        }
    }

    fn walk_children(&mut self, node: Node, src: &[u8], ctx: &TopCtx, pass: Pass, depth: usize) {
        let mut c = node.walk();
        let kids: Vec<Node> = node.named_children(&mut c).collect();
        for ch in kids {
            self.walk_top(ch, src, ctx, pass, depth + 1);
        }
    }

    /// `#if`/`#ifdef` blocks: every branch is walked (functions are lowered in
    /// all of them), but definitions from a branch known to be inactive are
    /// weak: they never replace an existing definition and are replaced by an
    /// active one.
    fn walk_conditional(&mut self, node: Node, src: &[u8], ctx: &TopCtx, pass: Pass, depth: usize) {
        let taken = match node.kind() {
            "preproc_else" => Some(true),
            _ => self.eval_condition(node, src),
        };
        let mut here = ctx.clone();
        here.active = ctx.active && taken != Some(false);
        let mut alt_ctx = ctx.clone();
        alt_ctx.active = ctx.active && taken != Some(true);
        let mut c = node.walk();
        let kids: Vec<(Option<&str>, Node)> = node
            .children(&mut c)
            .enumerate()
            .map(|(i, ch)| (node.field_name_for_child(i as u32), ch))
            .collect();
        for (field, ch) in kids {
            if !ch.is_named() {
                continue;
            }
            match field {
                Some("name") | Some("condition") => {}
                Some("alternative") => self.walk_top(ch, src, &alt_ctx, pass, depth + 1),
                _ => self.walk_top(ch, src, &here, pass, depth + 1),
            }
        }
    }

    /// The truth of an `#if`/`#ifdef`/`#elif` condition, if we can tell.
    fn eval_condition(&self, node: Node, src: &[u8]) -> Option<bool> {
        let kind = node.kind();
        if kind == "preproc_ifdef" || kind == "preproc_elifdef" {
            let name = text(node.child_by_field_name("name")?, src);
            let defined = self.is_defined(&name);
            let negated = node
                .child(0)
                .is_some_and(|t| t.kind().contains("ifndef") || t.kind().contains("elifndef"));
            return Some(defined != negated);
        }
        let cond = node.child_by_field_name("condition")?;
        self.eval_pp(cond, src, 0).map(|v| v != 0)
    }

    fn is_defined(&self, name: &str) -> bool {
        self.predefined.contains(name)
            || (self.file.consts.contains_key(name) && !self.weak.contains(name))
            || self.fmacros.contains_key(name)
            || (self.file.type_aliases.contains_key(name) && !self.weak.contains(name))
    }

    fn eval_pp(&self, node: Node, src: &[u8], depth: usize) -> Option<i64> {
        if depth > 64 {
            return None;
        }
        match node.kind() {
            "preproc_defined" => {
                let mut c = node.walk();
                let name = node
                    .named_children(&mut c)
                    .find(|n| n.kind() == "identifier")?;
                Some(self.is_defined(&text(name, src)) as i64)
            }
            "number_literal" => match expr::parse_number(&text(node, src)) {
                Expr::Int(v) => Some(v),
                _ => None,
            },
            "identifier" => {
                let name = text(node, src);
                if self.weak.contains(&name) {
                    return None;
                }
                if self.predefined.contains(&name) {
                    return Some(1);
                }
                // Undefined identifiers are 0 in `#if`.
                match self.file.consts.get(&name) {
                    Some(_) => self.file.const_value(&name),
                    None => Some(0),
                }
            }
            "parenthesized_expression" => self.eval_pp(node.named_child(0)?, src, depth + 1),
            "unary_expression" => {
                let v = self.eval_pp(node.child_by_field_name("argument")?, src, depth + 1)?;
                match text(node.child_by_field_name("operator")?, src).as_str() {
                    "!" => Some((v == 0) as i64),
                    "-" => Some(-v),
                    "+" => Some(v),
                    _ => None,
                }
            }
            "binary_expression" => {
                let op = text(node.child_by_field_name("operator")?, src);
                let a = self.eval_pp(node.child_by_field_name("left")?, src, depth + 1);
                let b = self.eval_pp(node.child_by_field_name("right")?, src, depth + 1);
                match op.as_str() {
                    "&&" => match (a, b) {
                        (Some(0), _) | (_, Some(0)) => Some(0),
                        (Some(_), Some(_)) => Some(1),
                        _ => None,
                    },
                    "||" => match (a, b) {
                        (Some(x), _) if x != 0 => Some(1),
                        (_, Some(y)) if y != 0 => Some(1),
                        (Some(_), Some(_)) => Some(0),
                        _ => None,
                    },
                    _ => {
                        let (a, b) = (a?, b?);
                        Some(match op.as_str() {
                            "==" => (a == b) as i64,
                            "!=" => (a != b) as i64,
                            "<" => (a < b) as i64,
                            "<=" => (a <= b) as i64,
                            ">" => (a > b) as i64,
                            ">=" => (a >= b) as i64,
                            "+" => a.checked_add(b)?,
                            "-" => a.checked_sub(b)?,
                            "*" => a.checked_mul(b)?,
                            "/" => a.checked_div(b)?,
                            _ => return None,
                        })
                    }
                }
            }
            _ => None,
        }
    }

    /// Classes and structs: fields (for the methods' `vars`), static
    /// constants, and methods named `Class::method`.
    fn walk_class(&mut self, node: Node, src: &[u8], ctx: &TopCtx, pass: Pass, depth: usize) {
        let Some(body) = node.child_by_field_name("body") else {
            return;
        };
        let name = node
            .child_by_field_name("name")
            .map(|n| text(n, src))
            .unwrap_or_default();
        let mut inner = ctx.clone();
        inner.class = Some(match &ctx.class {
            Some(outer) if !name.is_empty() => format!("{outer}::{name}"),
            Some(outer) => outer.clone(),
            None => name.clone(),
        });
        if inner.class.as_deref() == Some("") {
            inner.class = None;
        }
        let mut c = body.walk();
        let kids: Vec<Node> = body.named_children(&mut c).collect();
        for ch in kids {
            match ch.kind() {
                "field_declaration" if pass == Pass::Decls => {
                    self.class_field(ch, src, inner.class.clone().unwrap_or_default(), ctx);
                }
                "declaration" if pass == Pass::Decls => {
                    self.class_field(ch, src, inner.class.clone().unwrap_or_default(), ctx);
                }
                "function_definition"
                | "template_declaration"
                | "class_specifier"
                | "struct_specifier"
                | "preproc_if"
                | "preproc_ifdef"
                | "type_definition"
                | "alias_declaration"
                | "enum_specifier" => self.walk_top(ch, src, &inner, pass, depth + 1),
                "field_declaration" => {
                    if let Some(t) = ch.child_by_field_name("type") {
                        if t.child_by_field_name("body").is_some() {
                            self.walk_top(t, src, &inner, pass, depth + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn class_field(&mut self, node: Node, src: &[u8], class: String, ctx: &TopCtx) {
        if let Some(t) = node.child_by_field_name("type") {
            if t.kind() == "enum_specifier" {
                self.enumerators(t, src, ctx.active);
            }
        }
        let is_const = has_qualifier(node, src, &["const", "constexpr"]);
        let default = node.child_by_field_name("default_value");
        for (d, info) in self.declaration_vars(node, src) {
            if is_const && !info.is_array {
                if let Some(init) = d.init.or(default) {
                    let e = self.lower_expr(init, src);
                    self.define_const_at(&d.name, e, init, ctx);
                    continue;
                }
            }
            self.class_fields
                .entry(class.clone())
                .or_default()
                .insert(d.name, info);
        }
    }

    fn define_const(&mut self, name: &str, value: Expr, active: bool) -> bool {
        self.mutations += 1;
        if active {
            self.weak.remove(name);
            self.file.consts.insert(name.to_string(), value);
            true
        } else if !self.file.consts.contains_key(name) {
            self.weak.insert(name.to_string());
            self.file.consts.insert(name.to_string(), value);
            true
        } else {
            false
        }
    }

    /// [`Self::define_const`] that also records where (`File.const_origins`).
    fn define_const_at(&mut self, name: &str, value: Expr, node: Node, ctx: &TopCtx) {
        if self.define_const(name, value, ctx.active) {
            let line = node.start_position().row + 1;
            self.file
                .const_origins
                .insert(name.to_string(), (ctx.path.clone(), line));
        }
    }

    fn define_alias(&mut self, name: &str, ty: &str, active: bool) {
        self.mutations += 1;
        let ty = collapse_ws(ty);
        if ty == name {
            return;
        }
        if active {
            self.weak.remove(name);
            self.file.type_aliases.insert(name.to_string(), ty);
        } else if !self.file.type_aliases.contains_key(name) {
            self.weak.insert(name.to_string());
            self.file.type_aliases.insert(name.to_string(), ty);
        }
    }

    /// `#define N 1024` → const; `#define DATA_TYPE double` → type alias.
    fn define_object_macro(&mut self, node: Node, src: &[u8], ctx: &TopCtx) {
        let Some(name) = node.child_by_field_name("name").map(|n| text(n, src)) else {
            return;
        };
        let body = node
            .child_by_field_name("value")
            .map(|v| strip_comments(&text(v, src)))
            .unwrap_or_default();
        let body = body.trim();
        if body.is_empty() {
            // `#define LARGE_DATASET`: defined, with no value.
            let _ = self.define_const(&name, Expr::Int(1), ctx.active);
            return;
        }
        if self.looks_like_type(body) {
            self.define_alias(&name, body, ctx.active);
            return;
        }
        if stmt_macros::is_statement_body(body) {
            self.mutations += 1;
            self.fmacros.insert(
                name,
                FnMacro {
                    params: Vec::new(),
                    body: body.to_string(),
                    object: true,
                    statements: true,
                    lowered: Some(None),
                },
            );
            return;
        }
        if let Some(e) = self.lower_snippet(body) {
            self.define_const_at(&name, e, node, ctx);
        }
    }

    fn looks_like_type(&self, s: &str) -> bool {
        const WORDS: &[&str] = &[
            "const",
            "volatile",
            "unsigned",
            "signed",
            "int",
            "long",
            "short",
            "char",
            "float",
            "double",
            "void",
            "half",
            "__half",
            "__nv_bfloat16",
            "bool",
        ];
        if ElemType::from_name(s).is_some() {
            return true;
        }
        let words: Vec<&str> = s.split_whitespace().collect();
        if !words.is_empty() && words.iter().all(|w| WORDS.contains(w)) {
            return true;
        }
        words.len() == 1 && self.file.type_aliases.contains_key(s)
    }

    fn define_function_macro(&mut self, node: Node, src: &[u8]) {
        self.mutations += 1;
        let Some(name) = node.child_by_field_name("name").map(|n| text(n, src)) else {
            return;
        };
        let mut params = Vec::new();
        if let Some(ps) = node.child_by_field_name("parameters") {
            let mut c = ps.walk();
            for p in ps.named_children(&mut c) {
                if p.kind() == "identifier" {
                    params.push(text(p, src));
                }
            }
        }
        let body = node
            .child_by_field_name("value")
            .map(|v| strip_comments(&text(v, src)))
            .unwrap_or_default();
        let body = body.trim().to_string();
        self.fmacros.insert(
            name,
            FnMacro {
                params,
                statements: stmt_macros::is_statement_body(&body),
                body,
                object: false,
                lowered: None,
            },
        );
    }

    /// Parses `text` on its own as one expression and lowers it.
    pub(crate) fn lower_snippet(&mut self, body: &str) -> Option<Expr> {
        let wrapped = format!("void __gs_snippet(void) {{ ({body}); }}\n");
        let tree = self.parse(&wrapped)?;
        let root = tree.root_node();
        if root.has_error() {
            return None;
        }
        let f = root.named_child(0)?;
        let block = f.child_by_field_name("body")?;
        let stmt = block.named_child(0)?;
        if stmt.kind() != "expression_statement" {
            return None;
        }
        let e = stmt.named_child(0)?;
        let src = wrapped.as_bytes();
        Some(self.lower_expr(e, src))
    }

    /// The lowered body of a function-like macro (cached).
    fn macro_body(&mut self, name: &str) -> Option<(Vec<String>, Expr)> {
        let m = self.fmacros.get(name)?;
        if let Some(l) = &m.lowered {
            return l.clone().map(|e| (m.params.clone(), e));
        }
        let body = m.body.clone();
        let params = m.params.clone();
        self.expanding.push(name.to_string());
        let e = if body.is_empty() {
            None
        } else {
            self.lower_snippet(&body)
        };
        self.expanding.pop();
        if let Some(m) = self.fmacros.get_mut(name) {
            m.lowered = Some(e.clone());
        }
        e.map(|e| (params, e))
    }

    fn include(&mut self, node: Node, src: &[u8], ctx: &TopCtx) {
        let Some(p) = node.child_by_field_name("path") else {
            return;
        };
        // Record the header's name (`cublas_v2.h`) in `File::imports`.
        let name = text(p, src)
            .trim_matches(|c| c == '"' || c == '<' || c == '>')
            .to_string();
        if !name.is_empty() && !self.file.imports.contains(&name) {
            self.file.imports.push(name);
        }
        let (inc, angled) = match p.kind() {
            "string_literal" => {
                let mut c = p.walk();
                let Some(inc) = p
                    .named_children(&mut c)
                    .find(|n| n.kind() == "string_content")
                    .map(|n| text(n, src))
                else {
                    return;
                };
                (inc, false)
            }
            // `<x.h>`: only the resolver's include directories (`-I`) are
            // searched; system headers are never read.
            "system_lib_string" => {
                let t = text(p, src);
                let t = t.trim_start_matches('<').trim_end_matches('>').to_string();
                (t, true)
            }
            _ => return,
        };
        if self.include_depth >= MAX_INCLUDE_DEPTH {
            return;
        }
        let guess = normalize_path(&join_path(&ctx.path, &inc));
        if !angled && self.visited.contains(&guess) {
            return;
        }
        let Some((found, header)) = self.includes.find(&ctx.path, &inc, angled) else {
            return;
        };
        let joined = normalize_path(&found);
        if !self.visited.insert(joined.clone()) {
            return;
        }
        let Some(tree) = self.parse(&header) else {
            return;
        };
        let hctx = TopCtx {
            active: ctx.active,
            class: None,
            tparams: Vec::new(),
            path: joined,
        };
        self.include_depth += 1;
        self.walk_top(tree.root_node(), header.as_bytes(), &hctx, Pass::Decls, 0);
        self.include_depth -= 1;
    }

    fn typedef(&mut self, node: Node, src: &[u8], ctx: &TopCtx, depth: usize) {
        let Some(ty) = node.child_by_field_name("type") else {
            return;
        };
        if ty.kind() == "enum_specifier" {
            self.enumerators(ty, src, ctx.active);
        }
        if matches!(ty.kind(), "struct_specifier" | "class_specifier") {
            self.walk_top(ty, src, ctx, Pass::Decls, depth + 1);
        }
        let ty_text = text(ty, src);
        let mut c = node.walk();
        let decls: Vec<Node> = node.children_by_field_name("declarator", &mut c).collect();
        for d in decls {
            // `typedef float vec4[4];` names the element type of an array
            // type: the alias resolves to `float` (the extent is not kept).
            let mut d = d;
            while d.kind() == "array_declarator" {
                match d.child_by_field_name("declarator") {
                    Some(inner) => d = inner,
                    None => break,
                }
            }
            if d.kind() == "type_identifier" {
                let name = text(d, src);
                if !matches!(
                    ty.kind(),
                    "struct_specifier" | "enum_specifier" | "union_specifier"
                ) {
                    self.define_alias(&name, &ty_text, ctx.active);
                }
            }
        }
    }

    fn enumerators(&mut self, node: Node, src: &[u8], active: bool) {
        let Some(body) = node.child_by_field_name("body") else {
            return;
        };
        let mut prev: Option<Expr> = None;
        let mut c = body.walk();
        let kids: Vec<Node> = body.named_children(&mut c).collect();
        for e in kids {
            if e.kind() != "enumerator" {
                continue;
            }
            let Some(name) = e.child_by_field_name("name").map(|n| text(n, src)) else {
                continue;
            };
            let value = match e.child_by_field_name("value") {
                Some(v) => self.lower_expr(v, src),
                None => match prev {
                    None => Expr::Int(0),
                    Some(Expr::Int(p)) => Expr::Int(p.saturating_add(1)),
                    Some(_) => Expr::bin(
                        crate::ir::BinOp::Add,
                        Expr::Var(prev_name(&body, src, &name)),
                        Expr::Int(1),
                    ),
                },
            };
            prev = Some(value.clone());
            let _ = self.define_const(&name, value, active);
        }
    }

    /// File-scope declarations: constants and globals.
    fn file_declaration(&mut self, node: Node, src: &[u8], ctx: &TopCtx, depth: usize) {
        if let Some(t) = node.child_by_field_name("type") {
            match t.kind() {
                "enum_specifier" => self.enumerators(t, src, ctx.active),
                "struct_specifier" | "class_specifier" => {
                    self.walk_top(t, src, ctx, Pass::Decls, depth + 1)
                }
                _ => {}
            }
        }
        let is_const = has_qualifier(node, src, &["const", "constexpr"]);
        for (d, info) in self.declaration_vars(node, src) {
            if is_const && !info.is_array {
                if let Some(init) = d.init {
                    let e = self.lower_expr(init, src);
                    self.define_const_at(&d.name, e, init, ctx);
                    continue;
                }
            }
            self.globals.insert(d.name, info);
        }
    }

    /// Registers a single-`return` `__device__` or `inline` function.
    fn register_helper(&mut self, node: Node, src: &[u8], ctx: &TopCtx) {
        let kind = fn_kind(node, src);
        let inline = has_specifier_text(node, src, "inline");
        let Some((name, params)) = fn_name_params(node, src) else {
            return;
        };
        // A call operator defined in its class body is inline too: the
        // element accessor `m(i, j)` of a matrix class.
        let accessor = ctx.class.is_some() && name.ends_with("operator()");
        if kind != FnKind::CudaDevice && !inline && !accessor {
            return;
        }
        let Some(body) = node.child_by_field_name("body") else {
            return;
        };
        let mut c = body.walk();
        // Bounds checks that only throw (`if (r >= rows) throw ...;`) do
        // not change the value returned.
        let stmts: Vec<Node> = body
            .named_children(&mut c)
            .filter(|n| n.kind() != "comment" && !throwing_guard(*n))
            .collect();
        if stmts.len() != 1 || stmts[0].kind() != "return_statement" {
            return;
        }
        let Some(e) = stmts[0].named_child(0).filter(|n| n.kind() != "comment") else {
            return;
        };
        let saved = std::mem::take(&mut self.type_params);
        self.type_params = ctx
            .tparams
            .iter()
            .filter(|(_, t)| *t)
            .map(|(n, _)| n.clone())
            .collect();
        self.expanding.push(name.clone());
        let ret = self.lower_expr(e, src);
        self.expanding.pop();
        self.type_params = saved;
        let params = params.into_iter().map(|(n, _)| n).collect();
        let short = name.rsplit("::").next().unwrap_or(&name).to_string();
        let class = ctx.class.clone().filter(|_| accessor);
        self.helpers.insert(short, Helper { params, ret, class });
    }

    fn lower_function(&mut self, node: Node, src: &[u8], ctx: &TopCtx) -> Option<Function> {
        let body = node.child_by_field_name("body")?;
        let (raw_name, params) = fn_name_params_nodes(node, src)?;
        let name = match &ctx.class {
            Some(c) => format!("{c}::{raw_name}"),
            None => raw_name.clone(),
        };
        let kind = fn_kind(node, src);
        self.type_params = ctx
            .tparams
            .iter()
            .filter(|(_, t)| *t)
            .map(|(n, _)| n.clone())
            .collect();
        // Names visible in the body: globals, class fields, template values.
        self.vars = self.globals.clone();
        let class = ctx
            .class
            .clone()
            .or_else(|| raw_name.rsplit_once("::").map(|(c, _)| c.to_string()));
        if let Some(fields) = class.and_then(|c| self.class_fields.get(&c)) {
            self.vars.extend(fields.clone());
        }
        for (n, is_type) in &ctx.tparams {
            if !is_type {
                self.vars.insert(
                    n.clone(),
                    VarInfo {
                        elem: Some(ElemType::I32),
                        ..Default::default()
                    },
                );
            }
        }
        self.declared.clear();
        let mut names = Vec::new();
        for p in params {
            if let Some((d, info)) = self.param_info(p, src) {
                names.push(d.clone());
                self.vars.insert(d.clone(), info);
                self.declared.insert(d);
            }
        }
        self.depth = 0;
        let mut stmts = Vec::new();
        self.lower_block(body, src, &mut stmts);
        // A `__device__` function that kernels call reads the same thread
        // indices (cuda-samples' `matrixMul<block_size>` helper).
        if matches!(kind, FnKind::CudaKernel | FnKind::CudaDevice) {
            stmts = cuda::bind_threads(stmts, span(body));
        }
        Some(Function {
            name,
            kind,
            params: names,
            template_params: std::mem::take(&mut self.type_params),
            template_order: ctx.tparams.iter().map(|(n, _)| n.clone()).collect(),
            vars: std::mem::take(&mut self.vars),
            body: stmts,
            span: span(node),
        })
    }

    // ----------------------------------------------------------------
    // Types and declarators
    // ----------------------------------------------------------------

    /// Element type, container rank and container extents of a type spelling.
    fn resolve_type(&self, ty: &str, depth: usize) -> TypeInfo {
        let mut t = collapse_ws(ty);
        for q in ["const ", "volatile ", "typename ", "struct "] {
            while let Some(rest) = t.strip_prefix(q) {
                t = rest.to_string();
            }
        }
        for q in [" const", " volatile", "&", " "] {
            while let Some(rest) = t.strip_suffix(q) {
                t = rest.to_string();
            }
        }
        if depth > 16 {
            return TypeInfo::default();
        }
        if let Some(open) = t.find('<') {
            if t.ends_with('>') {
                let head = t[..open].trim();
                let last = head.rsplit("::").next().unwrap_or(head);
                let args = split_top_commas(&t[open + 1..t.len() - 1]);
                const VECS: &[&str] = &[
                    "vector",
                    "valarray",
                    "array",
                    "device_vector",
                    "host_vector",
                    "span",
                    "deque",
                    "unique_ptr",
                    "shared_ptr",
                ];
                if VECS.contains(&last) {
                    let inner = args.first().map(|s| s.trim_end_matches("[]")).unwrap_or("");
                    let mut info = self.resolve_type(inner, depth + 1);
                    let ext = if last == "array" {
                        args.get(1).and_then(|a| simple_expr(a))
                    } else {
                        None
                    };
                    info.rank += 1;
                    info.shape.insert(0, ext);
                    info.container = Some(last.to_string());
                    return info;
                }
                return TypeInfo {
                    elem: ElemType::from_name(last).or(Some(ElemType::Named(t.clone()))),
                    ..Default::default()
                };
            }
        }
        if let Some(e) = sized_elem(&t) {
            return TypeInfo {
                elem: Some(e),
                ..Default::default()
            };
        }
        if self.type_params.contains(&t) {
            return TypeInfo {
                elem: Some(ElemType::Named(t)),
                ..Default::default()
            };
        }
        if let Some(next) = self.file.type_aliases.get(&t) {
            let mut info = self.resolve_type(next, depth + 1);
            if info.elem.is_none() {
                info.elem = Some(ElemType::Named(t));
            }
            return info;
        }
        let last = t.rsplit("::").next().unwrap_or(&t);
        if let Some(e) = ElemType::from_name(last) {
            return TypeInfo {
                elem: Some(e),
                ..Default::default()
            };
        }
        if t.is_empty() || t == "auto" || t == "void" || t == "bool" {
            return TypeInfo::default();
        }
        TypeInfo {
            elem: Some(ElemType::Named(t)),
            ..Default::default()
        }
    }

    /// True if `name` denotes a type (for casts written as calls).
    pub(crate) fn is_type_name(&self, name: &str) -> bool {
        ElemType::from_name(name).is_some()
            || self.type_params.iter().any(|p| p == name)
            || self.file.type_aliases.contains_key(name)
    }

    /// Walks a declarator down to its name.
    fn declarator<'t>(&mut self, mut node: Node<'t>, src: &[u8]) -> Option<DeclInfo<'t>> {
        let mut pointers = 0;
        let mut dims = Vec::new();
        let mut init = None;
        for _ in 0..64 {
            match node.kind() {
                "identifier" | "field_identifier" | "type_identifier" | "qualified_identifier" => {
                    dims.reverse();
                    return Some(DeclInfo {
                        name: collapse_ws(&text(node, src)).replace(' ', ""),
                        pointers,
                        dims,
                        init,
                    });
                }
                "pointer_declarator" => {
                    if dims.is_empty() {
                        pointers += 1;
                    } else {
                        // `float (*A)[N]`: a pointer to rows of N, i.e. `A[][N]`.
                        dims.push(None);
                    }
                    node = node.child_by_field_name("declarator")?;
                }
                "reference_declarator" => {
                    let mut c = node.walk();
                    node = node
                        .named_children(&mut c)
                        .filter(|n| n.kind() != "type_qualifier")
                        .last()?;
                }
                "array_declarator" => {
                    dims.push(
                        node.child_by_field_name("size")
                            .map(|s| self.lower_expr(s, src)),
                    );
                    node = node.child_by_field_name("declarator")?;
                }
                "init_declarator" => {
                    init = node.child_by_field_name("value");
                    node = node.child_by_field_name("declarator")?;
                }
                "parenthesized_declarator" | "attributed_declarator" => {
                    let mut c = node.walk();
                    node = node.named_children(&mut c).find(|n| {
                        !matches!(n.kind(), "type_qualifier" | "attribute_declaration")
                    })?;
                }
                "function_declarator" => {
                    // PolyBench: `DATA_TYPE POLYBENCH_2D(C, NI, NJ, ni, nj)`.
                    let f = text(node.child_by_field_name("declarator")?, src);
                    let rank: usize = f
                        .strip_prefix("POLYBENCH_")?
                        .strip_suffix('D')?
                        .parse()
                        .ok()?;
                    let ps = node.child_by_field_name("parameters")?;
                    let mut c = ps.walk();
                    let args: Vec<String> =
                        ps.named_children(&mut c).map(|p| text(p, src)).collect();
                    let name = args.first()?.clone();
                    let dims = args
                        .iter()
                        .skip(1)
                        .take(rank)
                        .map(|a| simple_expr(a))
                        .collect();
                    return Some(DeclInfo {
                        name,
                        pointers: 0,
                        dims,
                        init,
                    });
                }
                _ => return None,
            }
        }
        None
    }

    fn var_info(&self, d: &DeclInfo, ty: &TypeInfo, shared: bool) -> VarInfo {
        let rank = d.pointers + d.dims.len() + ty.rank;
        let mut shape = Vec::new();
        if d.pointers == 0 {
            let all: Vec<Option<Expr>> = d.dims.iter().chain(ty.shape.iter()).cloned().collect();
            if all.iter().all(Option::is_some) {
                shape = all.into_iter().flatten().collect();
            } else if all.len() >= 2 && all[1..].iter().all(Option::is_some) {
                // `float A[][N]` (or `(*A)[N]`): contiguous rows of known
                // extent, the row count unknown.
                shape = std::iter::once(Expr::Other("?".into()))
                    .chain(all.into_iter().skip(1).flatten())
                    .collect();
            }
        }
        VarInfo {
            elem: ty.elem.clone(),
            rank,
            shape,
            is_array: rank > 0,
            shared,
            ndarray: false,
            // `std::vector<float> *v` or `vector<float> v[4]`: the
            // elements are not the container's.
            container: ty
                .container
                .clone()
                .filter(|_| d.pointers == 0 && d.dims.is_empty()),
            vector_lanes: None,
        }
    }

    /// Every declarator of a declaration with its `VarInfo`.
    fn declaration_vars<'t>(&mut self, node: Node<'t>, src: &[u8]) -> Vec<(DeclInfo<'t>, VarInfo)> {
        let ty = node
            .child_by_field_name("type")
            .map(|t| self.resolve_type(&text(t, src), 0))
            .unwrap_or_default();
        let shared = has_qualifier(node, src, &["__shared__"]);
        let mut c = node.walk();
        let decls: Vec<Node> = node.children_by_field_name("declarator", &mut c).collect();
        let mut out = Vec::new();
        for d in decls {
            if d.kind() == "function_declarator" && !text(d, src).starts_with("POLYBENCH_") {
                continue; // a prototype
            }
            if let Some(info) = self.declarator(d, src) {
                let mut vi = self.var_info(&info, &ty, shared);
                // `std::vector<float> v(n)`: the extent from the constructor.
                if ty.rank > 0 && vi.shape.is_empty() && info.pointers == 0 && info.dims.is_empty()
                {
                    if let Some(init) = info.init.filter(|i| i.kind() == "argument_list") {
                        if let Some(first) = init.named_child(0) {
                            vi.shape = vec![self.lower_expr(first, src)];
                        }
                    }
                }
                out.push((info, vi));
            }
        }
        out
    }

    fn param_info(&mut self, p: Node, src: &[u8]) -> Option<(String, VarInfo)> {
        let ty = self.resolve_type(&text(p.child_by_field_name("type")?, src), 0);
        let d = self.declarator(p.child_by_field_name("declarator")?, src)?;
        let vi = self.var_info(&d, &ty, false);
        Some((d.name, vi))
    }

    /// Records a local in `vars` (params and earlier locals win).
    fn declare_local(&mut self, name: &str, info: VarInfo) {
        if self.declared.insert(name.to_string()) {
            self.vars.insert(name.to_string(), info);
        }
    }
}

// --------------------------------------------------------------------
// Small helpers
// --------------------------------------------------------------------

/// The 1-based span of a node.
pub(crate) fn span(n: Node) -> Span {
    let (s, e) = (n.start_position(), n.end_position());
    Span {
        start_byte: n.start_byte(),
        end_byte: n.end_byte(),
        start_line: s.row + 1,
        start_col: s.column + 1,
        end_line: e.row + 1,
        end_col: e.column + 1,
    }
}

pub(crate) fn text(n: Node, src: &[u8]) -> String {
    n.utf8_text(src).unwrap_or("").to_string()
}

fn collapse_ws(s: &str) -> String {
    let mut out = s.split_whitespace().collect::<Vec<_>>().join(" ");
    for (a, b) in [
        ("< ", "<"),
        (" >", ">"),
        (" ::", "::"),
        (":: ", "::"),
        (" ,", ","),
    ] {
        while out.contains(a) {
            out = out.replace(a, b);
        }
    }
    out
}

/// Removes `//` and `/* */` comments from macro text.
fn strip_comments(s: &str) -> String {
    let s = s.replace("\\\r\n", " ").replace("\\\n", " ");
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut in_str: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = in_str {
            if c == b'\\' && i + 1 < b.len() {
                out.push_str(&s[i..i + 2]);
                i += 2;
                continue;
            }
            if c == q {
                in_str = None;
            }
        } else if c == b'"' || c == b'\'' {
            in_str = Some(c);
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            break;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            match s[i + 2..].find("*/") {
                Some(end) => {
                    out.push(' ');
                    i = i + 2 + end + 2;
                    continue;
                }
                None => break,
            }
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn split_top_commas(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(s[start..].trim());
    out
}

/// A name or integer literal as an expression (for extents written in types).
fn simple_expr(s: &str) -> Option<Expr> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        if s.starts_with(|c: char| c.is_ascii_digit()) {
            return Some(expr::parse_number(s));
        }
        return Some(Expr::Var(s.to_string()));
    }
    Some(Expr::Other(s.to_string()))
}

/// Multi-word C integer/float types (`unsigned long`, `long double`).
fn sized_elem(t: &str) -> Option<ElemType> {
    if let Some(e) = ElemType::from_name(t) {
        return Some(e);
    }
    let words: Vec<&str> = t.split_whitespace().collect();
    const KW: &[&str] = &[
        "unsigned", "signed", "int", "long", "short", "char", "double", "float",
    ];
    if words.len() < 2 || !words.iter().all(|w| KW.contains(w)) {
        return None;
    }
    Some(if words.contains(&"double") {
        ElemType::F64
    } else if words.contains(&"float") {
        ElemType::F32
    } else if words.contains(&"char") {
        ElemType::I8
    } else if words.contains(&"short") {
        ElemType::I16
    } else if words.contains(&"long") {
        ElemType::I64
    } else {
        ElemType::I32
    })
}

fn has_qualifier(node: Node, src: &[u8], words: &[&str]) -> bool {
    let mut c = node.walk();
    let found = node.children(&mut c).any(|ch| {
        matches!(ch.kind(), "type_qualifier" | "storage_class_specifier")
            && words.contains(&text(ch, src).trim())
            || words.contains(&ch.kind())
    });
    found
}

/// True if a specifier child of a function definition is spelled `word`.
fn has_specifier_text(node: Node, src: &[u8], word: &str) -> bool {
    let mut c = node.walk();
    let kids: Vec<(Option<&str>, Node)> = node
        .children(&mut c)
        .enumerate()
        .map(|(i, ch)| (node.field_name_for_child(i as u32), ch))
        .collect();
    kids.into_iter()
        .filter(|(f, _)| !matches!(f, Some("type") | Some("declarator") | Some("body")))
        .any(|(_, ch)| text(ch, src).split_whitespace().any(|w| w == word))
}

fn fn_kind(node: Node, src: &[u8]) -> FnKind {
    if has_specifier_text(node, src, "__global__") {
        FnKind::CudaKernel
    } else if has_specifier_text(node, src, "__device__") {
        FnKind::CudaDevice
    } else {
        FnKind::Host
    }
}

/// The function's name and its parameter declaration nodes.
fn fn_name_params_nodes<'t>(node: Node<'t>, src: &[u8]) -> Option<(String, Vec<Node<'t>>)> {
    let mut d = node.child_by_field_name("declarator")?;
    for _ in 0..16 {
        match d.kind() {
            "function_declarator" => break,
            "pointer_declarator" | "parenthesized_declarator" | "attributed_declarator" => {
                d = d
                    .child_by_field_name("declarator")
                    .or_else(|| d.named_child(0))?;
            }
            "reference_declarator" => {
                let mut c = d.walk();
                d = d.named_children(&mut c).last()?;
            }
            _ => return None,
        }
    }
    if d.kind() != "function_declarator" {
        return None;
    }
    let name_node = d.child_by_field_name("declarator")?;
    let name = match name_node.kind() {
        "template_function" => text(name_node.child_by_field_name("name")?, src),
        _ => text(name_node, src),
    };
    let name: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    let mut params = Vec::new();
    if let Some(ps) = d.child_by_field_name("parameters") {
        let mut c = ps.walk();
        for p in ps.named_children(&mut c) {
            if matches!(
                p.kind(),
                "parameter_declaration" | "optional_parameter_declaration"
            ) {
                params.push(p);
            }
        }
    }
    Some((name, params))
}

/// Name and parameter names (with nodes) of a function definition.
fn fn_name_params<'t>(node: Node<'t>, src: &[u8]) -> Option<(String, Vec<(String, Node<'t>)>)> {
    let (name, ps) = fn_name_params_nodes(node, src)?;
    let mut out = Vec::new();
    for p in ps {
        let Some(mut d) = p.child_by_field_name("declarator") else {
            // `(void)`, or an unnamed parameter that still takes a position.
            if p.child_by_field_name("type")
                .is_some_and(|t| text(t, src) != "void")
            {
                out.push((format!("__gs_unnamed{}", out.len()), p));
            }
            continue;
        };
        // Find the identifier under the declarator.
        for _ in 0..32 {
            match d.kind() {
                "identifier" => break,
                "init_declarator" | "pointer_declarator" | "array_declarator" => {
                    d = d.child_by_field_name("declarator")?;
                }
                _ => {
                    let mut c = d.walk();
                    d = d
                        .named_children(&mut c)
                        .find(|n| !matches!(n.kind(), "type_qualifier"))?;
                }
            }
        }
        if d.kind() != "identifier" {
            return None;
        }
        out.push((text(d, src), p));
    }
    Some((name, out))
}

fn template_params(ps: Node, src: &[u8]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut c = ps.walk();
    for p in ps.named_children(&mut c) {
        match p.kind() {
            "type_parameter_declaration" | "optional_type_parameter_declaration" => {
                let mut c2 = p.walk();
                let name = p.child_by_field_name("name").or_else(|| {
                    p.named_children(&mut c2)
                        .find(|n| n.kind() == "type_identifier")
                });
                if let Some(n) = name {
                    out.push((text(n, src), true));
                }
            }
            "parameter_declaration" | "optional_parameter_declaration" => {
                let mut d = p.child_by_field_name("declarator");
                while let Some(n) = d {
                    if n.kind() == "identifier" {
                        out.push((text(n, src), false));
                        break;
                    }
                    d = n.child_by_field_name("declarator");
                }
            }
            _ => {}
        }
    }
    out
}

/// The name of the enumerator before `name` in an enumerator list.
fn prev_name(body: &Node, src: &[u8], name: &str) -> String {
    let mut c = body.walk();
    let mut prev = String::new();
    for e in body.named_children(&mut c) {
        if e.kind() != "enumerator" {
            continue;
        }
        let n = e
            .child_by_field_name("name")
            .map(|n| text(n, src))
            .unwrap_or_default();
        if n == name {
            break;
        }
        prev = n;
    }
    prev
}

/// `inc` as a path next to the file `from` (absolute `inc` unchanged).
pub fn join_path(from: &str, inc: &str) -> String {
    if inc.starts_with('/') {
        return inc.to_string();
    }
    match from.rfind(['/', '\\']) {
        Some(i) => format!("{}/{}", &from[..i], inc),
        None => inc.to_string(),
    }
}

fn normalize_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                if matches!(parts.last(), Some(l) if *l != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let lead = if p.starts_with('/') { "/" } else { "" };
    format!("{lead}{}", parts.join("/"))
}

/// `if (cond) throw ...;` (or a block of nothing but throws), with no
/// `else`: a guard that leaves the function or does nothing.
fn throwing_guard(n: Node) -> bool {
    if n.kind() != "if_statement" || n.child_by_field_name("alternative").is_some() {
        return false;
    }
    let Some(then) = n.child_by_field_name("consequence") else {
        return false;
    };
    let only_throws = |b: Node| {
        let mut c = b.walk();
        let kids: Vec<Node> = b
            .named_children(&mut c)
            .filter(|k| k.kind() != "comment")
            .collect();
        !kids.is_empty() && kids.iter().all(|k| k.kind() == "throw_statement")
    };
    match then.kind() {
        "throw_statement" => true,
        "compound_statement" => only_throws(then),
        _ => false,
    }
}
