//! Rewrites ("fixes"): for a [`Finding`], the text edits that replace the
//! detected code with the library call, computed from what the analysis
//! proved. Plain data and no I/O, like the rest of this crate; the CLI
//! (`check --fix` / `--diff`) and the language server (code actions) apply
//! them.
//!
//! One file per rewrite kind, like one file per rule:
//! - [`cblas`]: C/C++ GEMM and GEMV loop nests → `cblas_?gemm` / `cblas_?gemv`;
//! - [`symmetric`]: C/C++ SYRK, SYR2K, SYMM and TRMM nests →
//!   `cblas_?syrk/syr2k/symm/trmm` (or GEMM for a full-square rank update);
//! - [`numpy`]: Python loops and comprehensions → `@` / `np.matmul`;
//! - [`batched`]: batched GEMMs (GS104) → a loop of `cblas_?gemm` calls (C)
//!   or one broadcasting `@` (NumPy);
//! - [`cublas`]: cuBLAS calls on slow settings → the tensor-core compute
//!   type or math mode (accuracy cost stated, [`Applicability::ChangesPrecision`]);
//! - [`cuda_launch`]: launches of naive/tiled CUDA matmul kernels →
//!   `cublasGemmEx` (TF32 or exact FP32; FP64 for double kernels);
//! - [`torch`]: FP32 CUDA matmuls in PyTorch → TF32 or bf16 autocast
//!   (two alternative actions, both [`Applicability::ChangesPrecision`]);
//! - [`row_loop`]: a Python loop of row products → one matrix product;
//! - [`attention`]: hand-written PyTorch attention →
//!   `scaled_dot_product_attention`.
//!
//! Every other finding gets a [`NoFix`] whose reason says why. A fix is
//! offered only where the rewrite is exact for what was proven: the nest
//! is rectangular (every loop from 0 in steps of 1 to a bound that no loop
//! of the nest changes), it contains nothing but the product (the
//! accumulator's initialisation and store, a zero-initialisation or scaling
//! of the output), each operand maps onto a BLAS operand with a leading
//! dimension, the output is not an operand, accumulate-versus-overwrite
//! and any alpha/beta are kept, and the element types match the routine.
//! The one thing a fix cannot prove is that distinct pointers do not
//! overlap; each fix says so in its `assumes`.
//!
//! Each rule's [`crate::detectors::Rule::fix`] chooses its rewrite here,
//! given a [`FixContext`]; the entry point is [`crate::Analysis::fixes`]
//! (one finding, computed when asked from what the analysis kept), and
//! [`analyze_with_fixes`] (a whole file) is that for every finding.

pub mod attention;
pub mod batched;
pub mod cblas;
pub mod cublas;
pub mod cuda_launch;
pub mod numpy;
pub mod row_loop;
pub mod symmetric;
pub mod torch;

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::contraction::{
    self, count_neg, has_access, is_zero, same_access, split_prod, split_sum, Nest,
};
use crate::finding::Finding;
use crate::ir::{Access, AssignOp, Expr, File, Function, Lang, Poly, Span, Stmt, StmtKind};
use crate::{BuildContext, IncludeResolver, Parsed};

/// A fix's edit: replace the bytes `start..end` of the file's text with `new_text`
/// (an insertion when `start == end`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replacement {
    pub start: usize,
    pub end: usize,
    pub new_text: String,
}

/// How safe a fix is to apply without review (ruff's safe/unsafe).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Computes the same values; only the summation order (and so the last
    /// bits) differs. `check --fix` applies these.
    Exact,
    /// Computes at a lower precision (TF32, bf16, tensor cores); the title
    /// says the accuracy cost. Applied only with `--unsafe-fixes`.
    ChangesPrecision,
}

/// One way to fix a finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// What the action does, for a code-action title.
    pub title: String,
    /// Non-overlapping edits, in ascending order of `start`.
    pub edits: Vec<Replacement>,
    pub applicability: Applicability,
    /// What the rewrite takes for granted that the analysis cannot see
    /// (distinct pointers do not overlap, ...). Empty when nothing.
    pub assumes: Vec<String>,
}

/// Why a finding has no fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoFix {
    pub reason: String,
}

impl NoFix {
    pub fn new(reason: impl Into<String>) -> NoFix {
        NoFix {
            reason: reason.into(),
        }
    }
}

