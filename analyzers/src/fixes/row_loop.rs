//! A Python loop of row products (GS401) → one matrix product.
//!
//! ```python
//! for r in range(R):                 # out[:R] = np.matmul(X[:R], W)
//!     out[r] = np.dot(X[r], W)
//! ```
//!
//! The loop must be `for r in range(E)` or `range(S, E)` (step 1) whose
//! body is that one statement; the output is a NumPy array or tensor known
//! from its allocation, indexed `out[r]` / `out[r, :]` (rows) or
//! `out[:, c]` (columns) exactly as `X` is; the matrix does not depend on
//! the loop and is not a call. The rows written are assigned into a slice
//! of the same `out` (so its dtype and identity are kept, `+=` stays in
//! place), with the loop's own bounds: array lengths are not known here, so
//! the slice is always explicit. The spelling is kept: `np.dot`/`np.matmul`
//! → `np.matmul` (which accepts nested lists as `np.dot` did), `@` and
//! `.dot` → `@`, `torch.matmul`/`torch.mm` → `torch.matmul`.
//!
//! Also home of the small tree-sitter helpers the Python rewrites of this
//! file and [`super::attention`] share: the IR drops the spelling
//! (`np.dot` and `@` are both a `MatMul`), and a rewrite has to print the
//! operands back exactly as written.

use tree_sitter::{Node, Tree};

use crate::finding::Finding;
use crate::fixes::{indent_at, Applicability, Fix, FixResult, NoFix, Replacement};
use crate::ir::{ElemType, File, Function, Stmt, StmtKind};

// ---------------------------------------------------------------------------
// Shared tree-sitter helpers for the Python rewrites.

pub(crate) fn src<'t>(n: Node<'_>, text: &'t str) -> &'t str {
    &text[n.byte_range()]
}

/// The named children of `n` other than comments.
pub(crate) fn kids(n: Node<'_>) -> Vec<Node<'_>> {
    let mut c = n.walk();
    n.named_children(&mut c)
        .filter(|k| k.kind() != "comment")
        .collect()
}

/// The 1-based line of a node.
pub(crate) fn line(n: Node<'_>) -> usize {
    n.start_position().row + 1
}

/// The first node of kind `kind` starting exactly at `start` (outermost).
pub(crate) fn node_at<'t>(tree: &'t Tree, start: usize, kinds: &[&str]) -> Option<Node<'t>> {
    let mut n = tree.root_node().descendant_for_byte_range(start, start)?;
    // Climb to the outermost node starting here, remembering the first match.
    let mut found = None;
    loop {
        if n.start_byte() == start && kinds.contains(&n.kind()) {
            found = Some(n);
        }
        match n.parent() {
            Some(p) if p.start_byte() == start => n = p,
            _ => break,
        }
    }
    found
}

/// Every identifier under `n` (attribute names excluded: `self.r` does not
/// mention `r`), with its node.
pub(crate) fn identifiers<'t>(n: Node<'t>, out: &mut Vec<Node<'t>>) {
    if n.kind() == "identifier" {
        let is_attr_name = n.parent().is_some_and(|p| {
            p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(n)
        }) || n.parent().is_some_and(|p| {
            p.kind() == "keyword_argument" && p.child_by_field_name("name") == Some(n)
        });
        if !is_attr_name {
            out.push(n);
        }
        return;
    }
    let mut c = n.walk();
    for k in n.children(&mut c) {
        identifiers(k, out);
    }
}

/// True when `n` mentions the identifier `name`.
pub(crate) fn mentions(n: Node<'_>, text: &str, name: &str) -> bool {
    let mut ids = Vec::new();
    identifiers(n, &mut ids);
    ids.iter().any(|i| src(*i, text) == name)
}

/// True for an expression without calls, lambdas, comprehensions or
/// assignments: names, attributes, subscripts, numbers, strings,
/// arithmetic. Evaluating it once or many times gives the same value.
pub(crate) fn is_pure(n: Node<'_>) -> bool {
    let ok = matches!(
        n.kind(),
        "identifier"
            | "attribute"
            | "subscript"
            | "slice"
            | "integer"
            | "float"
            | "string"
            | "string_start"
            | "string_content"
            | "string_end"
            | "binary_operator"
            | "unary_operator"
            | "parenthesized_expression"
            | "tuple"
            | "true"
            | "false"
            | "none"
            | "ellipsis"
            | "comment"
    ) || !n.is_named();
    if !ok {
        return false;
    }
    let mut c = n.walk();
    let all = n.children(&mut c).all(is_pure);
    all
}

