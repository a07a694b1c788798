//! Python GEMM/GEMV loops and comprehensions → one NumPy matrix product.
//!
//! - NumPy arrays: `C[:M, :N] += A[:M, :K] @ B[:K, :N]` (slices dropped
//!   where the loop covers the whole declared extent; `=` where the output
//!   is overwritten, into the array (`C[...] = ...`: its dtype and identity
//!   kept); `alpha * (...) + beta * C[...]` where scaled).
//! - Lists of lists: `np.matmul(np.asarray(A), np.asarray(B)).tolist()`,
//!   which keeps a list of Python numbers (floats stay floats, ints stay
//!   ints; `dtype=float` where the loop starts from `0.0`). A list freshly
//!   zero-allocated just before the nest is replaced together with it
//!   (`C = np.matmul(...).tolist()`); otherwise the rows are assigned in
//!   place (`C[i][:N] = row`, or `[c + p ...]` to accumulate), so that
//!   other references to `C` see the result as before.
//! - A comprehension that builds the product (`[[sum(a*b for a, b in
//!   zip(r, c)) for c in zip(*B)] for r in A]`) → `np.matmul(...).tolist()`.

use crate::contraction::{Nest, Shape};
use crate::fixes::{
    factor_text, indent_at, is_ndarray, offset_of, printable, prove, Applicability, Beta, Fix,
    FixResult, NoFix, Proven, Replacement,
};
use crate::ir::{Access, Expr, File, Function, Stmt, StmtKind};

/// The expression for one operand, sliced to what the loops read.
fn operand(
    f: &Function,
    a: &Access,
    dims: &[&str],
    p: &Proven,
    vars: &[String],
    as_array: bool,
    dtype_float: bool,
) -> Result<String, NoFix> {
    let name = &a.base;
    if name.starts_with("__") || !printable(&Expr::Var(name.clone()), true) {
        return Err(NoFix::new(format!("`{name}` is not a plain name")));
    }
    if a.idx.len() != dims.len() {
        return Err(NoFix::new(format!(
            "`{name}` is indexed with {} subscripts (flattened storage is not rewritten \
             in Python)",
            a.idx.len()
        )));
    }
    let info = f.vars.get(name);
    let ndarray = is_ndarray(f, name);
    // Which subscript holds which loop variable (a transposed read swaps them).
    let mut order: Vec<usize> = Vec::new();
    for e in &a.idx {
        let d = dims
            .iter()
            .position(|v| e.mentions(v))
            .ok_or_else(|| NoFix::new(format!("`{name}` is not indexed by the loops")))?;
        if order.contains(&d) {
            return Err(NoFix::new(format!("`{name}` is read on a diagonal")));
        }
        order.push(d);
    }
    let mut slices = Vec::new();
    for (pos, e) in a.idx.iter().enumerate() {
        let v = dims[order[pos]];
        let off = offset_of(e, v, vars)
            .ok_or_else(|| NoFix::new(format!("`{name}` is not indexed as [{v} + offset]")))?;
        let ext = &p.extent[v];
        if !printable(ext, true) || !printable(&off.to_expr(), true) {
            return Err(NoFix::new(format!("the bound `{ext}` cannot be printed")));
        }
        let whole = off.is_zero() && covers(info.map(|i| &i.shape[..]), name, pos, ext);
        slices.push(if whole {
            ":".to_string()
        } else if off.is_zero() {
            format!(":{ext}")
        } else {
            let o = off.to_expr();
            format!("{o}:{} + {ext}", factor_text(&o))
        });
    }
    let base = if as_array && !ndarray {
        if dtype_float {
            format!("np.asarray({name}, dtype=float)")
        } else {
            format!("np.asarray({name})")
        }
    } else {
        name.clone()
    };
    let mut s = if slices.iter().all(|s| s == ":") {
        base
    } else {
        format!("{base}[{}]", slices.join(", "))
    };
    if order.len() == 2 && order[0] == 1 {
        s = format!("{s}.T");
    }
    Ok(s)
}

/// True if the extent `ext` of subscript `pos` is the whole dimension:
/// `len(A)`, `len(A[0])`, `A.shape[d]`, or the declared shape.
pub(crate) fn covers(shape: Option<&[Expr]>, name: &str, pos: usize, ext: &Expr) -> bool {
    let t = ext.to_string();
    let lens = [format!("len({name})"), format!("len({name}[0])")];
    if pos < 2 && t == lens[pos] {
        return true;
    }
    if t == format!("{name}.shape[{pos}]") {
        return true;
    }
    shape.is_some_and(|s| s.len() > pos && s[pos] == *ext)
}

