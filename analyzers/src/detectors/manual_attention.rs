//! GS501 manual-attention: Python code that spells out scaled dot-product
//! attention (Q·Kᵀ, scale, optional mask, softmax, ·V) with separate calls.

use std::collections::BTreeSet;

use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Backend, Dim, Dims, Finding, Idiom, Major, OperandLayout, Routine};
use crate::fixes::{self, FixContext, FixResult};
use crate::ir::{AssignOp, BinOp, ElemType, Expr, File, Function, Lang, Stmt, StmtKind, UnOp};

declare_rule! {
    /// Hand-written attention: Q·Kᵀ, scale, softmax, ·V as separate operations.
    ///
    /// **What it finds.** In one Python function, a matrix product of a query
    /// `Q` with a transposed key `Kᵀ` (`q @ k.transpose(-2, -1)`,
    /// `np.dot(Q, K.T)`), optionally scaled (`/ math.sqrt(d)`, `* scale`,
    /// `/ d ** 0.5`) and masked (`.masked_fill(mask == 0, -inf)`, `+ mask`,
    /// `torch.where`), then a softmax (`F.softmax`, `torch.softmax`,
    /// `x.softmax(-1)`, `scipy.special.softmax`, a `softmax` helper, an
    /// `nn.Softmax` module the class binds (`self.attend = nn.Softmax(dim=-1)`
    /// in `__init__`, then `self.attend(dots)`), or the
    /// manual `np.exp(s - s.max(...)) / np.exp(...).sum(...)`), optionally
    /// dropout (`F.dropout`, or a module such as `self.attn_dropout`), then a
    /// product of that with `V`. In the fallback branch of an `if` whose other
    /// branch calls a fused kernel (`if self.flash: ...sdpa... else: ...`),
    /// it is a note that names the condition (`purpose.rs`). Intermediate variables are
    /// followed through plain assignments (`scores = ...; scores = scores /
    /// ...; attn = F.softmax(scores, -1); out = attn @ v`), casts and
    /// reshapes on the way are seen through (`F.softmax(s.view(-1, n),
    /// dim=1).view(b, -1, n)`), and a product returned beside the weights
    /// (`return attn @ v, attn`) counts. The range runs from
    /// the Q·Kᵀ statement to the ·V statement.
    ///
    /// **Why it is slow.** Each step is a separate kernel or NumPy call that
    /// writes the whole M×N score matrix (query length × key length) to memory
    /// and reads it back: the scale, the mask, the max, the exp, the sum, the
    /// division and the second product each stream it again. For long
    /// sequences that matrix dominates both memory traffic and memory use
    /// (it grows as the square of the sequence length). A fused attention
    /// kernel (FlashAttention, memory-efficient attention) keeps tiles of it in
    /// on-chip memory with an online softmax and never stores it.
    ///
    /// **Example.**
    ///
    /// ```python
    /// scores = q @ k.transpose(-2, -1) / math.sqrt(d)   # GS501 starts here
    /// scores = scores.masked_fill(mask == 0, float("-inf"))
    /// attn = F.softmax(scores, dim=-1)
    /// out = attn @ v                                      # ... and ends here
    /// # instead:
    /// out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.bool())
    /// ```
    ///
    /// **When the rewrite is safe.** `torch.nn.functional.scaled_dot_product_attention`
    /// computes `softmax(Q·Kᵀ·scale + mask)·V`. Its default scale is
    /// `1/sqrt(head_dim)`: pass `scale=` when the code uses another one. A
    /// boolean `attn_mask` means *keep where True* (the opposite of
    /// `masked_fill(mask, -inf)`); a float mask is added. Dropout on the
    /// weights corresponds to `dropout_p` (only while training), but draws
    /// from a different random stream, so gemmscope's quick fix refuses
    /// that form rather than change training results. If the attention
    /// weights themselves are used afterwards (returned, visualised), the
    /// fused kernel does not give them back. NumPy has no fused attention: the
    /// advice there is PyTorch's kernel, or at least batching heads into one
    /// `matmul`.
    ///
    /// **Accuracy.** The fused kernels compute the same exact softmax (with
    /// an online, rescaled running max and sum), so results differ only by
    /// rounding order (relative error ~1e-6 in float32). The FlashAttention
    /// kernel itself needs float16/bfloat16 inputs, which cost accuracy
    /// (10-bit / 7-bit mantissa, relative error ~1e-3 / ~1e-2); in float32
    /// PyTorch picks the memory-efficient or the math kernel.
    pub struct ManualAttention {
        code: "GS501",
        name: "manual-attention",
        idiom: Idiom::Attention,
        fix: FixAvailability::Sometimes(
            "`F.scaled_dot_product_attention` (PyTorch) · exact · `attention.rs`",
        ),
    }
}

impl Rule for ManualAttention {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, finding: &Finding) -> FixResult {
        if let Some(p) = finding
            .purpose
            .as_deref()
            .filter(|p| crate::purpose::kind(p) == "fallback")
        {
            return Err(fixes::NoFix::new(format!(
                "the code is {p}; rewriting it would call the kernel it stands in for"
            )));
        }
        fixes::attention::fix(cx.file, cx.text, cx.python_tree()?, finding)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        if cx.file.lang != Lang::Python {
            return;
        }
        for f in &cx.file.functions {
            check_function(cx.file, f, out);
        }
    }
}

