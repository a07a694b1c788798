//! C/C++ GEMM and GEMV loop nests → one `cblas_sgemm`/`cblas_dgemm` or
//! `cblas_sgemv`/`cblas_dgemv` call, plus `#include <cblas.h>` once.
//!
//! The order (`CblasRowMajor`/`CblasColMajor`) follows the output's
//! layout; an operand stored the other way round is passed transposed.
//! Each operand is passed as the address of its first element used
//! (`&A[0][0]`, `&A[off]`: sub-matrices keep their offset) with its leading
//! dimension: the declared row length of a 2-D array (`float A[M][K]`,
//! `float A[][K]`, `float (*A)[K]`, a VLA), or the stride of a flattened
//! access (`A[i*lda + k]`, `A[IDX(i, k, lda)]`, `*(A + i*lda + k)`).

use std::collections::HashMap;

use crate::contraction::{Nest, Shape};
use crate::fixes::{
    factor_text, indent_at, offset_of, printable, prove, Applicability, Beta, Fix, FixResult,
    NoFix, Proven, Replacement,
};
use crate::ir::{Access, ElemType, Expr, File, Function, Poly, VarInfo};

/// A BLAS matrix operand: pointer expression, leading dimension, and
/// whether it is stored column-major relative to its logical (row, col).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Operand {
    pub(crate) ptr: String,
    pub(crate) ld: String,
    pub(crate) col_major: bool,
}

/// `CblasTrans` where operand `o` is stored in the other order than the
/// output `c`.
pub(crate) fn trans(o: &Operand, c: &Operand) -> &'static str {
    if o.col_major != c.col_major {
        "CblasTrans"
    } else {
        "CblasNoTrans"
    }
}

/// `CblasRowMajor` or `CblasColMajor`: the output's order.
pub(crate) fn order(c: &Operand) -> &'static str {
    if c.col_major {
        "CblasColMajor"
    } else {
        "CblasRowMajor"
    }
}