/// The fixes for one finding: one or more alternatives, or why none.
pub type FixResult = Result<Vec<Fix>, NoFix>;

/// A finding with its fixes.
#[derive(Clone, Debug)]
pub struct FixedFinding {
    pub finding: Finding,
    pub fixes: FixResult,
}

/// Analyses `text` ([`crate::analyze_as_with`]) and computes every
/// finding's fixes ([`crate::Analysis::fixes`]).
pub fn analyze_with_fixes(
    lang: Lang,
    path: &str,
    text: &str,
    includes: &dyn IncludeResolver,
    build: &BuildContext,
) -> Vec<FixedFinding> {
    let a = crate::analyze_as_with(lang, path, text, includes, build);
    (0..a.findings.len())
        .map(|i| FixedFinding {
            finding: a.findings[i].clone(),
            fixes: a.fixes(i, text),
        })
        .collect()
}

/// What a rule's fix sees: the file its finding came from, lowered and
/// normalised, its text and parse, and the nest the rule's check recorded
/// (for the loop-nest rules). Built by [`crate::Analysis::fixes`].
pub struct FixContext<'a> {
    pub file: &'a File,
    pub text: &'a str,
    parsed: &'a Parsed,
    nest: Option<Nest<'a>>,
}

impl<'a> FixContext<'a> {
    pub fn new(
        file: &'a File,
        text: &'a str,
        parsed: &'a Parsed,
        nest: Option<Nest<'a>>,
    ) -> FixContext<'a> {
        FixContext {
            file,
            text,
            parsed,
            nest,
        }
    }

    /// The nest the finding came from.
    pub fn nest(&self) -> Result<&Nest<'a>, NoFix> {
        self.nest
            .as_ref()
            .ok_or_else(|| NoFix::new("the finding's loop nest was not recorded"))
    }

    /// The Python syntax tree of the text (the rewrites that edit Python
    /// source by its syntax, not the IR).
    pub(crate) fn python_tree(&self) -> Result<&'a tree_sitter::Tree, NoFix> {
        self.parsed
            .tree()
            .filter(|_| self.parsed.lang() == Lang::Python)
            .ok_or_else(|| NoFix::new("the Python grammar could not be loaded"))
    }
}

/// The GEMM/GEMV rewrite for the file's language: `@` / `np.matmul` in
/// Python, `cblas_?gemm` / `cblas_?gemv` in C and C++.
pub fn numpy_or_cblas(cx: &FixContext<'_>) -> FixResult {
    let nest = cx.nest()?;
    match cx.file.lang {
        Lang::Python => numpy::fix(cx.file, cx.text, nest),
        _ => cblas::fix(cx.file, cx.text, nest),
    }
}

/// True if `name` is a NumPy array / tensor in `f`: declared so, or used as
/// only one can be (`name.shape`, `.ndim`, `.dtype`, `.T`, `.astype(...)`,
/// `.reshape(...)`, a tuple subscript `name[i, j]`: a list raises on
/// those). Kept out of the front end's `VarInfo`, where a rank inferred
/// from use would then be taken for a declared one.
pub(crate) fn is_ndarray(f: &Function, name: &str) -> bool {
    if f.vars.get(name).is_some_and(|v| v.ndarray) {
        return true;
    }
    if f.kind != crate::ir::FnKind::Python {
        return false;
    }
    let attrs = ["shape", "ndim", "dtype", "T"].map(|a| format!("{name}.{a}"));
    let mut found = false;
    f.walk(&mut |s| {
        for e in s.exprs() {
            e.walk(&mut |x| match x {
                Expr::Var(v) if attrs.contains(v) => found = true,
                Expr::Index { base, idx } if idx.len() >= 2 => {
                    if matches!(base.as_ref(), Expr::Var(v) if v == name) {
                        found = true;
                    }
                }
                Expr::Call {
                    func,
                    recv: Some(r),
                    ..
                } if matches!(func.as_str(), "astype" | "reshape")
                    && matches!(r.as_ref(), Expr::Var(v) if v == name) =>
                {
                    found = true
                }
                _ => {}
            });
        }
    });
    found
}