/// The statements of one function in source order, leaves only, so that a
/// name can be resolved to its latest definition before a given statement.
struct Flow<'a> {
    stmts: Vec<&'a Stmt>,
    /// The `self.` attributes that the class binds to an `nn.Softmax`
    /// module (`self.attend = nn.Softmax(dim=-1)` in `__init__`).
    softmax_modules: BTreeSet<String>,
    /// The class's methods that return their argument plus something
    /// (`def add_bias(self, s): ...; return s + b`): a bias on the scores.
    bias_methods: BTreeSet<String>,
}

const MAX_DEPTH: u32 = 24;

impl<'a> Flow<'a> {
    fn new(f: &'a Function) -> Flow<'a> {
        let mut stmts = Vec::new();
        f.walk(&mut |s| {
            if matches!(
                s.kind,
                StmtKind::Assign { .. }
                    | StmtKind::Decl { .. }
                    | StmtKind::Expr(_)
                    | StmtKind::Return(_)
            ) {
                stmts.push(s);
            }
        });
        Flow {
            stmts,
            softmax_modules: BTreeSet::new(),
            bias_methods: BTreeSet::new(),
        }
    }

    /// The latest definition of `name` before statement `at`: its value
    /// (a compound `x op= e` as `x op e`) and the defining statement.
    fn def_before(&self, name: &str, at: usize) -> Option<(Expr, usize)> {
        for j in (0..at).rev() {
            match &self.stmts[j].kind {
                StmtKind::Assign {
                    target: Expr::Var(t),
                    op,
                    value,
                } if t == name => {
                    let bin = |b: BinOp| Expr::bin(b, Expr::Var(t.clone()), value.clone());
                    return Some(match op {
                        AssignOp::Set => (value.clone(), j),
                        AssignOp::Add => (bin(BinOp::Add), j),
                        AssignOp::Sub => (bin(BinOp::Sub), j),
                        AssignOp::Mul => (bin(BinOp::Mul), j),
                        AssignOp::Div => (bin(BinOp::Div), j),
                        AssignOp::Other => return None,
                    });
                }
                StmtKind::Decl {
                    name: n,
                    init: Some(init),
                    ..
                } if n == name => return Some((init.clone(), j)),
                _ => {}
            }
        }
        None
    }

    /// Follows variables to their definitions until a non-variable
    /// expression; returns it with the statement it was found in.
    fn peel(&self, e: &Expr, at: usize) -> (Expr, usize) {
        let (mut e, mut at) = (e.clone(), at);
        for _ in 0..MAX_DEPTH {
            let Expr::Var(n) = &e else { break };
            match self.def_before(n, at) {
                Some((v, j)) => {
                    e = v;
                    at = j;
                }
                None => break,
            }
        }
        (e, at)
    }
}

/// The last dotted segment of a call name: `F.softmax` → `softmax`.
fn last_seg(func: &str) -> &str {
    func.rsplit('.').next().unwrap_or(func)
}

/// `F.dropout`, or a dropout module called on the weights (`self.dropout`,
/// `self.attn_dropout`, `self.attn_drop`).
fn is_dropout(name: &str) -> bool {
    name == "dropout" || name == "drop" || name.ends_with("_dropout") || name.ends_with("_drop")
}

/// Methods that do not change what a tensor denotes for this rule: casts,
/// copies, and reshapes of the score matrix (`score.view(-1, n)` before a
/// softmax over its rows, `.view(b, -1, n)` after), which keep its
/// elements and their order. (The quick fix reads the code itself and
/// refuses what it does not know.)
fn is_passthrough(name: &str) -> bool {
    matches!(
        name,
        "float"
            | "double"
            | "to"
            | "type_as"
            | "contiguous"
            | "type"
            | "astype"
            | "clone"
            | "view"
            | "reshape"
    )
}

/// An integer literal (a `dim` argument such as `-1`).
fn is_dim_literal(e: &Expr) -> bool {
    matches!(e, Expr::Int(_))
        || matches!(e, Expr::Unary(UnOp::Neg, a) if matches!(a.as_ref(), Expr::Int(_)))
}

/// The operand of a one-tensor call: the receiver of a method
/// (`x.softmax(-1)`) or the first argument of a function (`F.softmax(x)`,
/// `self.softmax(x)`).
fn operand(recv: &Option<Box<Expr>>, args: &[Expr]) -> Option<Expr> {
    match (recv, args.first()) {
        (_, Some(a)) if !is_dim_literal(a) && !matches!(a, Expr::Str(_)) => Some(a.clone()),
        (Some(r), _) => Some(r.as_ref().clone()),
        _ => None,
    }
}

struct Softmax {
    /// The softmax's input and the statement it is read in.
    input: Expr,
    input_at: usize,
    /// The statement holding the softmax.
    at: usize,
    /// How it was written (`F.softmax`, `manual exp/sum`).
    how: String,
}

struct Scores {
    q: Expr,
    k: Expr,
    /// The statement holding `Q @ Kᵀ`.
    at: usize,
    scale: Option<String>,
    masked: bool,
}

impl<'a> Flow<'a> {
    fn softmax_of(&self, e: &Expr, at: usize, depth: u32) -> Option<Softmax> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (e, at) = self.peel(e, at);
        match &e {
            Expr::Call {
                func, recv, args, ..
            } => {
                let name = last_seg(func);
                let module = matches!(recv.as_deref(), Some(Expr::Var(r)) if r == "self")
                    && self.softmax_modules.contains(name);
                if module {
                    return Some(Softmax {
                        input: args.first()?.clone(),
                        input_at: at,
                        at,
                        how: format!("self.{name} (an nn.Softmax module)"),
                    });
                }
                if name == "softmax" {
                    let input = operand(recv, args)?;
                    let how = match recv {
                        Some(r) if args.first().is_none_or(is_dim_literal) => {
                            format!("{r}.{func}")
                        }
                        _ => func.clone(),
                    };
                    return Some(Softmax {
                        input,
                        input_at: at,
                        at,
                        how,
                    });
                }
                if is_dropout(name) {
                    return self.softmax_of(&operand(recv, args)?, at, depth + 1);
                }
                if is_passthrough(name) {
                    return self.softmax_of(recv.as_deref()?, at, depth + 1);
                }
                None
            }
            Expr::Binary(BinOp::Div, num, den) => {
                let (y, y_at) = self.exp_input(num, at)?;
                if !self.is_sum_of_exp(den, at) {
                    return None;
                }
                // exp(s - s.max(...)) → s
                let (y2, y2_at) = self.peel(&y, y_at);
                let (input, input_at) = match &y2 {
                    Expr::Binary(BinOp::Sub, s, m) if self.is_max(m, y2_at) => {
                        (s.as_ref().clone(), y2_at)
                    }
                    _ => (y, y_at),
                };
                Some(Softmax {
                    input,
                    input_at,
                    at,
                    how: "a hand-written exp / sum softmax".into(),
                })
            }
            _ => None,
        }
    }