/// Maps the access `a`, read at logical (`row`, `col`), onto a BLAS
/// matrix operand; `extent` holds each loop variable's extent (for the
/// `ld >= row length` check where both are known).
pub(crate) fn matrix(
    f: &Function,
    file: &File,
    a: &Access,
    row: &str,
    col: &str,
    extent: &HashMap<String, Expr>,
    vars: &[String],
) -> Result<Operand, NoFix> {
    let info = f.vars.get(&a.base);
    let name = &a.base;
    if !printable(&Expr::Var(name.clone()), false) {
        return Err(NoFix::new(format!(
            "`{name}` is not a plain array name (a member or expression)"
        )));
    }
    let check_ld = |ld: &Poly, contiguous: &str| -> Result<(), NoFix> {
        if ld.symbols().iter().any(|s| vars.contains(s)) {
            return Err(NoFix::new(format!("`{name}`'s stride changes in the nest")));
        }
        // Where both are known, BLAS needs ld >= the contiguous extent.
        let env = |n: &str| file.const_value(n);
        if let (Some(l), Some(e)) = (ld.eval(&env), extent[contiguous].eval(&env)) {
            if l < e.max(1) {
                return Err(NoFix::new(format!(
                    "`{name}`'s rows overlap (stride {l} < {e} elements); BLAS needs \
                     ld >= the row length"
                )));
            }
        }
        Ok(())
    };
    match a.idx.len() {
        2 => {
            let shape = info.map(|v| v.shape.clone()).unwrap_or_default();
            if shape.len() != 2 {
                return Err(NoFix::new(format!(
                    "`{name}`'s rows are separate allocations (`T**`, an array of \
                     pointers or a vector of vectors); BLAS needs one contiguous block \
                     with a leading dimension"
                )));
            }
            let (first, second, col_major) = if a.idx[0].mentions(row) {
                (row, col, false)
            } else {
                (col, row, true)
            };
            let o0 = offset_of(&a.idx[0], first, vars);
            let o1 = offset_of(&a.idx[1], second, vars);
            let (Some(o0), Some(o1)) = (o0, o1) else {
                return Err(NoFix::new(format!(
                    "`{name}` is not indexed as [{first} + offset][{second} + offset]"
                )));
            };
            let ld = Poly::from_expr(&shape[1]).ok_or_else(|| {
                NoFix::new(format!(
                    "`{name}`'s row length `{}` is not an integer",
                    shape[1]
                ))
            })?;
            check_ld(&ld, second)?;
            let ld_e = &shape[1];
            if !printable(ld_e, false) {
                return Err(NoFix::new(format!(
                    "`{name}`'s row length cannot be printed"
                )));
            }
            Ok(Operand {
                ptr: format!("&{name}[{}][{}]", o0.to_expr(), o1.to_expr()),
                ld: ld_e.to_string(),
                col_major,
            })
        }
        1 => {
            let p_idx = Poly::from_expr(&a.idx[0])
                .ok_or_else(|| NoFix::new(format!("`{name}`'s index is not affine")))?;
            let (cr, cc) = match (p_idx.coeff(row), p_idx.coeff(col)) {
                (Some(r), Some(c)) => (r, c),
                _ => return Err(NoFix::new(format!("`{name}`'s index is not affine"))),
            };
            let one = Poly::constant(1);
            let off = p_idx
                .sub(&cr.mul(&Poly::symbol(row)))
                .sub(&cc.mul(&Poly::symbol(col)));
            if off.symbols().iter().any(|s| vars.contains(s))
                || cr.symbols().iter().any(|s| vars.contains(s))
                || cc.symbols().iter().any(|s| vars.contains(s))
            {
                return Err(NoFix::new(format!(
                    "`{name}`'s index is not affine in the loops"
                )));
            }
            let (ld, col_major, contiguous) = if cc == one && cr != one {
                (cr, false, col)
            } else if cr == one && cc != one {
                (cc, true, row)
            } else {
                return Err(NoFix::new(format!(
                    "`{name}` has no unit-stride dimension (strides {cr} and {cc})"
                )));
            };
            if ld.is_zero() {
                return Err(NoFix::new(format!("`{name}` is read as a vector")));
            }
            check_ld(&ld, contiguous)?;
            let (ld_e, off_e) = (ld.to_expr(), off.to_expr());
            if !printable(&ld_e, false) || !printable(&off_e, false) {
                return Err(NoFix::new(format!("`{name}`'s stride cannot be printed")));
            }
            Ok(Operand {
                ptr: element_address(info, name, &off_e.to_string())?,
                ld: ld_e.to_string(),
                col_major,
            })
        }
        _ => Err(NoFix::new(format!(
            "`{name}` has {} subscripts; only 2-D and flattened operands are rewritten",
            a.idx.len()
        ))),
    }
}

/// A vector operand `x[k*inc + off]`: (pointer, increment).
fn vector(f: &Function, a: &Access, var: &str, vars: &[String]) -> Result<(String, String), NoFix> {
    let name = &a.base;
    if a.idx.len() != 1 || !printable(&Expr::Var(name.clone()), false) {
        return Err(NoFix::new(format!("`{name}` is not a plain 1-D vector")));
    }
    let p = Poly::from_expr(&a.idx[0])
        .ok_or_else(|| NoFix::new(format!("`{name}`'s index is not affine")))?;
    let inc = p
        .coeff(var)
        .and_then(|c| c.as_const())
        .filter(|c| *c > 0)
        .ok_or_else(|| {
            NoFix::new(format!(
                "`{name}` is not read with a constant positive stride"
            ))
        })?;
    let off = p.sub(&Poly::symbol(var).scale(inc));
    if off.symbols().iter().any(|s| vars.contains(s)) || !printable(&off.to_expr(), false) {
        return Err(NoFix::new(format!(
            "`{name}`'s index is not affine in the loops"
        )));
    }
    let ptr = element_address(f.vars.get(name), name, &off.to_expr().to_string())?;
    Ok((ptr, inc.to_string()))
}