/// True for an atom that `.T` or `[...]` can follow without parentheses.
pub(crate) fn is_primary(n: Node<'_>) -> bool {
    matches!(
        n.kind(),
        "identifier" | "attribute" | "subscript" | "call" | "parenthesized_expression"
    )
}

/// The innermost function (or the module) enclosing `n`.
pub(crate) fn scope_of(n: Node<'_>) -> Node<'_> {
    let mut p = n.parent();
    while let Some(x) = p {
        if matches!(x.kind(), "function_definition" | "module") {
            return x;
        }
        p = x.parent();
    }
    n
}

/// An edit that deletes statement `n` (its whole lines), keeping a trailing
/// comment as a line of its own. Refused when another statement shares
/// the line (`a = 1; b = 2`).
pub(crate) fn delete_stmt(text: &str, n: Node<'_>) -> Result<Replacement, NoFix> {
    let (indent, own) = indent_at(text, n.start_byte());
    let line_start = n.start_byte() - indent.len();
    let end = n.end_byte();
    let nl = text[end..].find('\n').map_or(text.len(), |p| end + p);
    let rest = text[end..nl].trim();
    if !own || !(rest.is_empty() || rest.starts_with('#')) {
        return Err(NoFix::new(format!(
            "line {} holds another statement too",
            line(n)
        )));
    }
    if rest.is_empty() {
        Ok(Replacement {
            start: line_start,
            end: (nl + 1).min(text.len()),
            new_text: String::new(),
        })
    } else {
        Ok(Replacement {
            start: line_start,
            end: nl,
            new_text: format!("{indent}{rest}"),
        })
    }
}

/// The IR function holding the statement with span starting at `start`.
pub(crate) fn function_at(file: &File, start: usize) -> Option<(&Function, &Stmt)> {
    for f in &file.functions {
        let mut found = None;
        f.walk(&mut |s| {
            if found.is_none() && s.span.start_byte == start && matches!(s.kind, StmtKind::Loop(_))
            {
                found = Some(s);
            }
        });
        if let Some(s) = found {
            return Some((f, s));
        }
    }
    None
}

// ---------------------------------------------------------------------------
// GS401

/// How the product was spelled.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Spelling {
    /// `a @ b`, `a.dot(b)`, `a.matmul(b)`.
    Operator,
    /// `np.dot(a, b)` / `np.matmul(a, b)` with this module prefix.
    NumPy(&'static str),
    /// `torch.matmul(a, b)`, `torch.mm(a, b)`.
    Torch,
}

/// `a @ b` in any of the spellings the detector accepts.
fn product<'t>(n: Node<'t>, text: &str) -> Option<(Node<'t>, Node<'t>, Spelling)> {
    match n.kind() {
        "binary_operator" => {
            let op = n.child_by_field_name("operator")?;
            (src(op, text) == "@").then_some(())?;
            Some((
                n.child_by_field_name("left")?,
                n.child_by_field_name("right")?,
                Spelling::Operator,
            ))
        }
        "call" => {
            let func = n.child_by_field_name("function")?;
            let args = kids(n.child_by_field_name("arguments")?);
            if args.iter().any(|a| {
                matches!(
                    a.kind(),
                    "keyword_argument" | "list_splat" | "dictionary_splat"
                )
            }) {
                return None;
            }
            let f = src(func, text);
            let sp = match f {
                "np.dot" | "np.matmul" => Spelling::NumPy("np"),
                "numpy.dot" | "numpy.matmul" => Spelling::NumPy("numpy"),
                "torch.matmul" | "torch.mm" => Spelling::Torch,
                _ if func.kind() == "attribute" => {
                    let attr = src(func.child_by_field_name("attribute")?, text);
                    if matches!(attr, "dot" | "matmul") && args.len() == 1 {
                        return Some((
                            func.child_by_field_name("object")?,
                            args[0],
                            Spelling::Operator,
                        ));
                    }
                    return None;
                }
                _ => return None,
            };
            (args.len() == 2).then_some((args[0], args[1], sp))
        }
        _ => None,
    }
}