/// Applies non-overlapping edits (identical duplicates, such as the same
/// `#include` inserted by two fixes, count once). Overlapping edits are
/// an error.
pub fn apply_edits(text: &str, edits: &[Replacement]) -> Result<String, String> {
    // Identical edits count once wherever they are in the list (two fixes
    // inserting the same helper); the sort is stable, so edits at one
    // offset keep their order.
    let mut es: Vec<&Replacement> = Vec::new();
    for e in edits {
        if !es.contains(&e) {
            es.push(e);
        }
    }
    es.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in es {
        if e.start < at || e.end < e.start || e.end > text.len() {
            return Err(format!("overlapping or invalid edit at byte {}", e.start));
        }
        if !text.is_char_boundary(e.start) || !text.is_char_boundary(e.end) {
            return Err(format!("edit at byte {} splits a character", e.start));
        }
        out.push_str(&text[at..e.start]);
        out.push_str(&e.new_text);
        at = e.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// True when the edits of `a` and `b` touch overlapping ranges (identical
/// edits excepted).
pub fn overlaps(a: &Fix, b: &Fix) -> bool {
    a.edits.iter().any(|x| {
        b.edits
            .iter()
            .any(|y| x != y && x.start < y.end.max(y.start + 1) && y.start < x.end.max(x.start + 1))
    })
}

// ---------------------------------------------------------------------------
// What a rewrite of a loop nest may rely on: the structure proof.

/// The scaling of the output's old value.
#[derive(Clone, Debug, PartialEq)]
pub enum Beta {
    /// Overwritten: zero-initialised, or stored from a fresh accumulator.
    Zero,
    /// Accumulated into (`+=`).
    One,
    /// `C = ... + beta*C` or `C *= beta` before the product.
    Scaled(Vec<Expr>),
}

/// What the structure check proved about a GEMM or GEMV nest.
#[derive(Clone, Debug)]
pub struct Proven {
    /// Loop variable of each role (`i`, `j`, `k`; `j` absent for GEMV).
    pub m: String,
    pub n: Option<String>,
    pub k: String,
    /// The extent of each loop variable (its exclusive end; it starts at 0).
    pub extent: HashMap<String, Expr>,
    /// Scalar factors of the product (alpha), and its sign.
    pub alpha: Vec<Expr>,
    pub negate: bool,
    pub beta: Beta,
    /// The literal the output or the accumulator starts from, where it is
    /// overwritten (`0.0` or `0`): tells a float result from an int one.
    pub zero: Option<Expr>,
    /// The outermost loop statement.
    pub outer: Span,
}

/// Finds the statement with span `span` (the outermost one when several
/// share it, as a comprehension's synthesised statements do).
pub(crate) fn find_stmt(f: &Function, span: Span) -> Option<&Stmt> {
    let mut found = None;
    f.walk(&mut |s| {
        if found.is_none() && s.span == span && matches!(s.kind, StmtKind::Loop(_)) {
            found = Some(s);
        }
    });
    found
}

fn line_of(s: &Stmt) -> usize {
    s.span.start_line
}

/// Checks that `nest` is a plain rectangular GEMM/GEMV nest that a single
/// library call replaces, and works out its alpha and beta.
pub fn prove(nest: &Nest<'_>) -> Result<Proven, NoFix> {
    use contraction::Shape;
    if !matches!(nest.shape, Shape::Gemm | Shape::Gemv) {
        return Err(NoFix::new("only plain GEMM and GEMV nests are rewritten"));
    }
    if nest.tiled || nest.has_thread_loops() {
        return Err(NoFix::new("CUDA kernels are not rewritten in place"));
    }
    if nest.terms != 1 {
        return Err(NoFix::new(
            "the statement sums several products; one library call computes one",
        ));
    }
    if nest.extra {
        return Err(NoFix::new(
            "the store adds terms other than the product and the output's old value",
        ));
    }
    if let Some(g) = &nest.epilogue {
        return Err(NoFix::new(format!(
            "the store applies `{g}` to the product; the library call computes the product alone"
        )));
    }
    let role = |c: char| -> Result<Option<String>, NoFix> {
        let vs: Vec<&String> = nest
            .loops
            .iter()
            .filter(|l| l.role == c)
            .map(|l| &l.var)
            .collect();
        match vs.len() {
            0 => Ok(None),
            1 => Ok(Some(vs[0].clone())),
            _ => Err(NoFix::new(format!(
                "several loops share the {c} role (a blocked or merged nest)"
            ))),
        }
    };
    let m = role('i')?.ok_or_else(|| NoFix::new("no M loop"))?;
    let k = role('k')?.ok_or_else(|| NoFix::new("no K loop"))?;
    let n = role('j')?;
    if (nest.shape == Shape::Gemm) != n.is_some() {
        return Err(NoFix::new("no N loop"));
    }
    let vars: Vec<String> = [Some(m.clone()), n.clone(), Some(k.clone())]
        .into_iter()
        .flatten()
        .collect();
    let out_vars: BTreeSet<String> = [Some(m.clone()), n.clone()].into_iter().flatten().collect();
    let outer = find_stmt(nest.func, nest.range)
        .ok_or_else(|| NoFix::new("the nest's outer loop was not found"))?;
    let is_array = |b: &str| nest.func.is_array(b);
    let access = |e: &Expr| Access::of(e, &is_array);

    // Names that the nest must not change: bounds, leading dims, factors.
    let mut w = Walk {
        nest,
        vars: &vars,
        out_vars: &out_vars,
        extent: HashMap::new(),
        acc: None,
        mac_seen: false,
        mac_negated: false,
        init_zero: None,
        pre: None,
        store: None,
        dead_decls: Vec::new(),
        dead_assigns: Vec::new(),
        rest: outer,
        pre_loops: BTreeSet::new(),
    };
    w.visit(std::slice::from_ref(outer), &mut Vec::new(), &access)?;
    if !w.mac_seen {
        return Err(NoFix::new(
            "the multiply-accumulate was not found in the nest",
        ));
    }
    for v in &vars {
        if !w.extent.contains_key(v) {
            return Err(NoFix::new(format!(
                "the loop over `{v}` is not part of the nest"
            )));
        }
    }
    // Dead declarations (forward-substituted locals) must be unused.
    for name in &w.dead_decls {
        if mentions_in(outer, name, true) {
            return Err(NoFix::new(format!(
                "the local `{name}` declared in the nest is also used in it"
            )));
        }
    }
    let mut alpha = nest.factors.clone();
    let mut negate = nest.term_negated ^ w.mac_negated;
    let (beta, zero) = match (&w.acc, w.store.take()) {
        (Some(acc), Some((op, value))) => {
            let init = w.init_zero.clone().ok_or_else(|| {
                NoFix::new(format!(
                    "the accumulator `{acc}` does not start at zero in the nest (a bias \
                     or an earlier value is added)"
                ))
            })?;
            if w.pre.is_some() {
                return Err(NoFix::new("the output is also written before the product"));
            }
            match op {
                AssignOp::Add => (Beta::One, None),
                AssignOp::Sub => {
                    negate = !negate;
                    (Beta::One, None)
                }
                AssignOp::Set => {
                    let (a, neg, beta) = store_parts(&value, acc, &nest.out, &access)?;
                    alpha.extend(a);
                    negate ^= neg;
                    let z = beta.is_none().then_some(init);
                    (beta.map_or(Beta::Zero, Beta::Scaled), z)
                }
                _ => return Err(NoFix::new("the output is stored with an unusual operator")),
            }
        }
        (Some(acc), None) => {
            return Err(NoFix::new(format!(
                "the accumulator `{acc}` is not stored into the output in the nest"
            )))
        }
        (None, _) => match w.pre.take() {
            None => (Beta::One, None),
            Some(Pre::Zero(z)) => (Beta::Zero, Some(z)),
            Some(Pre::Scale(s)) => (Beta::Scaled(s), None),
        },
    };
    for f in alpha.iter().chain(match &beta {
        Beta::Scaled(s) => s.iter(),
        _ => [].iter(),
    }) {
        if vars.iter().any(|v| f.mentions(v)) || f.mentions(&nest.out.base) {
            return Err(NoFix::new(format!(
                "the scaling `{f}` changes inside the nest"
            )));
        }
        let mut div = false;
        f.walk(&mut |x| {
            if matches!(x, Expr::Binary(crate::ir::BinOp::Div, ..)) {
                div = true;
            }
        });
        if div {
            return Err(NoFix::new(format!(
                "the product is divided by `{f}`; fold the division into alpha by hand \
                 (integer and floating division differ)"
            )));
        }
    }
    // Loop variables and the accumulator must not be read after the nest.
    let mut watch: Vec<String> = vars.clone();
    if let Some(a) = &w.acc {
        watch.push(a.clone());
    }
    watch.extend(w.dead_assigns.iter().cloned());
    if let Some(v) = read_after(nest.func, outer.span, &watch) {
        return Err(NoFix::new(format!(
            "`{v}` is read after the nest, which a library call would not set"
        )));
    }
    Ok(Proven {
        m,
        n,
        k,
        extent: w.extent,
        alpha,
        negate,
        beta,
        zero,
        outer: outer.span,
    })
}

enum Pre {
    Zero(Expr),
    Scale(Vec<Expr>),
}

struct Walk<'n, 'a> {
    nest: &'n Nest<'a>,
    vars: &'n [String],
    out_vars: &'n BTreeSet<String>,
    extent: HashMap<String, Expr>,
    acc: Option<String>,
    mac_seen: bool,
    /// The MAC is `-=`.
    mac_negated: bool,
    /// The accumulator's zero initialisation, with its literal.
    init_zero: Option<Expr>,
    /// A zero-initialisation or scaling of the output before the MAC.
    pre: Option<Pre>,
    /// The accumulator's store (operator, value).
    store: Option<(AssignOp, Expr)>,
    dead_decls: Vec<String>,
    /// Names assigned (not declared) in the nest: they outlive it.
    dead_assigns: Vec<String>,
    /// The nest's outer statement, for use checks.
    rest: &'n Stmt,
    /// Output indices whose loop held only the output's scaling or
    /// zeroing: they may be looped over once more, over the same range.
    pre_loops: BTreeSet<String>,
}

impl Walk<'_, '_> {
    fn visit(
        &mut self,
        body: &[Stmt],
        enclosing: &mut Vec<String>,
        access: &dyn Fn(&Expr) -> Option<Access>,
    ) -> Result<(), NoFix> {
        for s in body {
            let at_out = {
                let e: BTreeSet<String> = enclosing.iter().cloned().collect();
                &e == self.out_vars
            };
            match &s.kind {
                StmtKind::Loop(l) => {
                    if !self.vars.contains(&l.var) || enclosing.contains(&l.var) {
                        return Err(NoFix::new(format!(
                            "the nest has a loop over `{}` (line {}) that is not one of \
                             the product's loops",
                            l.var,
                            line_of(s)
                        )));
                    }
                    // A second loop over an output index is allowed after a
                    // loop over the same range that only scaled or zeroed
                    // the output (`for j: C[i][j] *= beta;` then `for k: for
                    // j: C[i][j] += ...`): row by row, that is beta on all of C.
                    let again = self.extent.contains_key(&l.var);
                    if again
                        && !(self.pre_loops.contains(&l.var)
                            && self.extent.get(&l.var) == Some(&l.end)
                            && !enclosing.contains(&l.var))
                    {
                        return Err(NoFix::new(format!("the nest loops over `{}` twice", l.var)));
                    }
                    if !matches!(l.start, Expr::Int(0)) || !matches!(l.step, Expr::Int(1)) {
                        return Err(NoFix::new(format!(
                            "the loop over `{}` (line {}) does not run from 0 in steps \
                             of 1",
                            l.var,
                            line_of(s)
                        )));
                    }
                    if self.vars.iter().any(|v| l.end.mentions(v)) {
                        return Err(NoFix::new(format!(
                            "the bound of `{}` depends on another loop of the nest (not \
                             rectangular)",
                            l.var
                        )));
                    }
                    self.extent.insert(l.var.clone(), l.end.clone());
                    let (pre_before, mac_before) = (self.pre.is_some(), self.mac_seen);
                    enclosing.push(l.var.clone());
                    self.visit(&l.body, enclosing, access)?;
                    enclosing.pop();
                    // A loop that held only the output's scaling (or a loop
                    // nest of such loops): its index may be looped over again.
                    let only_pre = !pre_before
                        && self.pre.is_some()
                        && !mac_before
                        && !self.mac_seen
                        && l.body.len() == 1;
                    if again {
                        self.pre_loops.remove(&l.var);
                    } else if only_pre && self.out_vars.contains(&l.var) {
                        self.pre_loops.insert(l.var.clone());
                    }
                }
                StmtKind::Assign { target, op, value } => {
                    let all = enclosing.len() == self.vars.len();
                    let t = access(target);
                    let is_out = t.as_ref().is_some_and(|t| same_access(t, &self.nest.out));
                    match (target, op) {
                        // Direct MAC `C[..] += a*b`.
                        (_, AssignOp::Add | AssignOp::Sub)
                            if is_out && all && !self.mac_seen && self.acc.is_none() =>
                        {
                            self.mac_seen = true;
                            self.mac_negated = *op == AssignOp::Sub;
                        }
                        // Scalar MAC `s += a*b`.
                        (Expr::Var(v), AssignOp::Add | AssignOp::Sub)
                            if all && !self.mac_seen && !self.nest.func.is_array(v) =>
                        {
                            if self.acc.as_ref().is_some_and(|a| a != v) {
                                return Err(NoFix::new(format!(
                                    "the nest accumulates into `{v}` as well"
                                )));
                            }
                            self.acc = Some(v.clone());
                            self.mac_seen = true;
                            self.mac_negated = *op == AssignOp::Sub;
                        }
                        // Accumulator initialisation.
                        (Expr::Var(v), AssignOp::Set)
                            if at_out && !self.mac_seen && is_zero(value) =>
                        {
                            self.acc = Some(v.clone());
                            self.init_zero = Some(value.clone());
                        }
                        // The accumulator's store.
                        (_, AssignOp::Set | AssignOp::Add | AssignOp::Sub)
                            if is_out
                                && at_out
                                && self.mac_seen
                                && self.store.is_none()
                                && self.acc.as_ref().is_some_and(|a| value.mentions(a)) =>
                        {
                            self.store = Some((*op, value.clone()));
                        }
                        // An accumulator that starts from something else.
                        (Expr::Var(v), AssignOp::Set)
                            if at_out
                                && !self.mac_seen
                                && self.acc.is_none()
                                && !self.nest.func.is_array(v)
                                && mentions_in_list(self.rest, v) =>
                        {
                            return Err(NoFix::new(format!(
                                "the accumulator `{v}` starts at `{value}`, not 0 (a bias or an \
                                 earlier value); add it separately to use a library call"
                            )));
                        }
                        // A hoisted operand or index (`a = A[i][k]`), already
                        // substituted into its uses: dead once the nest goes.
                        (Expr::Var(v), AssignOp::Set)
                            if !self.nest.func.is_array(v)
                                && !has_call(value)
                                && !self.vars.contains(v) =>
                        {
                            self.dead_decls.push(v.clone());
                            self.dead_assigns.push(v.clone());
                        }
                        // Zero-initialisation or scaling of the output before the MAC.
                        (_, AssignOp::Set | AssignOp::Mul)
                            if is_out && at_out && !self.mac_seen && self.pre.is_none() =>
                        {
                            self.pre = Some(
                                pre_of(*op, value, &self.nest.out, access).ok_or_else(|| {
                                    NoFix::new(format!(
                                        "the output is set to `{value}` before the product \
                                         (line {})",
                                        line_of(s)
                                    ))
                                })?,
                            );
                        }
                        _ => {
                            return Err(NoFix::new(format!(
                                "the nest also assigns `{target}` (line {}); a library call \
                                 would drop that",
                                line_of(s)
                            )))
                        }
                    }
                }
                StmtKind::Decl { name, init, .. } => {
                    let zero = init.as_ref().is_some_and(is_zero);
                    if self.vars.contains(name) {
                        // A `while` loop's counter, declared just before it.
                    } else if at_out && !self.mac_seen && zero && self.acc.is_none() {
                        self.acc = Some(name.clone());
                        self.init_zero = init.clone();
                    } else if at_out
                        && !self.mac_seen
                        && self.acc.is_none()
                        && !zero
                        && init.is_some()
                        && mentions_in_list(self.rest, name)
                    {
                        return Err(NoFix::new(format!(
                            "the accumulator `{name}` starts at `{}`, not 0 (a bias or an \
                             earlier value); add it separately to use a library call",
                            init.as_ref().map(|e| e.to_string()).unwrap_or_default()
                        )));
                    } else if init.as_ref().is_none_or(|e| !has_call(e)) {
                        self.dead_decls.push(name.clone());
                    } else {
                        return Err(NoFix::new(format!(
                            "the nest also declares `{name}` with a call (line {})",
                            line_of(s)
                        )));
                    }
                }
                _ => {
                    return Err(NoFix::new(format!(
                        "the nest also contains other code (line {}); a library call would \
                         drop it",
                        line_of(s)
                    )))
                }
            }
        }
        Ok(())
    }
}

fn has_call(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        if matches!(x, Expr::Call { .. }) {
            found = true;
        }
    });
    found
}