/// The address of element `off` of the 1-D storage `name`: `&name[off]` for
/// built-in arrays and pointers, `name.data() + off` for contiguous C++
/// containers (valid even when the container is empty, unlike `&v[0]`),
/// `name.get() + off` for smart pointers; refused for storage BLAS cannot
/// read (a `deque` is not contiguous, a `device_vector` is GPU memory).
fn element_address(info: Option<&VarInfo>, name: &str, off: &str) -> Result<String, NoFix> {
    let plus = |base: String| {
        if off == "0" {
            base
        } else {
            format!("{base} + {off}")
        }
    };
    match info.and_then(|v| v.container.as_deref()) {
        None | Some("valarray") => Ok(format!("&{name}[{off}]")),
        Some("vector" | "array" | "span" | "host_vector") => Ok(plus(format!("{name}.data()"))),
        Some("unique_ptr" | "shared_ptr") => Ok(plus(format!("{name}.get()"))),
        Some("device_vector") => Err(NoFix::new(format!(
            "`{name}` is a device_vector (GPU memory); a host BLAS call cannot read it"
        ))),
        Some(other) => Err(NoFix::new(format!(
            "`{name}` is a std::{other}, whose elements are not one contiguous block"
        ))),
    }
}

/// The element type the routine letter stands for.
pub(crate) fn routine_letter(f: &Function, names: &[&str]) -> Result<(char, &'static str), NoFix> {
    let mut ty: Option<ElemType> = None;
    for n in names {
        let t = f.vars.get(*n).and_then(|v| v.elem.clone());
        match (&ty, t) {
            (_, None) => {
                return Err(NoFix::new(format!(
                    "`{n}`'s element type is not known (a template parameter or an \
                     unresolved type)"
                )))
            }
            (None, Some(t)) => ty = Some(t),
            (Some(a), Some(b)) if *a == b => {}
            (Some(a), Some(b)) => {
                return Err(NoFix::new(format!(
                    "the operands mix element types ({} and {}); BLAS takes one",
                    a.short(),
                    b.short()
                )))
            }
        }
    }
    match ty {
        Some(ElemType::F32) => Ok(('s', "f")),
        Some(ElemType::F64) => Ok(('d', "")),
        Some(t) => Err(NoFix::new(format!(
            "element type {} has no cblas routine (float → s, double → d)",
            t.short()
        ))),
        None => Err(NoFix::new("no operands")),
    }
}

pub(crate) fn scalar(factors: &[Expr], negate: bool, suffix: &str) -> Result<String, NoFix> {
    for f in factors {
        if !printable(f, false) {
            return Err(NoFix::new(format!(
                "the scaling `{f}` cannot be printed as C"
            )));
        }
    }
    let core = if factors.is_empty() {
        format!("1.0{suffix}")
    } else {
        factors
            .iter()
            .map(factor_text)
            .collect::<Vec<_>>()
            .join(" * ")
    };
    Ok(if negate {
        if factors.is_empty() {
            format!("-1.0{suffix}")
        } else if factors.len() == 1 && !core.starts_with(['(', '-']) {
            format!("-{core}")
        } else {
            format!("-({core})")
        }
    } else {
        core
    })
}

/// `#include <cblas.h>` after the last `#include` line (or at the top).
pub(crate) fn include_edit(file: &File, text: &str, header: &str) -> Option<Replacement> {
    if file.imports.iter().any(|i| i == header) {
        return None;
    }
    let mut at = 0;
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        off += line.len();
        let t = line.trim_start();
        if t.starts_with("#include") || t.starts_with("# include") {
            at = off;
        }
    }
    let mut new_text = format!("#include <{header}>\n");
    if at > 0 && !text[..at].ends_with('\n') {
        new_text.insert(0, '\n');
    }
    Some(Replacement {
        start: at,
        end: at,
        new_text,
    })
}