/// `A[r]` / `A[r, :]` → (A, 0); `A[:, r]` → (A, 1).
fn indexed_by<'t>(n: Node<'t>, text: &str, r: &str) -> Option<(Node<'t>, usize)> {
    if n.kind() != "subscript" {
        return None;
    }
    let base = n.child_by_field_name("value")?;
    let mut c = n.walk();
    let subs: Vec<Node<'t>> = n
        .children_by_field_name("subscript", &mut c)
        .filter(|k| k.kind() != "comment")
        .collect();
    let is_r = |k: &Node<'_>| k.kind() == "identifier" && src(*k, text) == r;
    let is_all = |k: &Node<'_>| k.kind() == "slice" && src(*k, text).trim() == ":";
    match subs.as_slice() {
        [a] if is_r(a) => Some((base, 0)),
        [a, b] if is_r(a) && is_all(b) => Some((base, 0)),
        [a, b] if is_all(a) && is_r(b) => Some((base, 1)),
        _ => None,
    }
}

/// A base that can be sliced in place of the indexed access: a name or a
/// dotted attribute chain.
fn plain_base(n: Node<'_>) -> bool {
    match n.kind() {
        "identifier" => true,
        "attribute" => n.child_by_field_name("object").is_some_and(plain_base),
        _ => false,
    }
}

/// Whether a declaration's rank is trustworthy (as in the detector).
fn known_rank(f: &Function, name: &str) -> Option<usize> {
    let i = f.vars.get(name)?;
    (i.rank > 0 && (i.ndarray || i.elem == Some(ElemType::PyFloat))).then_some(i.rank)
}

/// A loop bound that is certainly not negative: an integer literal, a
/// `len(...)`, a `.shape[...]`, or a non-negative module constant.
fn non_negative(n: Node<'_>, text: &str, file: &File) -> bool {
    let t = src(n, text).trim();
    if t.parse::<u64>().is_ok() {
        return true;
    }
    if n.kind() == "call"
        && n.child_by_field_name("function")
            .is_some_and(|f| src(f, text) == "len")
    {
        return true;
    }
    if n.kind() == "subscript"
        && n.child_by_field_name("value").is_some_and(|v| {
            v.kind() == "attribute"
                && v.child_by_field_name("attribute")
                    .is_some_and(|a| src(a, text) == "shape")
        })
    {
        return true;
    }
    n.kind() == "identifier" && file.const_value(t).is_some_and(|v| v >= 0)
}

/// The fix for a GS401 finding.
pub fn fix(file: &File, text: &str, tree: &Tree, finding: &Finding) -> FixResult {
    if finding.loop_order.as_deref() != Some("i") {
        return Err(NoFix::new(
            "the product is folded over several nested loops; only a single row loop is \
             rewritten",
        ));
    }
    let start = finding.range.start_byte;
    let Some(floop) = node_at(tree, start, &["for_statement"]) else {
        return Err(NoFix::new(
            "a comprehension or `append` builds a list of row arrays; one matrix product \
             gives a single array, so it is not rewritten",
        ));
    };
    if floop.child_by_field_name("alternative").is_some() {
        return Err(NoFix::new(
            "the loop has an `else:` clause, which one matrix product would drop",
        ));
    }
    let (r, lo, hi) = row_range(floop, text)?;
    let (assign, op) = the_store(floop, text, finding)?;
    let p = operands(assign, text, r)?;
    let k = known(file, floop, text, finding, r, &p)?;
    // The slice of rows (or columns) the loop visits.
    let bound = |n: Node<'_>| {
        let t = src(n, text).trim().to_string();
        if t.contains([':', ',', '\n']) {
            format!("({t})")
        } else {
            t
        }
    };
    let sl = match lo {
        Some(s) if src(s, text).trim() != "0" => format!("{}:{}", bound(s), bound(hi)),
        _ => format!(":{}", bound(hi)),
    };
    let assumes = assumptions(file, text, lo, hi, &p, &k);
    let (os, prod) = rewrite(text, &p, &k, &sl)?;
    let (indent, own) = indent_at(text, floop.start_byte());
    if !own {
        return Err(NoFix::new("the loop does not start its own line"));
    }
    // Comments inside the loop are kept, before the new statement.
    let mut comments = Vec::new();
    collect_comments(floop, &mut comments);
    let mut new_text = String::new();
    for c in comments {
        new_text.push_str(src(c, text));
        new_text.push('\n');
        new_text.push_str(&indent);
    }
    new_text.push_str(&format!("{os} {op} {prod}"));
    let what = if p.out_axis == 0 { "rows" } else { "columns" };
    Ok(vec![Fix {
        title: format!("Compute the {what} in one matrix product: `{os} {op} {prod}`"),
        edits: vec![Replacement {
            start: floop.start_byte(),
            end: floop.end_byte(),
            new_text,
        }],
        applicability: Applicability::Exact,
        assumes,
    }])
}