/// True when the file binds `np` to NumPy at the top level.
pub(crate) fn imports_np(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim_end();
        t == "import numpy as np" || t.starts_with("import numpy as np ")
    })
}

/// `import numpy as np` before the first top-level import (or after a
/// module docstring).
pub(crate) fn import_edit(text: &str) -> Replacement {
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if (t.starts_with("import ") || t.starts_with("from ")) && !line.starts_with([' ', '\t']) {
            return Replacement {
                start: off,
                end: off,
                new_text: "import numpy as np\n".into(),
            };
        }
        off += line.len();
    }
    // No import: after a module docstring, if there is one.
    let at = docstring_end(text).unwrap_or(0);
    Replacement {
        start: at,
        end: at,
        new_text: "import numpy as np\n".into(),
    }
}

/// The byte after the line that closes a leading module docstring.
fn docstring_end(text: &str) -> Option<usize> {
    let t = text.trim_start();
    let lead = text.len() - t.len();
    let q = ["\"\"\"", "'''"].into_iter().find(|q| t.starts_with(q))?;
    let close = lead + q.len() + t[q.len()..].find(q)? + q.len();
    Some(
        text[close..]
            .find('\n')
            .map_or(text.len(), |n| close + n + 1),
    )
}

pub(crate) fn scale_text(factors: &[Expr]) -> Result<String, NoFix> {
    for f in factors {
        if !printable(f, true) {
            return Err(NoFix::new(format!("the scaling `{f}` cannot be printed")));
        }
    }
    Ok(factors
        .iter()
        .map(factor_text)
        .collect::<Vec<_>>()
        .join(" * "))
}