/// `C = 0` → zero; `C *= s` / `C = s*C` → scale by `s`.
fn pre_of(
    op: AssignOp,
    value: &Expr,
    out: &Access,
    access: &dyn Fn(&Expr) -> Option<Access>,
) -> Option<Pre> {
    match op {
        AssignOp::Set if is_zero(value) => Some(Pre::Zero(value.clone())),
        AssignOp::Mul if !has_access(value) => Some(Pre::Scale(vec![value.clone()])),
        AssignOp::Set => {
            let mut fs = Vec::new();
            split_prod(value, &mut fs);
            if count_neg(value) != 0 {
                return None;
            }
            let n = fs
                .iter()
                .filter(|f| access(f).is_some_and(|a| same_access(&a, out)))
                .count();
            fs.retain(|f| !access(f).is_some_and(|a| same_access(&a, out)));
            (n == 1 && !fs.is_empty() && !fs.iter().any(has_access)).then_some(Pre::Scale(fs))
        }
        _ => None,
    }
}

/// Splits a store `C = a1*acc + b1*C` into (alpha factors, negated, beta factors).
#[allow(clippy::type_complexity)]
pub(crate) fn store_parts(
    value: &Expr,
    acc: &str,
    out: &Access,
    access: &dyn Fn(&Expr) -> Option<Access>,
) -> Result<(Vec<Expr>, bool, Option<Vec<Expr>>), NoFix> {
    let mut sum = Vec::new();
    split_sum(value, false, &mut sum);
    let mut alpha = None;
    let mut beta = None;
    for (neg, t) in sum {
        let neg = neg ^ (count_neg(&t) % 2 == 1);
        let mut fs = Vec::new();
        split_prod(&t, &mut fs);
        let is_acc = |f: &Expr| matches!(f, Expr::Var(v) if v == acc);
        let is_out = |f: &Expr| access(f).is_some_and(|a| same_access(&a, out));
        if fs.iter().filter(|f| is_acc(f)).count() == 1 && alpha.is_none() {
            fs.retain(|f| !is_acc(f));
            if fs.iter().any(|f| f.mentions(acc) || has_access(f)) {
                return Err(NoFix::new("the accumulator is stored through a function"));
            }
            alpha = Some((fs, neg));
        } else if fs.iter().filter(|f| is_out(f)).count() == 1 && beta.is_none() && !neg {
            fs.retain(|f| !is_out(f));
            if fs.iter().any(has_access) {
                return Err(NoFix::new(
                    "the output's old value is scaled by an array element",
                ));
            }
            beta = Some(fs);
        } else {
            return Err(NoFix::new(format!(
                "the store `{value}` is not alpha*acc + beta*C"
            )));
        }
    }
    let (a, neg) = alpha.ok_or_else(|| NoFix::new("the accumulator is not stored"))?;
    // `C = acc + C` is beta = 1 (an empty factor list).
    let beta = beta.map(|b| if b.is_empty() { vec![Expr::Int(1)] } else { b });
    Ok((a, neg, beta))
}