/// `for r in range([S, ]E[, 1])`: the loop variable and the bounds.
fn row_range<'t, 's>(
    floop: Node<'t>,
    text: &'s str,
) -> Result<(&'s str, Option<Node<'t>>, Node<'t>), NoFix> {
    // `for r in range([S, ]E)`.
    let left = floop.child_by_field_name("left").unwrap_or(floop);
    let right = floop.child_by_field_name("right").unwrap_or(floop);
    let range_args = (left.kind() == "identifier" && right.kind() == "call")
        .then(|| {
            let f = right.child_by_field_name("function")?;
            (src(f, text) == "range").then_some(())?;
            Some(kids(right.child_by_field_name("arguments")?))
        })
        .flatten()
        .ok_or_else(|| {
            NoFix::new(format!(
                "the loop is `for {} in {}`, not `for r in range(...)`; the rows it visits \
                 are not a slice",
                src(left, text),
                src(right, text)
            ))
        })?;
    let r = src(left, text);
    if range_args.iter().any(|a| a.kind() == "keyword_argument") {
        return Err(NoFix::new("`range` is called with keyword arguments"));
    }
    let (lo, hi) = match range_args.as_slice() {
        [e] => (None, *e),
        [s, e] => (Some(*s), *e),
        [s, e, st] if src(*st, text).trim() == "1" => (Some(*s), *e),
        [_, _, st] => {
            return Err(NoFix::new(format!(
                "the loop steps by `{}`, not 1; the rows it writes are not one slice",
                src(*st, text)
            )))
        }
        _ => return Err(NoFix::new("`range` has an unexpected number of arguments")),
    };
    Ok((r, lo, hi))
}

/// The loop body's one statement, the product's store, and its operator.
fn the_store<'t>(
    floop: Node<'t>,
    text: &str,
    finding: &Finding,
) -> Result<(Node<'t>, &'static str), NoFix> {
    // The body: the product and nothing else.
    let body = floop
        .child_by_field_name("body")
        .ok_or_else(|| NoFix::new("the loop has no body"))?;
    let stmts = kids(body);
    let key = finding.key_range.start_byte;
    if let Some(other) = stmts.iter().find(|s| s.start_byte() != key) {
        return Err(NoFix::new(format!(
            "the loop body also does `{}` (line {}); one matrix product would drop it",
            src(*other, text).lines().next().unwrap_or(""),
            line(*other)
        )));
    }
    let stmt = *stmts
        .first()
        .ok_or_else(|| NoFix::new("the product statement was not found in the loop"))?;
    let assign = kids(stmt)
        .into_iter()
        .next()
        .filter(|a| matches!(a.kind(), "assignment" | "augmented_assignment"))
        .ok_or_else(|| {
            NoFix::new(
                "the loop appends each product to a list; one matrix product gives a \
                 single array, so it is not rewritten",
            )
        })?;
    let op = if assign.kind() == "assignment" {
        if assign.child_by_field_name("type").is_some() {
            return Err(NoFix::new("the store has a type annotation"));
        }
        "="
    } else {
        match assign.child_by_field_name("operator").map(|o| src(o, text)) {
            Some("+=") => "+=",
            other => {
                return Err(NoFix::new(format!(
                    "the store uses `{}`; only `=` and `+=` are rewritten",
                    other.unwrap_or("?")
                )))
            }
        }
    };
    Ok((assign, op))
}

/// The store `out[r] (+)= X[r] @ W` (or `W @ X[r]`, and by columns).
struct Operands<'t, 's> {
    out_name: &'s str,
    out_axis: usize,
    x_name: &'s str,
    x_axis: usize,
    /// The matrix, and whether it is the left factor.
    w: Node<'t>,
    w_first: bool,
    spelling: Spelling,
}