/// The fix for a Python GEMM/GEMV loop nest or comprehension.
pub fn fix(_file: &File, text: &str, nest: &Nest<'_>) -> FixResult {
    let p = prove(nest)?;
    let f = nest.func;
    let vars: Vec<String> = [Some(p.m.clone()), p.n.clone(), Some(p.k.clone())]
        .into_iter()
        .flatten()
        .collect();
    let (out, a, b) = (&nest.out, &nest.operands[0], &nest.operands[1]);
    let comprehension = out.base.starts_with("__comp");
    let out_ndarray = is_ndarray(f, &out.base);
    let any_ndarray = [a, b].iter().any(|x| is_ndarray(f, &x.base));
    if !out_ndarray && !comprehension && any_ndarray {
        return Err(NoFix::new(
            "the output is a list but an operand is a NumPy array; the result's type \
             would change",
        ));
    }
    let float_zero = matches!(p.zero, Some(Expr::Float(_)));
    let lists = !out_ndarray;
    let fresh = if lists && !comprehension {
        fresh_zeros(f, text, nest, &p, nest.shape == Shape::Gemm)
    } else {
        None
    };
    // The result's element type: an overwrite takes the accumulator's
    // start (`0.0` → float), an accumulation into fresh zeros takes theirs.
    let float_result = match (&p.beta, fresh) {
        (Beta::Zero, _) => float_zero,
        (_, Some((_, zero_float))) => zero_float || float_zero,
        _ => false,
    };
    let dims_a: Vec<&str> = vec![&p.m, &p.k];
    let gemm = nest.shape == Shape::Gemm;
    let n_var = p.n.clone().unwrap_or_default();
    let a_s = operand(f, a, &dims_a, &p, &vars, lists, lists && float_result)?;
    let b_s = if gemm {
        operand(f, b, &[&p.k, &n_var], &p, &vars, lists, false)?
    } else {
        operand(f, b, &[&p.k], &p, &vars, lists, false)?
    };
    let product = if lists {
        format!("np.matmul({a_s}, {b_s})")
    } else {
        format!("{a_s} @ {b_s}")
    };
    let alpha = scale_text(&p.alpha)?;
    let plain = alpha.is_empty() && !p.negate;
    let scaled = match (alpha.is_empty(), p.negate) {
        (true, false) => product.clone(),
        (true, true) => format!("-({product})"),
        (false, false) => format!("{alpha} * ({product})"),
        (false, true) => format!("-{alpha} * ({product})"),
    };
    let need_import = !imports_np(text);
    let (indent, only_ws) = indent_at(text, p.outer.start_byte);
    let mut edits = Vec::new();
    if need_import {
        edits.push(import_edit(text));
    }
    let title;
    if comprehension {
        // The comprehension builds a fresh list: the whole expression goes.
        if p.beta != Beta::Zero {
            return Err(NoFix::new("the comprehension is not a plain product"));
        }
        let (start, end) = bracket_span(text, p.outer.start_byte, p.outer.end_byte)
            .ok_or_else(|| NoFix::new("the comprehension's brackets were not found"))?;
        edits.push(Replacement {
            start,
            end,
            new_text: tolist(&scaled, plain),
        });
        title = "Replace the comprehension with np.matmul(...).tolist()".to_string();
    } else {
        if !only_ws {
            return Err(NoFix::new("the nest does not start its own line"));
        }
        let c_dims: Vec<&str> = if gemm { vec![&p.m, &n_var] } else { vec![&p.m] };
        let c_s = operand(f, out, &c_dims, &p, &vars, false, false)?;
        if !lists {
            // Assign into the array, never rebind the name: `C = A @ B`
            // would drop C's dtype (a float32 C of float64 operands) and
            // leave the caller's array unwritten.
            let c_t = if c_s.contains('[') {
                c_s.clone()
            } else {
                format!("{c_s}[...]")
            };
            let stmt = match &p.beta {
                Beta::Zero => format!("{c_t} = {scaled}"),
                Beta::One if p.negate && alpha.is_empty() => format!("{c_s} -= {product}"),
                Beta::One => format!("{c_s} += {scaled}"),
                Beta::Scaled(fs) => {
                    format!("{c_t} = {scaled} + {} * {c_s}", scale_text(fs)?)
                }
            };
            edits.push(Replacement {
                start: p.outer.start_byte,
                end: p.outer.end_byte,
                new_text: stmt,
            });
            title = "Replace the loop nest with one `@` (NumPy matmul)".to_string();
        } else {
            let rows = tolist(&scaled, plain);
            // A fresh zero list right before the nest goes with it.
            if let Some((start, _)) = fresh {
                edits.push(Replacement {
                    start,
                    end: p.outer.end_byte,
                    new_text: format!("{} = {rows}", out.base),
                });
                title =
                    "Replace the list and the loop nest with np.matmul(...).tolist()".to_string();
            } else {
                let beta_f = match &p.beta {
                    Beta::Zero => None,
                    Beta::One => Some(String::new()),
                    Beta::Scaled(fs) => Some(format!("{} * ", scale_text(fs)?)),
                };
                let body = if gemm {
                    let (row_sl, col_sl) = list_slices(&out.idx, &p, &p.m, &n_var, &vars)?;
                    let target = format!("{}[{row_sl}][{col_sl}]", out.base);
                    let value = match beta_f {
                        None => "_gs_row".to_string(),
                        Some(bf) => format!(
                            "[{bf}_gs_c + _gs_p for _gs_c, _gs_p in zip({target}, _gs_row)]"
                        ),
                    };
                    format!(
                        "for _gs_i, _gs_row in enumerate({rows}):\n{indent}    {target} = {value}"
                    )
                } else {
                    let off = offset_of(&out.idx[0], &p.m, &vars)
                        .ok_or_else(|| NoFix::new("the output is not indexed as [i + offset]"))?;
                    let ext = p.extent[&p.m].to_string();
                    let sl = if off.is_zero() {
                        format!(":{ext}")
                    } else {
                        let o = off.to_expr();
                        format!("{o}:{} + {ext}", factor_text(&o))
                    };
                    let target = format!("{}[{sl}]", out.base);
                    match beta_f {
                        None => format!("{target} = {rows}"),
                        Some(bf) => format!(
                            "{target} = [{bf}_gs_c + _gs_p for _gs_c, _gs_p in zip({target}, {rows})]"
                        ),
                    }
                };
                edits.push(Replacement {
                    start: p.outer.start_byte,
                    end: p.outer.end_byte,
                    new_text: body,
                });
                title = "Replace the loop nest with np.matmul(...).tolist(), assigned in place"
                    .to_string();
            }
        }
    }
    edits.sort_by_key(|e| e.start);
    Ok(vec![Fix {
        title,
        edits,
        applicability: Applicability::Exact,
        assumes: vec![
            "the operands are rectangular (every row as long as the first)".into(),
            "results differ in the last bits (NumPy sums in a different order)".into(),
        ],
    }])
}