/// True if `name` is mentioned anywhere in `root` (except in the
/// declaration of `name` itself when `skip_decl`).
fn mentions_in(root: &Stmt, name: &str, skip_decl: bool) -> bool {
    let mut found = false;
    root.walk(&mut |s| {
        if skip_decl {
            match &s.kind {
                StmtKind::Decl { name: n, init, .. } if n == name => {
                    found |= init.as_ref().is_some_and(|e| e.mentions(name));
                    return;
                }
                StmtKind::Assign {
                    target: Expr::Var(n),
                    op: AssignOp::Set,
                    value,
                } if n == name => {
                    found |= value.mentions(name);
                    return;
                }
                _ => {}
            }
        }
        if s.exprs().iter().any(|e| e.mentions(name)) {
            found = true;
        }
    });
    found
}

/// True if `name` is mentioned by some statement of `root` other than an
/// assignment to it.
fn mentions_in_list(root: &Stmt, name: &str) -> bool {
    let mut found = false;
    root.walk(&mut |s| {
        if let StmtKind::Assign {
            target: Expr::Var(v),
            value,
            ..
        } = &s.kind
        {
            if v == name {
                found |= value.mentions(name);
                return;
            }
        }
        if s.exprs().iter().any(|e| e.mentions(name)) {
            found = true;
        }
    });
    found
}