/// The output, the row operand and the matrix of the store `assign`.
fn operands<'t, 's>(assign: Node<'t>, text: &'s str, r: &str) -> Result<Operands<'t, 's>, NoFix> {
    let target = assign.child_by_field_name("left").unwrap_or(assign);
    let value = assign.child_by_field_name("right").unwrap_or(assign);
    let (out, out_axis) = indexed_by(target, text, r)
        .filter(|(b, _)| plain_base(*b) && !mentions(*b, text, r))
        .ok_or_else(|| {
            NoFix::new(format!(
                "the output `{}` is not indexed `out[{r}]`, `out[{r}, :]` or `out[:, {r}]`",
                src(target, text)
            ))
        })?;
    let out_name = src(out, text);
    let (a, b, spelling) = product(value, text).ok_or_else(|| {
        NoFix::new(format!(
            "the stored value `{}` is more than the product (a bias, an activation, a \
             scale); only a bare product is rewritten",
            src(value, text)
        ))
    })?;
    // Which operand is the row.
    let (row, w, w_first) = match (indexed_by(a, text, r), indexed_by(b, text, r)) {
        (Some(x), None) if !mentions(b, text, r) => (x, b, false),
        (None, Some(x)) if !mentions(a, text, r) => (x, a, true),
        _ => {
            return Err(NoFix::new(format!(
                "the row operand is not indexed like the output (`X[{r}]`, `X[{r}, :]` or \
                 `X[:, {r}]`), or both operands depend on `{r}`"
            )))
        }
    };
    let (x, x_axis) = row;
    let x_name = src(x, text);
    if x_axis != out_axis {
        return Err(NoFix::new(format!(
            "`{out_name}` and `{x_name}` are indexed by `{r}` on different axes; the slices \
             would not line up"
        )));
    }
    if !plain_base(x) {
        return Err(NoFix::new(format!("`{x_name}` is not a plain name")));
    }
    if !is_pure(w) {
        return Err(NoFix::new(format!(
            "the matrix `{}` is computed by a call in the loop; one product would evaluate \
             it once",
            src(w, text)
        )));
    }
    if x_name == out_name || mentions(w, text, out_name.split('.').next().unwrap_or(out_name)) {
        return Err(NoFix::new(format!(
            "`{out_name}` is also an operand; the loop reads rows it has already written"
        )));
    }
    Ok(Operands {
        out_name,
        out_axis,
        x_name,
        x_axis,
        w,
        w_first,
        spelling,
    })
}

/// What the IR knows about the arrays: the ranks, whether W is an array,
/// W itself where it is written `W.T`.
struct Known<'t, 's> {
    out_rank: Option<usize>,
    x_rank: Option<usize>,
    w_rank: Option<usize>,
    w_array: bool,
    w_plain: Option<Node<'t>>,
    w_name: &'s str,
}

/// Checks the arrays against the IR (the output a 2-D array allocated
/// here, the operands 2-D where known) and that `r` is not read after.
fn known<'t, 's>(
    file: &File,
    floop: Node<'_>,
    text: &'s str,
    finding: &Finding,
    r: &str,
    p: &Operands<'t, 's>,
) -> Result<Known<'t, 's>, NoFix> {
    let (out_name, x_name, w) = (p.out_name, p.x_name, p.w);
    let (func, _) = function_at(file, floop.start_byte())
        .ok_or_else(|| NoFix::new("the loop was not found in the lowered file"))?;
    let out_info = func.vars.get(out_name);
    if !out_info.is_some_and(|i| i.ndarray) {
        return Err(NoFix::new(format!(
            "`{out_name}` is not known to be a NumPy array or tensor (allocated in this \
             function); a list would take row views and could grow"
        )));
    }
    let out_rank = known_rank(func, out_name);
    if out_rank.is_some_and(|k| k != 2) {
        return Err(NoFix::new(format!(
            "`{out_name}` has rank {}; only 2-D outputs are rewritten",
            out_rank.unwrap_or(0)
        )));
    }
    let w_plain = if w.kind() == "attribute"
        && w.child_by_field_name("attribute")
            .is_some_and(|t| src(t, text) == "T")
    {
        w.child_by_field_name("object")
    } else {
        None
    };
    let w_name = src(w_plain.unwrap_or(w), text);
    let x_rank = known_rank(func, x_name);
    let w_rank = known_rank(func, w_name);
    for (n, k) in [(x_name, x_rank), (w_name, w_rank)] {
        if k.is_some_and(|k| k != 2) {
            return Err(NoFix::new(format!(
                "`{n}` has rank {}; the per-row products would not stack into one 2-D \
                 product",
                k.unwrap_or(0)
            )));
        }
    }
    let w_array = func.vars.get(w_name).is_some_and(|i| i.ndarray);
    if let Some(v) = super::read_after(func, finding.range, &[r.to_string()]) {
        return Err(NoFix::new(format!(
            "the loop variable `{v}` is read after the loop, which one matrix product \
             would not set"
        )));
    }
    if let Some(l) = read_later(floop, text, r) {
        return Err(NoFix::new(format!(
            "the loop variable `{r}` is read after the loop (line {l}), which one matrix \
             product would not set"
        )));
    }
    if enclosing_loop_reads(floop, text, r) {
        return Err(NoFix::new(format!(
            "an enclosing loop reads `{r}` outside this loop (its value from the last \
             iteration)"
        )));
    }

    Ok(Known {
        out_rank,
        x_rank,
        w_rank,
        w_array,
        w_plain,
        w_name,
    })
}