/// `x.tolist()`, parenthesised unless `x` is a plain call.
pub(crate) fn tolist(x: &str, plain: bool) -> String {
    if plain {
        format!("{x}.tolist()")
    } else {
        format!("({x}).tolist()")
    }
}

/// `(row index, column slice)` of a list output `C[i + r][j + c]`.
fn list_slices(
    idx: &[Expr],
    p: &Proven,
    m: &str,
    n: &str,
    vars: &[String],
) -> Result<(String, String), NoFix> {
    if idx.len() != 2 || !idx[0].mentions(m) {
        return Err(NoFix::new("the output is not indexed as C[i][j]"));
    }
    let r = offset_of(&idx[0], m, vars).ok_or_else(|| NoFix::new("C's row is not i + offset"))?;
    let c =
        offset_of(&idx[1], n, vars).ok_or_else(|| NoFix::new("C's column is not j + offset"))?;
    let row = if r.is_zero() {
        "_gs_i".to_string()
    } else {
        format!("{} + _gs_i", factor_text(&r.to_expr()))
    };
    let ext = p.extent[n].to_string();
    let col = if c.is_zero() {
        format!(":{ext}")
    } else {
        let o = c.to_expr();
        format!("{o}:{} + {ext}", factor_text(&o))
    };
    Ok((row, col))
}

/// The statement right before the nest, if it is `C = [[0.0] * N for _ in
/// range(M)]` (or `[0.0] * M` for a vector) with exactly the loops'
/// extents: its start byte and whether the zero is a float.
fn fresh_zeros(
    f: &Function,
    text: &str,
    nest: &Nest<'_>,
    p: &Proven,
    gemm: bool,
) -> Option<(usize, bool)> {
    if !nest.out.idx.iter().all(|e| matches!(e, Expr::Var(_))) {
        return None;
    }
    let prev = prev_stmt(&f.body, p.outer.start_byte)?;
    let StmtKind::Assign {
        target: Expr::Var(v),
        op: crate::ir::AssignOp::Set,
        ..
    } = &prev.kind
    else {
        return None;
    };
    if *v != nest.out.base {
        return None;
    }
    // The text between the two statements must be blank.
    if !text[prev.span.end_byte..p.outer.start_byte]
        .trim()
        .is_empty()
    {
        return None;
    }
    let src: String = text[prev.span.start_byte..prev.span.end_byte]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let m = p.extent[&p.m].to_string().replace(' ', "");
    for (z, is_float) in [("0.0", true), ("0.", true), ("0", false)] {
        let forms: Vec<String> = if gemm {
            let n = p.extent[p.n.as_ref()?].to_string().replace(' ', "");
            vec![
                format!("{v}=[[{z}]*{n}for_inrange({m})]"),
                format!("{v}=[[{z}for_inrange({n})]for_inrange({m})]"),
            ]
        } else {
            vec![
                format!("{v}=[{z}]*{m}"),
                format!("{v}=[{z}for_inrange({m})]"),
            ]
        };
        if forms.contains(&src) {
            return Some((prev.span.start_byte, is_float));
        }
    }
    None
}

/// The statement (at any depth) that ends last before `at`, among the
/// siblings of the statement starting at `at`.
pub(crate) fn prev_stmt(body: &[Stmt], at: usize) -> Option<&Stmt> {
    for (n, s) in body.iter().enumerate() {
        if s.span.start_byte == at {
            return n.checked_sub(1).map(|p| &body[p]);
        }
        if s.span.start_byte < at && at < s.span.end_byte {
            for c in children_lists(s) {
                if let Some(r) = prev_stmt(c, at) {
                    return Some(r);
                }
            }
        }
    }
    None
}

fn children_lists(s: &Stmt) -> Vec<&[Stmt]> {
    match &s.kind {
        StmtKind::Loop(l) => vec![&l.body],
        StmtKind::If { then, els, .. } => vec![then, els],
        StmtKind::Opaque(b) => vec![b],
        _ => vec![],
    }
}

/// The outermost `[ ... ]` inside `start..end` that closes at the
/// statement's end: the comprehension.
fn bracket_span(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let s = &text[start..end];
    let open = s.find('[')?;
    let mut depth = 0i32;
    for (i, c) in s[open..].char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    let close = start + open + i + 1;
                    // The comprehension must be what the statement ends with.
                    if text[close..end].trim().is_empty() {
                        return Some((start + open, close));
                    }
                    return None;
                }
            }
            _ => {}
        }
    }
    None
}