pub(crate) fn extent_text(p: &Proven, v: &str) -> Result<String, NoFix> {
    let e = &p.extent[v];
    if !printable(e, false) {
        return Err(NoFix::new(format!(
            "the bound `{e}` cannot be printed as C"
        )));
    }
    Ok(e.to_string())
}

/// The fix for a GEMM or GEMV nest in C/C++ host code.
pub fn fix(file: &File, text: &str, nest: &Nest<'_>) -> FixResult {
    let p = prove(nest)?;
    let f = nest.func;
    let vars: Vec<String> = [Some(p.m.clone()), p.n.clone(), Some(p.k.clone())]
        .into_iter()
        .flatten()
        .collect();
    let (out, a, b) = (&nest.out, &nest.operands[0], &nest.operands[1]);
    let (letter, suffix) = routine_letter(f, &[&out.base, &a.base, &b.base])?;
    let alpha = scalar(&p.alpha, p.negate, suffix)?;
    let beta = match &p.beta {
        Beta::Zero => format!("0.0{suffix}"),
        Beta::One => format!("1.0{suffix}"),
        Beta::Scaled(fs) => scalar(fs, false, suffix)?,
    };
    let m = extent_text(&p, &p.m)?;
    let k = extent_text(&p, &p.k)?;
    let (call, title) = if nest.shape == Shape::Gemm {
        let n_var = p.n.clone().unwrap_or_default();
        let n = extent_text(&p, &n_var)?;
        let c = matrix(f, file, out, &p.m, &n_var, &p.extent, &vars)?;
        let am = matrix(f, file, a, &p.m, &p.k, &p.extent, &vars)?;
        let bm = matrix(f, file, b, &p.k, &n_var, &p.extent, &vars)?;
        let order = order(&c);
        let tr = |o: &Operand| trans(o, &c);
        (
            format!(
                "cblas_{letter}gemm({order}, {}, {}, {m}, {n}, {k}, {alpha}, {}, {}, {}, {}, \
                 {beta}, {}, {});",
                tr(&am),
                tr(&bm),
                am.ptr,
                am.ld,
                bm.ptr,
                bm.ld,
                c.ptr,
                c.ld
            ),
            format!("Replace the loop nest with cblas_{letter}gemm"),
        )
    } else {
        let am = matrix(f, file, a, &p.m, &p.k, &p.extent, &vars)?;
        let (x, incx) = vector(f, b, &p.k, &vars)?;
        let (y, incy) = vector(f, out, &p.m, &vars)?;
        // Row-major A (M×K) is NoTrans; column-major is the transpose of a
        // row-major K×M matrix.
        let (rows, cols, trans) = if am.col_major {
            (&k, &m, "CblasTrans")
        } else {
            (&m, &k, "CblasNoTrans")
        };
        (
            format!(
                "cblas_{letter}gemv(CblasRowMajor, {trans}, {rows}, {cols}, {alpha}, {}, {}, \
                 {x}, {incx}, {beta}, {y}, {incy});",
                am.ptr, am.ld
            ),
            format!("Replace the loop nest with cblas_{letter}gemv"),
        )
    };
    let (_, only_ws) = indent_at(text, p.outer.start_byte);
    if !only_ws {
        return Err(NoFix::new("the nest does not start its own line"));
    }
    let mut edits = Vec::new();
    if let Some(inc) = include_edit(file, text, "cblas.h") {
        edits.push(inc);
    }
    edits.push(Replacement {
        start: p.outer.start_byte,
        end: p.outer.end_byte,
        new_text: call,
    });
    let mut names = vec![out.base.clone(), a.base.clone(), b.base.clone()];
    names.dedup();
    Ok(vec![Fix {
        title,
        edits,
        applicability: Applicability::Exact,
        assumes: vec![
            format!(
                "`{}` does not overlap `{}` or `{}` (BLAS reads the inputs while writing the output)",
                names[0], a.base, b.base
            ),
            "link with a CBLAS (-lopenblas); results differ in the last bits (summation order)"
                .into(),
        ],
    }])
}