/// What the rewrite takes for granted.
fn assumptions(
    file: &File,
    text: &str,
    lo: Option<Node<'_>>,
    hi: Node<'_>,
    p: &Operands<'_, '_>,
    k: &Known<'_, '_>,
) -> Vec<String> {
    let (out_name, x_name, w_name) = (p.out_name, p.x_name, k.w_name);
    let (out_rank, x_rank, w_rank) = (k.out_rank, k.x_rank, k.w_rank);
    let mut assumes = Vec::new();
    for b in lo.into_iter().chain([hi]) {
        if !non_negative(b, text, file) {
            assumes.push(format!(
                "`{}` is not negative (a negative bound empties the loop but not the slice)",
                src(b, text)
            ));
        }
    }
    assumes.push(format!(
        "the rows the loop visits exist in `{x_name}` and `{out_name}` (the loop raises \
         IndexError past the end; a slice is cut short)"
    ));
    if out_rank.is_none() {
        assumes.push(format!("`{out_name}` is 2-D"));
    }
    if x_rank.is_none() || w_rank.is_none() {
        assumes.push(format!(
            "`{x_name}` is 2-D (rows of length K) and `{w_name}` a 2-D matrix: their types \
             are not known here"
        ));
    }
    assumes.push(format!(
        "`{out_name}` does not share memory with `{x_name}` or `{w_name}`"
    ));

    assumes
}

/// The new store's target and product over the slice `sl`.
fn rewrite(
    text: &str,
    p: &Operands<'_, '_>,
    k: &Known<'_, '_>,
    sl: &str,
) -> Result<(String, String), NoFix> {
    let (out_name, x_name, w, spelling) = (p.out_name, p.x_name, p.w, p.spelling);
    let (w_plain, w_array) = (k.w_plain, k.w_array);
    // W transposed, spelled so that it works for what W may be.
    let w_t = || -> Result<String, NoFix> {
        if let Some(p) = w_plain {
            return Ok(src(p, text).to_string());
        }
        let wt = src(w, text);
        let wrapped = if is_primary(w) {
            wt.to_string()
        } else {
            format!("({wt})")
        };
        match spelling {
            Spelling::NumPy(m) if !w_array => Ok(format!("{m}.transpose({wt})")),
            _ if w_array || spelling == Spelling::Torch => Ok(format!("{wrapped}.T")),
            _ => Err(NoFix::new(format!(
                "`{wt}` is not known to be an array; `{wt}.T` would fail on a list"
            ))),
        }
    };
    let xs = if p.x_axis == 0 {
        format!("{x_name}[{sl}]")
    } else {
        format!("{x_name}[:, {sl}]")
    };
    // (left, right) of the stacked product.
    let (l, rt) = match (p.x_axis, p.w_first) {
        // out[r] = X[r] @ W → X[s] @ W
        (0, false) => (xs, src(w, text).to_string()),
        // out[r] = W @ X[r] → X[s] @ W.T
        (0, true) => (xs, w_t()?),
        // out[:, c] = W @ X[:, c] → W @ X[:, s]
        (_, true) => (src(w, text).to_string(), xs),
        // out[:, c] = X[:, c] @ W → W.T @ X[:, s]
        (_, false) => (w_t()?, xs),
    };
    let prod = match spelling {
        Spelling::Operator => format!("{l} @ {rt}"),
        Spelling::NumPy(m) => format!("{m}.matmul({l}, {rt})"),
        Spelling::Torch => format!("torch.matmul({l}, {rt})"),
    };
    let os = if p.out_axis == 0 {
        format!("{out_name}[{sl}]")
    } else {
        format!("{out_name}[:, {sl}]")
    };
    Ok((os, prod))
}