    /// `np.exp(y)`, `torch.exp(y)`, `y.exp()` → `y` with its statement.
    fn exp_input(&self, e: &Expr, at: usize) -> Option<(Expr, usize)> {
        let (e, at) = self.peel(e, at);
        match &e {
            Expr::Call {
                func, recv, args, ..
            } if last_seg(func) == "exp" => Some((operand(recv, args)?, at)),
            _ => None,
        }
    }

    /// `np.sum(E, ...)`, `E.sum(...)`, `torch.sum(E)` with E an exp.
    fn is_sum_of_exp(&self, e: &Expr, at: usize) -> bool {
        let (e, at) = self.peel(e, at);
        match &e {
            Expr::Call {
                func, recv, args, ..
            } if last_seg(func) == "sum" => {
                operand(recv, args).is_some_and(|x| self.exp_input(&x, at).is_some())
            }
            _ => false,
        }
    }

    fn is_max(&self, e: &Expr, at: usize) -> bool {
        let (e, _) = self.peel(e, at);
        match &e {
            Expr::Call { func, .. } => matches!(last_seg(func), "max" | "amax"),
            // `s.max(dim=-1, keepdim=True).values` / `[0]`
            Expr::Index { base, .. } => {
                matches!(base.as_ref(), Expr::Call { func, .. } if matches!(last_seg(func), "max" | "amax"))
            }
            Expr::Var(v) => v.ends_with(".values"),
            _ => false,
        }
    }

    /// `Kᵀ` in any spelling → `K`.
    fn transposed(&self, e: &Expr, at: usize) -> Option<Expr> {
        let (e, _) = self.peel(e, at);
        match e {
            Expr::Transpose(k) => Some(*k),
            Expr::Call {
                func, recv, args, ..
            } => match (last_seg(&func), recv) {
                ("transpose" | "swapaxes" | "permute", Some(r)) => Some(*r),
                ("transpose" | "swapaxes", None) => args.into_iter().next(),
                _ => None,
            },
            _ => None,
        }
    }