/// The first of `vars` that a statement after `span` reads before setting it.
pub(crate) fn read_after(f: &Function, span: Span, vars: &[String]) -> Option<String> {
    let mut set: BTreeSet<String> = BTreeSet::new();
    let mut hit = None;
    f.walk(&mut |s| {
        if hit.is_some() || s.span.start_byte < span.end_byte {
            return;
        }
        let defines: Option<&String> = match &s.kind {
            StmtKind::Loop(l) => Some(&l.var),
            StmtKind::Decl { name, .. } => Some(name),
            StmtKind::Assign {
                target: Expr::Var(v),
                op: AssignOp::Set,
                ..
            } => Some(v),
            _ => None,
        };
        for e in s.exprs() {
            // A loop's own start/end may not read its variable; a plain
            // assignment's value is read before the target is set.
            if let StmtKind::Assign {
                target: Expr::Var(_),
                op: AssignOp::Set,
                value,
            } = &s.kind
            {
                if !std::ptr::eq(e, value) {
                    continue;
                }
            }
            for v in vars {
                if !set.contains(v) && e.mentions(v) {
                    hit = Some(v.clone());
                }
            }
        }
        if let Some(d) = defines {
            set.insert(d.clone());
        }
    });
    hit
}

// ---------------------------------------------------------------------------
// Shared helpers for the rewrites.