/// The line of the first read of `r` after the loop in its scope, unless
/// a statement of the loop's own block sets `r` first.
fn read_later(floop: Node<'_>, text: &str, r: &str) -> Option<usize> {
    let scope = scope_of(floop);
    let mut ids = Vec::new();
    identifiers(scope, &mut ids);
    let first = ids
        .into_iter()
        .filter(|i| i.start_byte() >= floop.end_byte() && src(*i, text) == r)
        .min_by_key(|i| i.start_byte())?;
    // `r = ...` or `for r in ...` in the same block, not reading `r`.
    let p = first.parent()?;
    let rebinds = match p.kind() {
        "assignment" => {
            p.child_by_field_name("left") == Some(first)
                && p.child_by_field_name("right")
                    .is_some_and(|v| !mentions(v, text, r))
                && p.parent().and_then(|s| s.parent()) == floop.parent()
        }
        "for_statement" => {
            p.child_by_field_name("left") == Some(first)
                && p.child_by_field_name("right")
                    .is_some_and(|v| !mentions(v, text, r))
                && p.parent() == floop.parent()
        }
        _ => false,
    };
    (!rebinds).then(|| line(first))
}

fn collect_comments<'t>(n: Node<'t>, out: &mut Vec<Node<'t>>) {
    if n.kind() == "comment" {
        out.push(n);
        return;
    }
    let mut c = n.walk();
    for k in n.children(&mut c) {
        collect_comments(k, out);
    }
}

/// True when a loop around `floop` (in the same scope) mentions `r`
/// outside `floop`: it would read the value the last iteration left.
fn enclosing_loop_reads(floop: Node<'_>, text: &str, r: &str) -> bool {
    let mut p = floop.parent();
    while let Some(x) = p {
        if matches!(
            x.kind(),
            "function_definition" | "module" | "class_definition"
        ) {
            return false;
        }
        if matches!(x.kind(), "for_statement" | "while_statement") {
            let mut ids = Vec::new();
            identifiers(x, &mut ids);
            if ids.iter().any(|i| {
                src(*i, text) == r
                    && !(i.start_byte() >= floop.start_byte() && i.end_byte() <= floop.end_byte())
            }) {
                return true;
            }
        }
        p = x.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    fn one(src: &str) -> Result<String, String> {
        crate::fixes::tests::first_fix_of("GS401", "a.py", src)
    }

    const HEAD: &str = "import numpy as np\n\ndef f(X, W, n):\n    out = np.zeros((n, 4))\n";

    #[test]
    fn header_comment_is_kept_and_zero_start_dropped() {
        let src = format!(
            "{HEAD}    for r in range(0, n):  # rows\n        out[r] = X[r] @ W\n    return out\n"
        );
        let out = one(&src).unwrap();
        assert!(
            out.contains("    # rows\n    out[:n] = X[:n] @ W\n    return out\n"),
            "{out}"
        );
    }

    #[test]
    fn else_clause_enclosing_loop_and_torch_spelling() {
        let src = format!("{HEAD}    for r in range(n):\n        out[r] = X[r] @ W\n    else:\n        pass\n    return out\n");
        assert!(one(&src).unwrap_err().contains("`else:`"));
        let src = format!("{HEAD}    for t in range(3):\n        print(r if t else 0)\n        for r in range(n):\n            out[r] = X[r] @ W\n    return out\n");
        assert!(one(&src).unwrap_err().contains("enclosing loop"));
        let src = "import torch\n\ndef f(X, W, n):\n    out = torch.zeros((n, 4))\n    for r in range(2, n):\n        out[r] = torch.mm(X[r], W)\n    return out\n";
        let out = one(src).unwrap();
        assert!(
            out.contains("    out[2:n] = torch.matmul(X[2:n], W)\n"),
            "{out}"
        );
    }

    #[test]
    fn rebinding_after_the_loop_is_not_a_read() {
        let src = format!("{HEAD}    for r in range(n):\n        out[r] = X[r] @ W\n    r = 0\n    return out, r\n");
        assert!(one(&src).is_ok());
        let src = format!("{HEAD}    for r in range(n):\n        out[r] = X[r] @ W\n    r = r + 1\n    return out, r\n");
        assert!(one(&src).unwrap_err().contains("read after the loop"));
    }
}
