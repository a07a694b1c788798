//! Hand-written PyTorch attention (GS501) → one call of
//! `torch.nn.functional.scaled_dot_product_attention` (SDPA).
//!
//! ```python
//! att = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(d)
//! att = att.masked_fill(mask == 0, float("-inf"))
//! att = F.softmax(att, dim=-1)
//! y = torch.matmul(att, v)
//! # →
//! y = F.scaled_dot_product_attention(q, k, v, scale=1 / math.sqrt(d), attn_mask=mask != 0)
//! ```
//!
//! The statements are followed by data flow, as the detector did, but only
//! through plain assignments to names, and every step must be one SDPA
//! has: `q @ kᵀ` (`k.transpose(-2, -1)`, `k.mT`; `k.T` only for a known 2-D
//! `k`), scalings by factors (`/ s`, `* s`, `/=`, `*=`), at most one mask
//! after the scaling (`masked_fill(c, -inf)` → a boolean `attn_mask` that is
//! the negation of `c`, because SDPA keeps where True; `+ m` → a float
//! `attn_mask=m`), a softmax over the last axis, and the product with `v`.
//! The scale is passed unless it is literally SDPA's default
//! `1/sqrt(q.size(-1))`; written as `1 / <the divisor as written>` it is
//! exact whatever the divisor is. No `is_causal=True` is inferred: a causal
//! mask stays an explicit (exact) `attn_mask`.
//!
//! Refused: dropout on the weights (SDPA's `dropout_p` draws from another
//! random stream), intermediates read anywhere else (returned, stored for
//! visualisation: the fused kernel does not produce them), finite fills
//! (`-1e9`), a softmax over another axis or with a dtype, calls as `q`,
//! `k` or `v` (their evaluation would move), statements in between that
//! touch any name of the chain, and NumPy code (NumPy has no fused
//! attention).

use std::cell::RefCell;
use std::collections::HashMap;

use tree_sitter::{Node, Tree};

use crate::finding::Finding;
use crate::fixes::row_loop::{
    delete_stmt, identifiers, is_primary, is_pure, kids, line, mentions, node_at, scope_of, src,
};
use crate::fixes::{Applicability, Fix, FixResult, NoFix, Replacement};
use crate::ir::File;

/// A mask on the scores.
#[derive(Clone, Debug)]
enum Mask {
    /// `masked_fill(cond, -inf)`: the attn_mask text (cond negated).
    Bool { keep: String, assume_bool: bool },
    /// `+ m`: added to the scores.
    Add(String),
}

/// What the chain has computed so far.
#[derive(Clone, Debug)]
struct Att {
    q: String,
    k: String,
    /// Scale factors in order: (`true` for a division, the factor's text,
    /// whether it is a primary expression).
    scale: Vec<(bool, String, bool)>,
    mask: Option<Mask>,
    stage: Stage,
    v: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Scores,
    Weights,
    Output,
}

struct Cx<'a> {
    text: &'a str,
    file: &'a File,
    start: usize,
    env: HashMap<String, Att>,
    /// Functions called by the mask and the scale, which move to the last
    /// statement.
    moved_calls: RefCell<Vec<String>>,
}

/// Calls without effects that a mask or a scale may make.
const PURE_CALLS: &[&str] = &[
    "math.sqrt",
    "np.sqrt",
    "numpy.sqrt",
    "float",
    "int",
    "len",
    "size",
    "dim",
    "torch.ones",
    "torch.ones_like",
    "torch.zeros",
    "torch.full",
    "torch.tril",
    "torch.triu",
    "tril",
    "triu",
    "bool",
    "logical_not",
    "torch.finfo",
    "torch.tensor",
    "torch.arange",
    "view",
    "unsqueeze",
    "to",
    "type_as",
    "reshape",
    "expand",
    "expand_as",
];