/// The indentation of the line holding byte `at` (its leading whitespace),
/// and whether only whitespace precedes `at` on that line.
pub(crate) fn indent_at(text: &str, at: usize) -> (String, bool) {
    let start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    let before = &text[start..at];
    let ws: String = before
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    let only = ws.len() == before.len();
    (ws, only)
}

/// The offset `p` of a subscript that is `var + p` (`p` free of `vars`),
/// as a polynomial.
pub(crate) fn offset_of(e: &Expr, var: &str, vars: &[String]) -> Option<Poly> {
    let p = Poly::from_expr(e)?;
    if p.coeff(var)? != Poly::constant(1) {
        return None;
    }
    let rest = p.sub(&Poly::symbol(var));
    if rest.symbols().iter().any(|s| vars.contains(s)) {
        return None;
    }
    Some(rest)
}

/// True when the expression uses only what the rewrite can print back
/// faithfully: numbers, names, indexing, arithmetic and real calls.
pub(crate) fn printable(e: &Expr, dotted_ok: bool) -> bool {
    use crate::ir::BinOp::*;
    let mut ok = true;
    e.walk(&mut |x| match x {
        Expr::Int(_) | Expr::Float(_) | Expr::Index { .. } => {}
        Expr::Var(v) => {
            let valid = v.split('.').all(|p| {
                let mut cs = p.chars();
                cs.next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if !valid || (!dotted_ok && v.contains('.')) {
                ok = false;
            }
        }
        Expr::Binary(op, ..) => {
            if !matches!(op, Add | Sub | Mul | Div | Rem | FloorDiv | Pow) {
                ok = false;
            }
            if !dotted_ok && matches!(op, FloorDiv | Pow) {
                ok = false;
            }
        }
        Expr::Unary(crate::ir::UnOp::Neg, _) => {}
        Expr::Call { func, .. } => {
            if matches!(func.as_str(), "select" | "min" | "max") && !dotted_ok {
                ok = false;
            }
        }
        _ => ok = false,
    });
    ok
}

/// A factor printed for a product: parenthesised unless atomic.
pub(crate) fn factor_text(e: &Expr) -> String {
    match e {
        Expr::Float(x) => format!("{x:?}"),
        Expr::Int(_) | Expr::Var(_) | Expr::Index { .. } | Expr::Call { .. } => e.to_string(),
        _ => format!("({e})"),
    }
}

#[cfg(test)]
mod tests;