    fn scores_of(&self, e: &Expr, at: usize, depth: u32) -> Option<Scores> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (e, at) = self.peel(e, at);
        match &e {
            _ if as_product(&e).is_some() => {
                let (q, kt) = as_product(&e)?;
                let k = self.transposed(&kt, at)?;
                Some(Scores {
                    q,
                    k,
                    at,
                    scale: None,
                    masked: false,
                })
            }
            Expr::Binary(BinOp::Div, a, b) => {
                let mut s = self.scores_of(a, at, depth + 1)?;
                s.scale.get_or_insert_with(|| format!("/ {b}"));
                Some(s)
            }
            Expr::Binary(BinOp::Mul, a, b) => {
                if let Some(mut s) = self.scores_of(a, at, depth + 1) {
                    s.scale.get_or_insert_with(|| format!("* {b}"));
                    return Some(s);
                }
                let mut s = self.scores_of(b, at, depth + 1)?;
                s.scale.get_or_insert_with(|| format!("* {a}"));
                Some(s)
            }
            Expr::Binary(BinOp::Add | BinOp::Sub, a, b) => {
                let mut s = self
                    .scores_of(a, at, depth + 1)
                    .or_else(|| self.scores_of(b, at, depth + 1))?;
                s.masked = true;
                Some(s)
            }
            Expr::Call {
                func, recv, args, ..
            } => {
                let name = last_seg(func);
                match name {
                    "masked_fill" | "masked_fill_" => {
                        let mut s = self.scores_of(recv.as_deref()?, at, depth + 1)?;
                        s.masked = true;
                        Some(s)
                    }
                    "where" => {
                        let mut s = args
                            .iter()
                            .skip(1)
                            .find_map(|a| self.scores_of(a, at, depth + 1))?;
                        s.masked = true;
                        Some(s)
                    }
                    _ if is_passthrough(name) => self.scores_of(recv.as_deref()?, at, depth + 1),
                    _ if matches!(recv.as_deref(), Some(Expr::Var(r)) if r == "self")
                        && self.bias_methods.contains(name)
                        && args.len() == 1 =>
                    {
                        let mut s = self.scores_of(&args[0], at, depth + 1)?;
                        s.masked = true;
                        Some(s)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// The product `a @ b` that `e` denotes, in canonical form: `Expr::MatMul`,
/// the call spellings a front end may leave (`np.dot(a, b)`, `a.matmul(b)`,
/// `torch.bmm(a, b)`), and two-operand `einsum`s that are a product
/// (`"...qd,...kd->...qk"` → `a @ b.T`, `"...qk,...kd->...qd"` → `a @ b`).
fn as_product(e: &Expr) -> Option<(Expr, Expr)> {
    match e {
        Expr::MatMul(a, b) => Some((a.as_ref().clone(), b.as_ref().clone())),
        Expr::Call {
            func, recv, args, ..
        } => match (recv.as_deref(), func.as_str(), args.as_slice()) {
            (Some(a), "dot" | "matmul" | "mm" | "bmm", [b]) => Some((a.clone(), b.clone())),
            (
                None,
                "np.dot" | "np.matmul" | "numpy.dot" | "torch.matmul" | "torch.mm" | "torch.bmm",
                [a, b],
            ) => Some((a.clone(), b.clone())),
            (None, f, [Expr::Str(spec), a, b]) if last_seg(f) == "einsum" => {
                let t = einsum_product(spec)?;
                let b = if t {
                    Expr::Transpose(Box::new(b.clone()))
                } else {
                    b.clone()
                };
                Some((a.clone(), b))
            }
            _ => None,
        },
        _ => None,
    }
}

/// For a two-operand einsum that is a matrix product over the last axes:
/// `Some(true)` for `a @ bᵀ` (both contract their last axis), `Some(false)`
/// for `a @ b`.
fn einsum_product(spec: &str) -> Option<bool> {
    let spec: String = spec
        .chars()
        .filter(|c| c.is_ascii_alphabetic() || *c == ',' || *c == '>')
        .collect();
    let (ins, out) = spec.split_once('>')?;
    let (a, b) = ins.split_once(',')?;
    let (a, b, c): (Vec<char>, Vec<char>, Vec<char>) = (
        a.chars().collect(),
        b.chars().collect(),
        out.chars().collect(),
    );
    if a.len() < 2 || b.len() < 2 || c.len() < 2 {
        return None;
    }
    let (a1, a2) = (a[a.len() - 2], a[a.len() - 1]);
    let (b1, b2) = (b[b.len() - 2], b[b.len() - 1]);
    let (c1, c2) = (c[c.len() - 2], c[c.len() - 1]);
    if a2 == b2 && !c.contains(&a2) && (c1, c2) == (a1, b1) {
        return Some(true);
    }
    if a2 == b1 && !c.contains(&a2) && (c1, c2) == (a1, b2) {
        return Some(false);
    }
    None
}

/// The attributes that the methods of `f`'s class bind to an `nn.Softmax`
/// module: `self.attend = nn.Softmax(dim=-1)` makes `self.attend(x)` a
/// softmax in every method of the class.
fn softmax_modules(file: &File, f: &Function) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some((class, _)) = f.name.rsplit_once('.') else {
        return out;
    };
    for g in &file.functions {
        if g.name.rsplit_once('.').map(|(c, _)| c) != Some(class) {
            continue;
        }
        g.walk(&mut |s| {
            if let StmtKind::Assign {
                target: Expr::Var(t),
                op: AssignOp::Set,
                value,
            } = &s.kind
            {
                if let Some(attr) = t.strip_prefix("self.") {
                    if is_softmax_module(value) && !attr.contains('.') {
                        out.insert(attr.to_string());
                    }
                }
            }
        });
    }
    out
}

/// The methods of `f`'s class whose last statement returns their one
/// argument plus something (`return s + bias`): applied to the scores, they
/// add a bias, as a mask does.
fn bias_methods(file: &File, f: &Function) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some((class, _)) = f.name.rsplit_once('.') else {
        return out;
    };
    for g in &file.functions {
        let Some((c, m)) = g.name.rsplit_once('.') else {
            continue;
        };
        if c != class || g.params.len() != 2 || g.params[0] != "self" {
            continue;
        }
        let arg = &g.params[1];
        if let Some(Stmt {
            kind: StmtKind::Return(Some(Expr::Binary(BinOp::Add, a, b))),
            ..
        }) = g.body.last()
        {
            let is_arg = |e: &Expr| matches!(e, Expr::Var(v) if v == arg);
            if is_arg(a) != is_arg(b) {
                out.insert(m.to_string());
            }
        }
    }
    out
}

/// `nn.Softmax(...)`, or `nn.Sequential(nn.Softmax(...), nn.Dropout(...))`.
fn is_softmax_module(e: &Expr) -> bool {
    let call =
        |e: &Expr, name: &str| matches!(e, Expr::Call { func, .. } if last_seg(func) == name);
    match e {
        Expr::Call { func, args, .. } if last_seg(func) == "Sequential" => {
            args.first().is_some_and(|a| call(a, "Softmax"))
                && args[1..].iter().all(|a| call(a, "Dropout"))
        }
        _ => call(e, "Softmax"),
    }
}

fn check_function(file: &File, f: &Function, out: &mut Reports) {
    let mut flow = Flow::new(f);
    flow.softmax_modules = softmax_modules(file, f);
    flow.bias_methods = bias_methods(file, f);
    let mut seen = BTreeSet::new();
    for (o, s) in flow.stmts.iter().enumerate() {
        for e in s.exprs() {
            let mut pairs = Vec::new();
            e.walk(&mut |x| pairs.extend(as_product(x)));
            for (p, z) in pairs {
                let Some(sm) = flow.softmax_of(&p, o, 0) else {
                    continue;
                };
                let Some(sc) = flow.scores_of(&sm.input, sm.input_at, 0) else {
                    continue;
                };
                if !seen.insert((sc.at, o)) {
                    continue;
                }
                out.push(finding(file, f, &flow, &sc, &sm, &z, o));
            }
        }
    }
}

fn dim(file: &File, e: &Expr) -> Dim {
    Dim::of(file, e)
}

fn shape<'f>(f: &'f Function, e: &Expr) -> Option<&'f [Expr]> {
    let Expr::Var(n) = e else { return None };
    let info = f.vars.get(n)?;
    (info.shape.len() >= 2).then_some(info.shape.as_slice())
}

fn elem(f: &Function, e: &Expr) -> Option<ElemType> {
    let Expr::Var(n) = e else { return None };
    f.vars.get(n)?.elem.clone()
}

/// Whether the attention is written in PyTorch: the function names torch
/// (`torch.*`, `F.*`, `nn.*`, `masked_fill`), or it names no NumPy and the
/// file imports torch (`torch.matmul` is lowered to a product, and an
/// `nn.Softmax` module is called as `self.attend(...)`).
fn uses_torch(file: &File, f: &Function) -> bool {
    let (torch, numpy) = names_torch_numpy(f);
    torch || !numpy && file.imports_module("torch")
}

fn names_torch_numpy(f: &Function) -> (bool, bool) {
    let mut torch = false;
    let mut numpy = false;
    f.walk(&mut |s| {
        for e in s.exprs() {
            e.walk(&mut |x| {
                let name = match x {
                    Expr::Var(v) => v.as_str(),
                    Expr::Call { func, .. } => func.as_str(),
                    _ => return,
                };
                if name.starts_with("torch")
                    || name.starts_with("F.")
                    || name.starts_with("nn.")
                    || name == "masked_fill"
                {
                    torch = true;
                }
                if name.starts_with("np.") || name.starts_with("numpy.") {
                    numpy = true;
                }
            });
        }
    });
    (torch, numpy)
}

/// What the message of attention written in NumPy (not PyTorch) says, and
/// only it: [`written_in_numpy`] reads it back.
const IN_NUMPY: &str = " in NumPy: ";

/// Whether an attention finding of this rule is written in NumPy (its code
/// as written is NumPy's, not PyTorch's).
pub fn written_in_numpy(f: &Finding) -> bool {
    f.rule == ManualAttention::META.name && f.message.contains(IN_NUMPY)
}

fn finding(
    file: &File,
    f: &Function,
    flow: &Flow<'_>,
    sc: &Scores,
    sm: &Softmax,
    v: &Expr,
    o: usize,
) -> Finding {
    let qs = shape(f, &sc.q);
    let ks = shape(f, &sc.k);
    let last2 = |s: &[Expr]| (s[s.len() - 2].clone(), s[s.len() - 1].clone());
    let mut dims = Dims::default();
    if let Some(qs) = qs {
        let (m, k) = last2(qs);
        dims.m = Some(dim(file, &m));
        dims.k = Some(dim(file, &k));
        if qs.len() > 2 {
            let lead = qs[..qs.len() - 2]
                .iter()
                .cloned()
                .reduce(|a, b| Expr::bin(BinOp::Mul, a, b))
                .expect("non-empty");
            dims.batch = Some(dim(file, &lead));
        }
    }
    if let Some(ks) = ks {
        let (n, k) = last2(ks);
        dims.n = Some(dim(file, &n));
        if dims.k.is_none() {
            dims.k = Some(dim(file, &k));
        }
    }
    let dtype = elem(f, &sc.q)
        .or_else(|| elem(f, &sc.k))
        .or_else(|| elem(f, v));
    let name = |e: &Expr| e.to_string();
    let layouts = vec![
        OperandLayout {
            role: "Q".into(),
            name: name(&sc.q),
            major: Major::Row,
            ld: None,
            jagged: false,
        },
        // Kᵀ is the B operand of the first product: K stored row-major is
        // Kᵀ column-major.
        OperandLayout {
            role: "K".into(),
            name: name(&sc.k),
            major: Major::Col,
            ld: None,
            jagged: false,
        },
        OperandLayout {
            role: "V".into(),
            name: name(v),
            major: Major::Row,
            ld: None,
            jagged: false,
        },
    ];
    let manual = sm.how.starts_with("a hand-written");
    let mut confidence: f32 = if sc.scale.is_some() { 0.9 } else { 0.8 };
    if manual {
        confidence -= 0.05;
    }
    let steps = [
        Some(format!("`{} @ {}ᵀ`", name(&sc.q), name(&sc.k))),
        sc.scale.as_ref().map(|s| format!("scaled `{s}`")),
        sc.masked.then(|| "masked".to_string()),
        Some(format!("softmax via `{}`", sm.how)),
        Some(format!("`@ {}`", name(v))),
    ];
    let why = format!(
        "data flow in `{}`: {}",
        f.name,
        steps
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", then ")
    );
    let dims_txt = if dims.m.is_some() || dims.n.is_some() {
        format!(" {}", dims.display())
    } else {
        String::new()
    };
    let dtype_txt = dtype
        .as_ref()
        .map(|t| format!(" {}", t.short()))
        .unwrap_or_default();
    let mut sdpa_args = format!("{}, {}, {}", name(&sc.q), name(&sc.k), name(v));
    if sc.masked {
        sdpa_args.push_str(", attn_mask=...");
    }
    if let Some(s) = &sc.scale {
        if !(s.contains("sqrt") || s.contains("** 0.5") || s.contains("**0.5")) {
            sdpa_args.push_str(", scale=...");
        }
    }
    let message = if uses_torch(file, f) {
        format!(
            "hand-written attention{dims_txt}{dtype_txt}: every step writes and re-reads the full \
             query×key score matrix; `torch.nn.functional.scaled_dot_product_attention({sdpa_args})` \
             fuses it into one kernel (FlashAttention / memory-efficient) that never stores it"
        )
    } else {
        format!(
            "hand-written attention{dims_txt}{dtype_txt}{IN_NUMPY}the query×key score matrix is \
             written and re-read by every step (scale, max, exp, sum, divide, ·V); NumPy has no fused \
             attention — `torch.nn.functional.scaled_dot_product_attention({sdpa_args})` runs it as \
             one fused kernel"
        )
    };
    Finding {
        code: ManualAttention::META.code,
        rule: ManualAttention::META.name,
        idiom: Idiom::Attention,
        routine: Routine::Sdpa,
        backend: Backend::PythonLibrary,
        range: flow.stmts[sc.at].span.cover(flow.stmts[o].span),
        key_range: flow.stmts[sm.at].span,
        function: Some(f.name.clone()),
        dims,
        dtype,
        layouts,
        loop_order: None,
        alpha: sc.scale.clone(),
        beta: None,
        confidence,
        why,
        message,
        purpose: None,
        parallel: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil_lib::*;
    use crate::ir::{FnKind, VarInfo};

    fn qkv_vars(elem: ElemType) -> Vec<(&'static str, VarInfo)> {
        let sh = || vec![v("B"), v("H"), v("S"), v("D")];
        vec![
            ("q", nd(Some(elem.clone()), sh())),
            ("k", nd(Some(elem.clone()), sh())),
            ("v", nd(Some(elem), sh())),
        ]
    }

    const CONSTS: &[(&str, i64)] = &[("B", 2), ("H", 8), ("S", 128), ("D", 64)];

    fn run501(body: Vec<Stmt>, vars: Vec<(&str, VarInfo)>) -> Vec<Finding> {
        let f = func("Attn.forward", FnKind::Python, vars, body);
        run(&ManualAttention, &file(Lang::Python, vec![f], CONSTS), "")
    }

    fn torch_softmax(x: Expr) -> Expr {
        kcall("F.softmax", vec![x], vec![("dim", neg(int(1)))])
    }

    #[test]
    fn torch_attention_through_variables() {
        // 2 scores = q @ k.transpose(-2, -1) / math.sqrt(self.d)
        // 3 scores = scores.masked_fill(mask == 0, -1e9)
        // 4 attn = F.softmax(scores, dim=-1)
        // 5 attn = self.dropout(attn)
        // 6 out = attn @ v
        let body = vec![
            let_(
                2,
                "scores",
                div(mm(v("q"), tr(v("k"))), call("math.sqrt", vec![v("self.d")])),
            ),
            let_(
                3,
                "scores",
                method(
                    v("scores"),
                    "masked_fill",
                    vec![bin(BinOp::Eq, v("mask"), int(0)), neg(flt(1e9))],
                ),
            ),
            let_(4, "attn", torch_softmax(v("scores"))),
            let_(5, "attn", method(v("self"), "dropout", vec![v("attn")])),
            let_(6, "out", mm(v("attn"), v("v"))),
            ret(7, v("out")),
        ];
        let got = run501(body, qkv_vars(ElemType::F32));
        assert_eq!(got.len(), 1, "{got:#?}");
        let g = &got[0];
        assert_eq!(g.code, "GS501");
        assert_eq!(g.rule, "manual-attention");
        assert_eq!(g.idiom, Idiom::Attention);
        assert_eq!(g.routine, Routine::Sdpa);
        assert_eq!(g.range.start_line, 2);
        assert_eq!(g.range.end_line, 6);
        assert_eq!(g.key_range.start_line, 4);
        assert_eq!(dims_str(g), "16x(128x128x64)");
        assert_eq!(g.dims.batch.as_ref().unwrap().expr, "B*H");
        assert_eq!(g.dtype, Some(ElemType::F32));
        assert_eq!(g.function.as_deref(), Some("Attn.forward"));
        assert!(g.why.contains("masked"), "{}", g.why);
        assert!(g.message.contains("scaled_dot_product_attention"));
        assert!(g.message.contains("attn_mask"));
        assert_eq!(g.layouts[1].major, Major::Col);
        assert!(g.confidence >= 0.85);
    }

    #[test]
    fn one_line_attention_after_substitution() {
        // out = torch.softmax(q @ k.mT * scale, dim=-1) @ v
        let body = vec![let_(
            3,
            "out",
            mm(
                kcall(
                    "torch.softmax",
                    vec![mul(mm(v("q"), tr(v("k"))), v("scale"))],
                    vec![("dim", neg(int(1)))],
                ),
                v("v"),
            ),
        )];
        let got = run501(body, qkv_vars(ElemType::Bf16));
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].range.start_line, 3);
        assert_eq!(got[0].range.end_line, 3);
        assert_eq!(got[0].dtype, Some(ElemType::Bf16));
        assert_eq!(got[0].alpha.as_deref(), Some("* scale"));
        assert!(got[0].message.contains("scale=..."), "{}", got[0].message);
    }

    #[test]
    fn method_softmax_with_additive_mask_and_pow_scale() {
        // s = q @ k.transpose(-2, -1)
        // s = s / d ** 0.5
        // s += mask
        // w = s.softmax(-1)
        // o = w @ v
        let body = vec![
            let_(
                2,
                "s",
                mm(v("q"), method(v("k"), "transpose", vec![int(1), int(2)])),
            ),
            let_(3, "s", div(v("s"), bin(BinOp::Pow, v("d"), flt(0.5)))),
            assign(4, v("s"), AssignOp::Add, v("mask")),
            let_(5, "w", method(v("s"), "softmax", vec![neg(int(1))])),
            let_(6, "o", mm(v("w"), v("v"))),
        ];
        let got = run501(body, qkv_vars(ElemType::F32));
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].range.start_line, 2);
        assert_eq!(got[0].range.end_line, 6);
        assert!(got[0].why.contains("masked"));
    }

    #[test]
    fn numpy_manual_softmax() {
        // def attention(Q, K, V):
        // 2   S = np.dot(Q, K.T) / np.sqrt(d)
        // 3   E = np.exp(S - S.max(axis=-1, keepdims=True))
        // 4   P = E / E.sum(axis=-1, keepdims=True)
        // 5   return P @ V
        let vars = vec![
            ("Q", nd(Some(ElemType::F64), vec![v("S"), v("D")])),
            ("K", nd(Some(ElemType::F64), vec![v("T"), v("D")])),
            ("V", nd(Some(ElemType::F64), vec![v("T"), v("D")])),
        ];
        let body = vec![
            let_(
                2,
                "S",
                div(mm(v("Q"), tr(v("K"))), call("np.sqrt", vec![v("d")])),
            ),
            let_(
                3,
                "E",
                call(
                    "np.exp",
                    vec![sub(
                        v("S"),
                        kmethod(v("S"), "max", vec![], vec![("axis", neg(int(1)))]),
                    )],
                ),
            ),
            let_(
                4,
                "P",
                div(
                    v("E"),
                    kmethod(v("E"), "sum", vec![], vec![("axis", neg(int(1)))]),
                ),
            ),
            ret(5, mm(v("P"), v("V"))),
        ];
        let f = func("attention", FnKind::Python, vars, body);
        let got = run(
            &ManualAttention,
            &file(Lang::Python, vec![f], &[("S", 256), ("T", 512), ("D", 64)]),
            "",
        );
        assert_eq!(got.len(), 1, "{got:#?}");
        let g = &got[0];
        assert_eq!(dims_str(g), "256x512x64");
        assert_eq!(g.dtype, Some(ElemType::F64));
        assert_eq!(g.range.start_line, 2);
        assert_eq!(g.range.end_line, 5);
        assert_eq!(g.key_range.start_line, 4);
        assert!(g.message.contains("NumPy"), "{}", g.message);
        assert!(g.why.contains("hand-written exp / sum"));
    }

    #[test]
    fn scipy_softmax_inline_exp_sum() {
        // P = np.exp(S) / np.sum(np.exp(S), axis=1, keepdims=True)  then  P @ V
        let body = vec![
            let_(2, "S", mm(v("q"), call("np.transpose", vec![v("k")]))),
            let_(
                3,
                "P",
                div(
                    call("np.exp", vec![v("S")]),
                    kcall(
                        "np.sum",
                        vec![call("np.exp", vec![v("S")])],
                        vec![("axis", int(1))],
                    ),
                ),
            ),
            let_(4, "out", mm(v("P"), v("v"))),
            // and the scipy spelling in the same function
            let_(
                5,
                "P2",
                kcall(
                    "scipy.special.softmax",
                    vec![v("S")],
                    vec![("axis", int(-1))],
                ),
            ),
            let_(6, "out2", mm(v("P2"), v("v"))),
        ];
        let got = run501(body, qkv_vars(ElemType::F32));
        assert_eq!(got.len(), 2, "{got:#?}");
        assert_eq!(got[1].range.start_line, 2);
        assert_eq!(got[1].range.end_line, 6);
    }

    #[test]
    fn einsum_attention() {
        // s = torch.einsum("bhqd,bhkd->bhqk", q, k) * self.scale
        // p = s.softmax(dim=-1)
        // o = torch.einsum("bhqk,bhkd->bhqd", p, v)
        let body = vec![
            let_(
                2,
                "s",
                mul(
                    call("torch.einsum", vec![s("bhqd,bhkd->bhqk"), v("q"), v("k")]),
                    v("self.scale"),
                ),
            ),
            let_(
                3,
                "p",
                kmethod(v("s"), "softmax", vec![], vec![("dim", neg(int(1)))]),
            ),
            let_(
                4,
                "o",
                call("torch.einsum", vec![s("bhqk,bhkd->bhqd"), v("p"), v("v")]),
            ),
        ];
        let got = run501(body, qkv_vars(ElemType::F32));
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].range.start_line, 2);
        assert_eq!(got[0].range.end_line, 4);
        assert_eq!(dims_str(&got[0]), "16x(128x128x64)");
        // An einsum that is not Q·Kᵀ (contracting q with k's first axis) is not scores.
        assert_eq!(einsum_product("bhqd,bhdk->bhqk"), Some(false));
        assert_eq!(einsum_product("ij,jk->ik"), Some(false));
        assert_eq!(einsum_product("i d, j d -> i j"), Some(true));
        assert_eq!(einsum_product("ii->i"), None);
    }

    #[test]
    fn bmm_call_spelling() {
        // scores = torch.bmm(q, k.transpose(1, 2)); out = torch.bmm(F.softmax(scores, 2), v)
        let body = vec![
            let_(
                2,
                "scores",
                call(
                    "torch.bmm",
                    vec![v("q"), method(v("k"), "transpose", vec![int(1), int(2)])],
                ),
            ),
            let_(
                3,
                "out",
                call(
                    "torch.bmm",
                    vec![call("F.softmax", vec![v("scores"), int(2)]), v("v")],
                ),
            ),
        ];
        assert_eq!(run501(body, qkv_vars(ElemType::F32)).len(), 1);
    }

    #[test]
    fn two_unrelated_matmuls_are_not_flagged() {
        // h = x @ W1.T ; y = h @ W2
        let body = vec![
            let_(2, "h", mm(v("x"), tr(v("W1")))),
            let_(3, "y", mm(v("h"), v("W2"))),
        ];
        assert!(run501(body, vec![]).is_empty());
    }

    #[test]
    fn matmul_and_softmax_without_second_matmul_is_not_flagged() {
        // logits = x @ W.T / t ; probs = F.softmax(logits, -1) ; return probs
        let body = vec![
            let_(2, "logits", div(mm(v("x"), tr(v("W"))), v("t"))),
            let_(3, "probs", torch_softmax(v("logits"))),
            ret(4, v("probs")),
        ];
        assert!(run501(body, vec![]).is_empty());
    }

    #[test]
    fn softmax_not_from_q_kt_is_not_flagged() {
        // gates = F.softmax(self.router(x), -1) ; out = gates @ experts
        // w = F.softmax(x @ W, -1) @ V   (no transposed key)
        let body = vec![
            let_(
                2,
                "gates",
                torch_softmax(method(v("self"), "router", vec![v("x")])),
            ),
            let_(3, "out", mm(v("gates"), v("experts"))),
            let_(4, "w", mm(torch_softmax(mm(v("x"), v("W"))), v("V"))),
        ];
        assert!(run501(body, vec![]).is_empty());
    }

    #[test]
    fn softmax_result_redefined_before_use_is_not_flagged() {
        // attn = F.softmax(q @ k.T, -1) ; attn = other ; out = attn @ v
        let body = vec![
            let_(2, "attn", torch_softmax(mm(v("q"), tr(v("k"))))),
            let_(3, "attn", v("other")),
            let_(4, "out", mm(v("attn"), v("v"))),
        ];
        assert!(run501(body, vec![]).is_empty());
    }

    #[test]
    fn c_files_are_ignored() {
        let body = vec![let_(
            3,
            "out",
            mm(torch_softmax(mm(v("q"), tr(v("k")))), v("v")),
        )];
        let f = func("f", FnKind::Host, vec![], body);
        assert!(run(&ManualAttention, &file(Lang::C, vec![f], &[]), "").is_empty());
    }
}