fn strip_parens(mut n: Node<'_>) -> Node<'_> {
    while n.kind() == "parenthesized_expression" {
        match kids(n).as_slice() {
            [inner] => n = *inner,
            _ => break,
        }
    }
    n
}

/// `float('-inf')`, `-float("inf")`, `-math.inf`, `-torch.inf`, `-np.inf`.
fn is_neg_inf(n: Node<'_>, text: &str) -> bool {
    let t: String = src(n, text)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let t = t.to_ascii_lowercase();
    matches!(
        t.as_str(),
        "float('-inf')"
            | "float(\"-inf\")"
            | "-float('inf')"
            | "-float(\"inf\")"
            | "-math.inf"
            | "-torch.inf"
            | "-np.inf"
            | "-numpy.inf"
    )
}

/// The product `a @ b` in its PyTorch spellings.
fn product<'t>(n: Node<'t>, text: &str) -> Option<(Node<'t>, Node<'t>)> {
    match n.kind() {
        "binary_operator" => {
            let op = n.child_by_field_name("operator")?;
            (src(op, text) == "@").then_some(())?;
            Some((
                n.child_by_field_name("left")?,
                n.child_by_field_name("right")?,
            ))
        }
        "call" => {
            let f = n.child_by_field_name("function")?;
            let args = kids(n.child_by_field_name("arguments")?);
            if args
                .iter()
                .any(|a| a.kind() != "identifier" && !is_expr(*a))
            {
                return None;
            }
            match (src(f, text), args.as_slice()) {
                ("torch.matmul" | "torch.bmm", [a, b]) => Some((*a, *b)),
                (_, [b]) if f.kind() == "attribute" => {
                    let attr = src(f.child_by_field_name("attribute")?, text);
                    matches!(attr, "matmul" | "bmm").then_some(())?;
                    Some((f.child_by_field_name("object")?, *b))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_expr(n: Node<'_>) -> bool {
    !matches!(
        n.kind(),
        "keyword_argument" | "list_splat" | "dictionary_splat"
    )
}

/// The positional and keyword arguments of a call.
fn call_args<'t>(n: Node<'t>, text: &str) -> (Vec<Node<'t>>, Vec<(String, Node<'t>)>) {
    let mut pos = Vec::new();
    let mut kw = Vec::new();
    if let Some(a) = n.child_by_field_name("arguments") {
        for k in kids(a) {
            if k.kind() == "keyword_argument" {
                if let (Some(name), Some(v)) = (
                    k.child_by_field_name("name"),
                    k.child_by_field_name("value"),
                ) {
                    kw.push((src(name, text).to_string(), v));
                }
            } else {
                pos.push(k);
            }
        }
    }
    (pos, kw)
}

impl<'a> Cx<'a> {
    fn t(&self, n: Node<'_>) -> &'a str {
        src(n, self.text)
    }

    /// True when `n` mentions a name of the chain.
    fn in_chain(&self, n: Node<'_>) -> bool {
        let mut ids = Vec::new();
        identifiers(n, &mut ids);
        ids.iter().any(|i| self.env.contains_key(self.t(*i)))
    }

    /// An operand that moves into the SDPA call: no call (its evaluation
    /// would move), and not a value of the chain.
    fn operand(&self, n: Node<'_>, what: &str) -> Result<String, NoFix> {
        if self.in_chain(n) {
            return Err(NoFix::new(format!(
                "the {what} `{}` is computed from the attention itself",
                self.t(n)
            )));
        }
        if !is_pure(n) {
            return Err(NoFix::new(format!(
                "the {what} `{}` is a call; the fused call would evaluate it at another \
                 point",
                self.t(n)
            )));
        }
        Ok(self.t(n).to_string())
    }

    /// `k.transpose(-2, -1)`, `k.mT`, `torch.transpose(k, -1, -2)`, `k.T`
    /// (2-D `k` only) → `k`.
    fn untranspose(&self, n: Node<'a>) -> Result<Node<'a>, NoFix> {
        let n = strip_parens(n);
        let last_two = |a: &[Node<'_>]| {
            let s: Vec<String> = a
                .iter()
                .map(|x| self.t(*x).split_whitespace().collect())
                .collect();
            s == ["-2", "-1"] || s == ["-1", "-2"]
        };
        match n.kind() {
            "attribute" => {
                let obj = n.child_by_field_name("object");
                match (obj, n.child_by_field_name("attribute").map(|a| self.t(a))) {
                    (Some(o), Some("mT")) => return Ok(o),
                    (Some(o), Some("T")) => {
                        if self.rank_of(self.t(o)) == Some(2) {
                            return Ok(o);
                        }
                        return Err(NoFix::new(format!(
                            "`{}` reverses every axis when the tensor has more than two and \
                             its rank is not known here; write `{}.transpose(-2, -1)` or \
                             `{}.mT`",
                            self.t(n),
                            self.t(o),
                            self.t(o)
                        )));
                    }
                    _ => {}
                }
            }
            "call" => {
                let (pos, kw) = call_args(n, self.text);
                let f = n.child_by_field_name("function");
                if kw.is_empty() {
                    if let Some(f) = f {
                        let ft = self.t(f);
                        if ft == "torch.transpose" && pos.len() == 3 && last_two(&pos[1..]) {
                            return Ok(pos[0]);
                        }
                        if f.kind() == "attribute"
                            && f.child_by_field_name("attribute")
                                .is_some_and(|a| matches!(self.t(a), "transpose" | "swapaxes"))
                            && pos.len() == 2
                            && last_two(&pos)
                        {
                            if let Some(o) = f.child_by_field_name("object") {
                                return Ok(o);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Err(NoFix::new(format!(
            "the key operand `{}` is not `k.transpose(-2, -1)` or `k.mT`",
            self.t(n)
        )))
    }

    fn rank_of(&self, name: &str) -> Option<usize> {
        let f = self.file.functions.iter().find(|f| {
            let mut hit = false;
            f.walk(&mut |s| hit |= s.span.start_byte == self.start);
            hit
        })?;
        let i = f.vars.get(name)?;
        (i.ndarray && i.rank > 0).then_some(i.rank)
    }

    /// Evaluates an expression of the chain.
    fn eval(&self, n: Node<'a>) -> Result<Att, NoFix> {
        let n = strip_parens(n);
        let other = || {
            NoFix::new(format!(
                "`{}` (line {}) does something SDPA does not do with the attention",
                self.t(n),
                line(n)
            ))
        };
        if n.kind() == "identifier" {
            return self.env.get(self.t(n)).cloned().ok_or_else(other);
        }
        if let Some((a, b)) = product(n, self.text) {
            if self.in_chain(a) {
                let mut w = self.eval(a)?;
                if w.stage != Stage::Weights {
                    return Err(NoFix::new(format!(
                        "`{}` multiplies the attention by `{}` before the softmax",
                        self.t(n),
                        self.t(b)
                    )));
                }
                w.v = Some(self.operand(b, "value")?);
                w.stage = Stage::Output;
                return Ok(w);
            }
            if self.in_chain(b) {
                return Err(other());
            }
            let k = self.untranspose(b)?;
            return Ok(Att {
                q: self.operand(a, "query")?,
                k: self.operand(k, "key")?,
                scale: Vec::new(),
                mask: None,
                stage: Stage::Scores,
                v: None,
            });
        }
        match n.kind() {
            "binary_operator" => {
                let op = n
                    .child_by_field_name("operator")
                    .map(|o| self.t(o))
                    .unwrap_or("");
                let (l, r) = (
                    n.child_by_field_name("left").ok_or_else(other)?,
                    n.child_by_field_name("right").ok_or_else(other)?,
                );
                if !matches!(op, "/" | "*" | "+") {
                    return Err(other());
                }
                let (le, re) = (self.eval(l), self.eval(r));
                let (mut s, factor, div) = match (le, re) {
                    (Ok(s), Err(_)) => (s, r, op == "/"),
                    (Err(_), Ok(s)) if op != "/" => (s, l, false),
                    (Err(e), Err(_)) if self.in_chain(l) || has_product(l, self.text) => {
                        return Err(e)
                    }
                    (Err(_), Err(e)) if self.in_chain(r) || has_product(r, self.text) => {
                        return Err(e)
                    }
                    _ => return Err(other()),
                };
                if s.stage != Stage::Scores {
                    return Err(NoFix::new(format!(
                        "`{}` changes the attention after the softmax",
                        self.t(n)
                    )));
                }
                if op == "+" {
                    if s.mask.is_some() {
                        return Err(NoFix::new("the scores are masked twice"));
                    }
                    s.mask = Some(Mask::Add(self.operand(factor, "mask")?));
                    return Ok(s);
                }
                if s.mask.is_some() {
                    return Err(NoFix::new(format!(
                        "the scores are scaled after the mask (`{}`); SDPA scales before \
                         adding it",
                        self.t(n)
                    )));
                }
                s.scale
                    .push((div, self.scale_text(factor)?, is_primary(factor)));
                Ok(s)
            }
            "call" => self.eval_call(n),
            _ => Err(other()),
        }
    }

    /// Notes the calls in a part that moves to the last statement.
    fn note_calls(&self, n: Node<'_>) {
        if n.kind() == "call" {
            if let Some(f) = n.child_by_field_name("function") {
                let name = match f.kind() {
                    "attribute" => f.child_by_field_name("attribute").map_or("", |a| self.t(a)),
                    _ => self.t(f),
                };
                self.moved_calls.borrow_mut().push(name.to_string());
            }
        }
        let mut c = n.walk();
        for k in n.named_children(&mut c) {
            self.note_calls(k);
        }
    }

    fn scale_text(&self, n: Node<'_>) -> Result<String, NoFix> {
        self.note_calls(n);
        if self.in_chain(n) {
            return Err(NoFix::new(format!(
                "the scale `{}` depends on the attention",
                self.t(n)
            )));
        }
        Ok(self.t(n).to_string())
    }

    fn eval_call(&self, n: Node<'a>) -> Result<Att, NoFix> {
        let f = n
            .child_by_field_name("function")
            .ok_or_else(|| NoFix::new("?"))?;
        let ft = self.t(f);
        let (pos, kw) = call_args(n, self.text);
        let attr = (f.kind() == "attribute")
            .then(|| f.child_by_field_name("attribute").map(|a| self.t(a)))
            .flatten();
        let recv = (f.kind() == "attribute")
            .then(|| f.child_by_field_name("object"))
            .flatten();
        if ft.to_ascii_lowercase().contains("drop") {
            return Err(NoFix::new(format!(
                "dropout on the attention weights (`{}`, line {}): SDPA's dropout_p draws its \
                 mask from a different random stream, so training results would change; \
                 not rewritten",
                self.t(n),
                line(n)
            )));
        }
        // masked_fill(cond, -inf)
        if matches!(attr, Some("masked_fill" | "masked_fill_")) {
            let recv = recv.ok_or_else(|| NoFix::new("?"))?;
            let mut s = self.eval(recv)?;
            if s.stage != Stage::Scores {
                return Err(NoFix::new("the attention is masked after the softmax"));
            }
            let (cond, fill) = match (pos.as_slice(), kw.as_slice()) {
                ([c, v], []) => (*c, *v),
                _ => return Err(NoFix::new("`masked_fill` has unexpected arguments")),
            };
            if !is_neg_inf(fill, self.text) {
                return Err(NoFix::new(format!(
                    "the mask fills with `{}`, not -inf: SDPA's boolean mask removes the keys \
                     entirely, so the weights would differ (a finite fill still gives the \
                     masked keys a share); not rewritten",
                    self.t(fill)
                )));
            }
            if s.mask.is_some() {
                return Err(NoFix::new("the scores are masked twice"));
            }
            if self.in_chain(cond) {
                return Err(NoFix::new("the mask depends on the attention"));
            }
            self.note_calls(cond);
            s.mask = Some(self.negate(cond));
            return Ok(s);
        }
        // softmax over the last axis
        let is_fn = matches!(
            ft,
            "F.softmax"
                | "torch.softmax"
                | "torch.nn.functional.softmax"
                | "nn.functional.softmax"
                | "torch.special.softmax"
        );
        if is_fn || attr == Some("softmax") {
            let (x, rest) = if is_fn {
                let (x, rest) = pos.split_first().ok_or_else(|| NoFix::new("?"))?;
                (*x, rest.to_vec())
            } else {
                (recv.ok_or_else(|| NoFix::new("?"))?, pos.clone())
            };
            let mut dim = rest.first().map(|d| self.t(*d));
            for (k, v) in &kw {
                if k == "dim" && dim.is_none() {
                    dim = Some(self.t(*v));
                } else {
                    return Err(NoFix::new(format!(
                        "the softmax is called with `{k}=`; SDPA's softmax has no such option"
                    )));
                }
            }
            if rest.len() > 1 {
                return Err(NoFix::new("the softmax has unexpected arguments"));
            }
            let dim: String = dim.unwrap_or("").split_whitespace().collect();
            if dim != "-1" {
                return Err(NoFix::new(format!(
                    "the softmax runs over dim `{dim}`, not -1 (the keys); SDPA normalises \
                     over the last axis"
                )));
            }
            let mut s = self.eval(x)?;
            if s.stage != Stage::Scores {
                return Err(NoFix::new("the softmax is applied twice"));
            }
            s.stage = Stage::Weights;
            return Ok(s);
        }
        Err(NoFix::new(format!(
            "`{}` (line {}) does something SDPA does not do with the attention",
            self.t(n),
            line(n)
        )))
    }

    /// The attn_mask keeping what `masked_fill(cond, -inf)` does not fill.
    fn negate(&self, cond: Node<'_>) -> Mask {
        let c = strip_parens(cond);
        if c.kind() == "comparison_operator" {
            let ks = kids(c);
            let mut cur = c.walk();
            let ops: Vec<&str> = c
                .children_by_field_name("operators", &mut cur)
                .map(|o| self.t(o))
                .collect();
            if ks.len() == 2 && ops.len() == 1 {
                let flipped = match ops[0] {
                    "==" => Some("!="),
                    "!=" => Some("=="),
                    _ => None,
                };
                if let Some(op) = flipped {
                    return Mask::Bool {
                        keep: format!("{} {op} {}", self.t(ks[0]), self.t(ks[1])),
                        assume_bool: false,
                    };
                }
            }
        }
        if c.kind() == "unary_operator"
            && c.child_by_field_name("operator")
                .is_some_and(|o| self.t(o) == "~")
        {
            if let Some(a) = c.child_by_field_name("argument") {
                return Mask::Bool {
                    keep: self.t(a).to_string(),
                    assume_bool: true,
                };
            }
        }
        let t = self.t(c);
        Mask::Bool {
            keep: if is_primary(c) {
                format!("~{t}")
            } else {
                format!("~({t})")
            },
            assume_bool: true,
        }
    }
}

/// True when the file binds `torch.nn.functional` to `F` at the top level.
fn imports_f(text: &str) -> bool {
    text.lines().any(|l| {
        let t: Vec<&str> = l.split_whitespace().collect();
        t == ["import", "torch.nn.functional", "as", "F"]
            || t == ["from", "torch.nn", "import", "functional", "as", "F"]
    })
}

fn imports_torch(text: &str) -> bool {
    text.lines().any(|l| {
        let t: Vec<&str> = l.split_whitespace().collect();
        t.len() >= 2
            && t[0] == "import"
            && (t[1] == "torch" || t[1] == "torch," || t[1].starts_with("torch."))
            && !t.contains(&"as")
    })
}

/// True for SDPA's own default scale: `/ math.sqrt(q.size(-1))` and
/// spellings of it.
fn default_scale(q: &str, scale: &[(bool, String, bool)]) -> bool {
    let [(true, s, _)] = scale else {
        return false;
    };
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    [format!("{q}.size(-1)"), format!("{q}.shape[-1]")]
        .iter()
        .any(|d| {
            s == format!("math.sqrt({d})") || s == format!("{d}**0.5") || s == format!("({d})**0.5")
        })
}

/// The fix for a GS501 finding.
pub fn fix(file: &File, text: &str, tree: &Tree, finding: &Finding) -> FixResult {
    let torch_file = text.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("import torch") || t.starts_with("from torch")
    });
    if !torch_file {
        return Err(NoFix::new(
            "NumPy has no fused attention kernel: every spelling of this in NumPy still \
             writes the query×key score matrix; port it to PyTorch's \
             torch.nn.functional.scaled_dot_product_attention (not rewritten: that \
             changes the array library)",
        ));
    }
    let (first, window) = statements(tree, finding)?;
    let mut cx = Cx {
        text,
        file,
        start: first.start_byte(),
        env: HashMap::new(),
        moved_calls: RefCell::new(Vec::new()),
    };
    let ch = chain(&mut cx, &window)?;
    isolated(&cx, first, &ch)?;
    let (call, assumes) = call(text, &ch.att)?;
    let (chain, prod) = (&ch.statements, ch.prod);
    let mut edits = Vec::new();
    for s in &chain[..chain.len() - 1] {
        edits.push(delete_stmt(text, *s)?);
    }
    // Replace the product (with its parentheses, if it had its own).
    let mut target = prod;
    while let Some(p) = target.parent() {
        if p.kind() == "parenthesized_expression" && kids(p).len() == 1 {
            target = p;
        } else {
            break;
        }
    }
    // A parenthesised product followed by `.x` keeps working as a call.
    edits.push(Replacement {
        start: target.start_byte(),
        end: target.end_byte(),
        new_text: call.clone(),
    });
    edits.sort_by_key(|e| e.start);
    Ok(vec![Fix {
        title: format!("Use the fused attention kernel: `{call}`"),
        edits,
        applicability: Applicability::Exact,
        assumes,
    }])
}

/// The statements of the finding: the first one and all of its block up
/// to the last one.
fn statements<'t>(tree: &'t Tree, finding: &Finding) -> Result<(Node<'t>, Vec<Node<'t>>), NoFix> {
    let r = finding.range;
    let stmt_kinds = ["expression_statement", "return_statement"];
    let first = node_at(tree, r.start_byte, &stmt_kinds)
        .ok_or_else(|| NoFix::new("the first statement was not found"))?;
    let parent = first
        .parent()
        .ok_or_else(|| NoFix::new("the first statement has no block"))?;
    let siblings = kids(parent);
    let i0 = siblings
        .iter()
        .position(|s| *s == first)
        .ok_or_else(|| NoFix::new("?"))?;
    let i1 = siblings
        .iter()
        .position(|s| s.end_byte() == r.end_byte)
        .filter(|i| *i >= i0)
        .ok_or_else(|| {
            NoFix::new(
                "the attention's statements are not in one block (a branch or a loop lies \
                 between them)",
            )
        })?;
    Ok((first, siblings[i0..=i1].to_vec()))
}

/// The attention's statements, from the scores to the product with `v`.
struct Chain<'t> {
    statements: Vec<Node<'t>>,
    /// Statements between them that do not belong to the chain.
    unrelated: Vec<Node<'t>>,
    /// The names the chain assigns.
    targets: Vec<String>,
    att: Att,
    /// The product with `v`, which the call replaces.
    prod: Node<'t>,
}

/// Follows the chain through `window`, evaluating each statement.
fn chain<'a>(cx: &mut Cx<'a>, window: &[Node<'a>]) -> Result<Chain<'a>, NoFix> {
    let mut chain: Vec<Node<'_>> = Vec::new();
    let mut unrelated: Vec<Node<'_>> = Vec::new();
    let mut targets: Vec<String> = Vec::new();
    for (n, s) in window.iter().enumerate() {
        let last = n + 1 == window.len();
        if n > 0 && !cx.in_chain(*s) {
            unrelated.push(*s);
            continue;
        }
        if !matches!(s.kind(), "expression_statement" | "return_statement") {
            return Err(NoFix::new(format!(
                "line {} uses the attention inside a compound statement",
                line(*s)
            )));
        }
        chain.push(*s);
        if last {
            let (att, prod) = output(cx, *s)?;
            return Ok(Chain {
                statements: chain,
                unrelated,
                targets,
                att,
                prod,
            });
        }
        let (name, value) = step(cx, *s)?;
        targets.push(name.clone());
        cx.env.insert(name, value);
    }
    Err(NoFix::new("the product with `v` was not found"))
}

/// The last statement, holding `weights @ v`: the product and its value.
fn output<'a>(cx: &Cx<'a>, s: Node<'a>) -> Result<(Att, Node<'a>), NoFix> {
    let text = cx.text;
    // The statement holding `weights @ v`: the product is replaced.
    let mut prods = Vec::new();
    find_output(cx, s, &mut prods);
    let [p] = prods.as_slice() else {
        return Err(NoFix::new(format!(
            "the product with `v` was not found on line {}",
            line(s)
        )));
    };
    let out = cx.eval(*p)?;
    if out.stage != Stage::Output {
        return Err(NoFix::new("the last statement is not the product with `v`"));
    }
    // Nothing else of the chain in that statement.
    let mut ids = Vec::new();
    identifiers(s, &mut ids);
    if let Some(i) = ids.iter().find(|i| {
        cx.env.contains_key(src(**i, text))
            && !(i.start_byte() >= p.start_byte() && i.end_byte() <= p.end_byte())
    }) {
        return Err(NoFix::new(format!(
            "`{}` is also used on line {} outside the product with `v`",
            src(*i, text),
            line(s)
        )));
    }
    Ok((out, *p))
}

/// One assignment of the chain: the name it sets and its value.
fn step<'a>(cx: &Cx<'a>, s: Node<'a>) -> Result<(String, Att), NoFix> {
    let text = cx.text;
    let inner = kids(s);
    let a = inner
        .first()
        .copied()
        .filter(|a| matches!(a.kind(), "assignment" | "augmented_assignment"))
        .ok_or_else(|| {
            NoFix::new(format!(
                "line {} uses the attention in `{}`; SDPA does not give it back",
                line(s),
                src(s, text)
            ))
        })?;
    let left = a
        .child_by_field_name("left")
        .ok_or_else(|| NoFix::new("?"))?;
    let right = a
        .child_by_field_name("right")
        .ok_or_else(|| NoFix::new("?"))?;
    if left.kind() != "identifier" || a.child_by_field_name("type").is_some() {
        return Err(NoFix::new(format!(
            "the attention is stored in `{}` (line {}); the fused kernel does not \
             produce it",
            src(left, text),
            line(s)
        )));
    }
    let name = src(left, text).to_string();
    let value = if a.kind() == "augmented_assignment" {
        let op = a
            .child_by_field_name("operator")
            .map(|o| src(o, text))
            .unwrap_or("");
        let mut v = cx.env.get(&name).cloned().ok_or_else(|| {
            NoFix::new(format!(
                "`{name} {op}` (line {}) is not part of the chain",
                line(s)
            ))
        })?;
        match op {
            "/=" | "*=" if v.stage == Stage::Scores && v.mask.is_none() => {
                v.scale
                    .push((op == "/=", cx.scale_text(right)?, is_primary(right)));
                v
            }
            _ => {
                return Err(NoFix::new(format!(
                    "`{}` (line {}) does something SDPA does not do with the attention",
                    src(s, text),
                    line(s)
                )))
            }
        }
    } else {
        cx.eval(right)?
    };
    if value.stage == Stage::Output {
        return Err(NoFix::new(format!(
            "the attention output is computed on line {} but the finding ends later",
            line(s)
        )));
    }
    Ok((name, value))
}

/// The chain's intermediates are used nowhere else, and the statements in
/// between neither touch them nor are reordered past a call with effects.
fn isolated(cx: &Cx<'_>, first: Node<'_>, ch: &Chain<'_>) -> Result<(), NoFix> {
    let (text, chain, unrelated, targets) = (cx.text, &ch.statements, &ch.unrelated, &ch.targets);
    let last = *chain.last().ok_or_else(|| NoFix::new("?"))?;
    // Statements in between must not touch any name of the chain.
    // (The last statement stays where it is: only what the others read moves.)
    let mut names: Vec<String> = Vec::new();
    for s in &chain[..chain.len() - 1] {
        let mut ids = Vec::new();
        identifiers(*s, &mut ids);
        names.extend(ids.iter().map(|i| src(*i, text).to_string()));
    }
    for u in unrelated {
        if let Some(n) = names.iter().find(|n| mentions(*u, text, n)) {
            return Err(NoFix::new(format!(
                "line {} (between the attention's statements) also uses `{n}`",
                line(*u)
            )));
        }
    }
    if let (Some(u), Some(c)) = (
        unrelated.first(),
        cx.moved_calls
            .borrow()
            .iter()
            .find(|c| !PURE_CALLS.contains(&c.as_str())),
    ) {
        return Err(NoFix::new(format!(
            "the mask or the scale calls `{c}`, which would move past line {} (its effects, \
             random numbers for one, could be reordered)",
            line(*u)
        )));
    }
    // The intermediates must not be read anywhere else.
    let final_target = kids(last)
        .first()
        .filter(|a| a.kind() == "assignment")
        .and_then(|a| a.child_by_field_name("left"))
        .map(|l| src(l, text).to_string());
    let scope = scope_of(first);
    let mut ids = Vec::new();
    identifiers(scope, &mut ids);
    for t in targets {
        if final_target.as_deref() == Some(t.as_str()) {
            continue;
        }
        if let Some(i) = ids.iter().find(|i| {
            src(**i, text) == t
                && !chain
                    .iter()
                    .any(|c| i.start_byte() >= c.start_byte() && i.end_byte() <= c.end_byte())
        }) {
            return Err(NoFix::new(format!(
                "`{t}` (the attention {}) is also used on line {}; the fused kernel does not \
                 produce it",
                match cx.env.get(t).map(|a| a.stage) {
                    Some(Stage::Weights) => "weights",
                    _ => "scores",
                },
                line(*i)
            )));
        }
    }
    Ok(())
}

/// The SDPA call for `att`, and what it assumes.
fn call(text: &str, att: &Att) -> Result<(String, Vec<String>), NoFix> {
    // The call.
    let func = if imports_f(text) {
        "F.scaled_dot_product_attention"
    } else if imports_torch(text) {
        "torch.nn.functional.scaled_dot_product_attention"
    } else {
        return Err(NoFix::new(
            "neither `torch` nor `torch.nn.functional as F` is imported by name",
        ));
    };
    let v = att.v.clone().unwrap_or_default();
    let mut args = vec![att.q.clone(), att.k.clone(), v];
    let mut assumes = vec![
        "q, k and v are tensors of one floating dtype (as the written matmuls require)".into(),
    ];
    if att.scale.is_empty() {
        args.push("scale=1.0".into());
    } else if !default_scale(&att.q, &att.scale) {
        let mut s = String::new();
        for (n, (div, f, prim)) in att.scale.iter().enumerate() {
            let f = if *prim || f.parse::<f64>().is_ok() {
                f.clone()
            } else {
                format!("({f})")
            };
            match (n, div) {
                (0, true) => s = format!("1 / {f}"),
                (0, false) => s = f,
                (_, true) => s = format!("{s} / {f}"),
                (_, false) => s = format!("{s} * {f}"),
            }
        }
        assumes.push(format!(
            "the scale `{s}` is a number (SDPA's `scale=` is a float)"
        ));
        args.push(format!("scale={s}"));
    }
    match &att.mask {
        Some(Mask::Bool { keep, assume_bool }) => {
            args.push(format!("attn_mask={keep}"));
            if *assume_bool {
                assumes.push(format!(
                    "the mask is a bool tensor (`{keep}` is what SDPA keeps)"
                ));
            }
            assumes.push(
                "no query row is masked entirely (the written softmax gives NaN there, SDPA \
                 gives 0)"
                    .into(),
            );
        }
        Some(Mask::Add(m)) => {
            args.push(format!("attn_mask={m}"));
            assumes.push(format!(
                "`{m}` is a float tensor of q's dtype (SDPA adds a float mask; it does not \
                 promote)"
            ));
        }
        None => {}
    }
    Ok((format!("{func}({})", args.join(", ")), assumes))
}

/// The products in `n` whose left operand is part of the chain.
fn find_output<'t>(cx: &Cx<'_>, n: Node<'t>, out: &mut Vec<Node<'t>>) {
    if let Some((a, _)) = product(n, cx.text) {
        if cx.in_chain(a) {
            out.push(n);
            return;
        }
    }
    let mut c = n.walk();
    for k in n.named_children(&mut c) {
        find_output(cx, k, out);
    }
}

/// True when `n` holds a matrix product.
fn has_product(n: Node<'_>, text: &str) -> bool {
    if product(n, text).is_some() {
        return true;
    }
    let mut c = n.walk();
    let any = n.named_children(&mut c).any(|k| has_product(k, text));
    any
}

#[cfg(test)]
mod tests {
    fn one(src: &str) -> Result<String, String> {
        crate::fixes::tests::first_fix_of("GS501", "a.py", src)
    }

    #[test]
    fn nanogpt_causal_block_without_dropout() {
        let src = "import math\nimport torch\nfrom torch.nn import functional as F\n\nclass A(torch.nn.Module):\n    def forward(self, q, k, v, T):\n        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))\n        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))\n        att = F.softmax(att, dim=-1)\n        y = att @ v  # (B, nh, T, hs)\n        return y\n";
        let out = one(src).unwrap();
        assert!(out.contains("        y = F.scaled_dot_product_attention(q, k, v, scale=(1.0 / math.sqrt(k.size(-1))), attn_mask=self.bias[:, :, :T, :T] != 0)  # (B, nh, T, hs)\n        return y\n"), "{out}");
    }

    #[test]
    fn torch_only_import_default_scale_and_compound_statement() {
        let src = "import math\nimport torch\n\ndef f(q, k, v):\n    s = torch.matmul(q, torch.transpose(k, -1, -2)) / q.shape[-1] ** 0.5\n    p = torch.softmax(s, -1)\n    return torch.matmul(p, v)\n";
        let out = one(src).unwrap();
        assert!(
            out.contains(
                "def f(q, k, v):\n    return torch.nn.functional.scaled_dot_product_attention(q, k, v)\n"
            ),
            "{out}"
        );
        let src = "import torch\n\ndef f(q, k, v, c):\n    s = q @ k.mT\n    if c:\n        print(s)\n    p = torch.softmax(s, -1)\n    return p @ v\n";
        assert!(one(src).unwrap_err().contains("compound statement"));
        let src = "import torch\n\ndef f(q, k, v, c):\n    s = self.wq(q) @ k.mT\n    p = torch.softmax(s, -1)\n    return p @ v\n";
        assert!(one(src).unwrap_err().contains("is a call"));
    }
}
