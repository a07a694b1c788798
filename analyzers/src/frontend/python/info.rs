//! `VarInfo` inference from right-hand sides (BRIEF convention 6): NumPy and
//! PyTorch constructors, `dtype=`, `.astype`, `.to`, list literals and list
//! comprehensions, products and transposes of known arrays, annotations.

use tree_sitter::Node;

use super::{named, Bind, Ctx, Lowerer, MAX_DEPTH};
use crate::ir::{BinOp, ElemType, Expr, VarInfo};

/// A NumPy/PyTorch dtype spelling (`np.float32`, `"float32"`, `torch.half`,
/// `float`) as an element type. Bare `float` is Python's double (NumPy
/// float64), `torch.float` is float32.
pub(super) fn py_dtype(text: &str) -> Option<ElemType> {
    let t = text.trim().trim_matches(|c| c == '"' || c == '\'');
    let torch = t.starts_with("torch.");
    let last = t.rsplit('.').next().unwrap_or(t);
    Some(match last {
        "float" => {
            if torch {
                ElemType::F32
            } else {
                ElemType::F64
            }
        }
        "int" => {
            if torch {
                ElemType::I32
            } else {
                ElemType::I64
            }
        }
        "float_" | "longdouble" => ElemType::F64,
        "half" => ElemType::F16,
        "long" | "longlong" | "int_" | "intp" => ElemType::I64,
        "intc" => ElemType::I32,
        "short" => ElemType::I16,
        "uint8" | "bool" | "bool_" | "complex64" | "complex128" | "cfloat" => return None,
        other => ElemType::from_name(other)?,
    })
}

/// The VarInfo of a parameter from its type annotation.
pub(super) fn annotation_info(t: &str) -> VarInfo {
    let mut vi = VarInfo::default();
    let lower = t.to_ascii_lowercase();
    let elem = t
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .filter(|w| !w.is_empty())
        .find_map(|w| match w.rsplit('.').next().unwrap_or(w) {
            "float" => None,
            _ => py_dtype(w),
        });
    if t.contains("ndarray")
        || t.contains("NDArray")
        || t.contains("Tensor")
        || t.contains("ArrayLike")
    {
        vi.is_array = true;
        vi.ndarray = true;
        vi.elem = elem;
    } else if lower.starts_with("list[") || lower.starts_with("sequence[") {
        vi.is_array = true;
        vi.rank = lower.matches("list[").count() + lower.matches("sequence[").count();
        vi.elem = if lower.contains("float") {
            Some(ElemType::PyFloat)
        } else if lower.contains("int") {
            Some(ElemType::I64)
        } else {
            None
        };
    }
    vi
}

fn array(shape: Vec<Expr>, elem: Option<ElemType>, ndarray: bool) -> VarInfo {
    VarInfo {
        elem,
        rank: shape.len(),
        shape,
        is_array: true,
        shared: false,
        ndarray,
        container: None,
        vector_lanes: None,
    }
}

fn scalar(elem: ElemType) -> VarInfo {
    VarInfo {
        elem: Some(elem),
        ..Default::default()
    }
}

fn transposed(mut vi: VarInfo) -> VarInfo {
    let n = vi.shape.len();
    if n >= 2 {
        vi.shape.swap(n - 2, n - 1);
    }
    vi
}

fn matmul(a: Option<VarInfo>, b: Option<VarInfo>) -> Option<VarInfo> {
    if a.is_none() && b.is_none() {
        return None;
    }
    let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
    let shape = if a.shape.len() >= 2 && b.shape.len() >= 2 {
        let mut s = a.shape[..a.shape.len() - 1].to_vec();
        s.push(b.shape[b.shape.len() - 1].clone());
        s
    } else if a.shape.len() >= 2 && b.shape.len() == 1 {
        a.shape[..a.shape.len() - 1].to_vec()
    } else if a.shape.len() == 1 && b.shape.len() >= 2 {
        let mut s = b.shape[..b.shape.len() - 2].to_vec();
        s.push(b.shape[b.shape.len() - 1].clone());
        s
    } else {
        Vec::new()
    };
    let rank = if shape.is_empty() {
        a.rank.max(b.rank)
    } else {
        shape.len()
    };
    Some(VarInfo {
        elem: a.elem.or(b.elem),
        rank,
        shape,
        is_array: true,
        shared: false,
        ndarray: true,
        container: None,
        vector_lanes: None,
    })
}

impl<'a> Lowerer<'a> {
    /// What the value of `n` is, when it is an array (or a typed scalar).
    pub(super) fn infer(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Option<VarInfo> {
        if cx.depth >= MAX_DEPTH {
            return None;
        }
        cx.depth += 1;
        let r = self.infer_inner(cx, n);
        cx.depth -= 1;
        r
    }

    fn infer_inner(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Option<VarInfo> {
        match n.kind() {
            "parenthesized_expression" => {
                let k = named(n);
                (k.len() == 1).then(|| self.infer(cx, k[0])).flatten()
            }
            "identifier" => {
                let name = self.text(n);
                if cx.bind(name).is_some() {
                    return None;
                }
                self.lookup(cx, name).cloned()
            }
            "attribute" => {
                let obj = n.child_by_field_name("object")?;
                let attr = self.text(n.child_by_field_name("attribute")?);
                if attr == "T" || attr == "mT" {
                    return self.infer(cx, obj).map(transposed);
                }
                let d = self.dotted(n)?;
                self.lookup(cx, &d).cloned()
            }
            "float" => Some(scalar(ElemType::PyFloat)),
            "integer" => Some(scalar(ElemType::I64)),
            "unary_operator" => {
                let a = self.infer(cx, n.child_by_field_name("argument")?)?;
                (!a.is_array).then_some(a)
            }
            "binary_operator" => {
                let op = self.text(n.child_by_field_name("operator")?);
                let (l, r) = (
                    n.child_by_field_name("left")?,
                    n.child_by_field_name("right")?,
                );
                if op == "@" {
                    let (a, b) = (self.infer(cx, l), self.infer(cx, r));
                    return matmul(a, b);
                }
                // `[0.0] * N`, `N * [0.0]`
                if op == "*" && (l.kind() == "list" || r.kind() == "list") {
                    let (list, count) = if l.kind() == "list" { (l, r) } else { (r, l) };
                    let mut vi = self.infer(cx, list)?;
                    let count = self.expr(cx, count);
                    if let Some(first) = vi.shape.first_mut() {
                        let new = match &*first {
                            Expr::Int(1) => count,
                            f => Expr::bin(BinOp::Mul, f.clone(), count),
                        };
                        *first = new;
                    }
                    return Some(vi);
                }
                let (a, b) = (self.infer(cx, l), self.infer(cx, r));
                match (a, b) {
                    (Some(a), _) if a.is_array => Some(a),
                    (_, Some(b)) if b.is_array => Some(b),
                    (Some(a), Some(b))
                        if a.elem == Some(ElemType::PyFloat)
                            || b.elem == Some(ElemType::PyFloat) =>
                    {
                        Some(scalar(ElemType::PyFloat))
                    }
                    _ => None,
                }
            }
            "list" => {
                let items = named(n);
                let first = items.first().copied();
                let inner = match first {
                    Some(f) => self.infer(cx, f),
                    None => None,
                };
                let mut shape = vec![Expr::Int(items.len() as i64)];
                let mut elem = None;
                if let Some(inner) = inner {
                    if inner.is_array && !inner.ndarray {
                        shape.extend(inner.shape);
                    }
                    elem = inner.elem;
                }
                Some(array(shape, elem, false))
            }
            "list_comprehension" => self.infer_comp(cx, n),
            "call" => self.infer_call(cx, n),
            _ => None,
        }
    }

    /// `[[0.0] * N for _ in range(M)]` → list `[M, N]` of PyFloat.
    fn infer_comp(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Option<VarInfo> {
        let mut extent: Option<Expr> = None;
        let nb = cx.binds.len();
        for c in named(n) {
            if c.kind() != "for_in_clause" {
                continue;
            }
            let (Some(l), Some(r)) = (
                c.child_by_field_name("left"),
                c.child_by_field_name("right"),
            ) else {
                continue;
            };
            let e = match self.iterable(cx, r) {
                Some(it) => self.iter_len(cx, &it),
                None => Expr::Other(format!("len({})", self.text(r))),
            };
            for name in self.pattern_names(l) {
                cx.binds.push((name, Bind::Shadow));
            }
            extent = Some(match extent {
                None => e,
                Some(x) => Expr::bin(BinOp::Mul, x, e),
            });
        }
        let body = n.child_by_field_name("body");
        let inner = body.and_then(|b| self.infer(cx, b));
        cx.binds.truncate(nb);
        let mut shape = vec![extent?];
        let mut elem = None;
        if let Some(inner) = inner {
            if inner.is_array && !inner.ndarray {
                shape.extend(inner.shape);
            }
            elem = inner.elem;
        } else if let Some(b) = body {
            // `random.random()`, `random.uniform(...)`, `float(x)`
            if b.kind() == "call" {
                let f = b
                    .child_by_field_name("function")
                    .and_then(|f| self.dotted(f));
                if let Some(f) = f {
                    let r = self.resolve(&f);
                    if r == "float"
                        || matches!(
                            r.as_str(),
                            "random.random"
                                | "random.uniform"
                                | "random.gauss"
                                | "random.normalvariate"
                        )
                    {
                        elem = Some(ElemType::PyFloat);
                    }
                }
            }
        }
        Some(array(shape, elem, false))
    }

    fn infer_call(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Option<VarInfo> {
        let f = n.child_by_field_name("function")?;
        let args = n.child_by_field_name("arguments")?;
        if args.kind() != "argument_list" {
            return None;
        }
        let all = named(args);
        let pos: Vec<Node<'a>> = all
            .iter()
            .copied()
            .filter(|c| c.kind() != "keyword_argument")
            .collect();
        let kw = |name: &str| -> Option<Node<'a>> {
            all.iter()
                .find(|c| {
                    c.kind() == "keyword_argument"
                        && c.child_by_field_name("name").map(|k| self.text(k)) == Some(name)
                })
                .and_then(|c| c.child_by_field_name("value"))
        };
        let dtype = kw("dtype").and_then(|d| py_dtype(self.text(d)));
        let dotted = self.dotted(f);
        if let Some(d) = dotted.as_deref() {
            let head = d.split('.').next().unwrap_or(d);
            let is_fn = if d.contains('.') {
                self.is_module(cx, head)
            } else {
                !cx.is_local(d)
            };
            if is_fn {
                let resolved = self.resolve(d);
                match resolved.as_str() {
                    "float" => return Some(scalar(ElemType::PyFloat)),
                    "list" | "copy.deepcopy" | "copy.copy" => {
                        return pos.first().and_then(|p| self.infer(cx, *p));
                    }
                    _ => {}
                }
                return self.creator(cx, &resolved, &pos, &kw, dtype);
            }
        }
        // Methods.
        if f.kind() != "attribute" {
            return None;
        }
        let obj = f.child_by_field_name("object")?;
        let attr = self.text(f.child_by_field_name("attribute")?);
        let recv = self.infer(cx, obj);
        let with_elem = |e: Option<ElemType>| -> Option<VarInfo> {
            let mut vi = recv
                .clone()
                .unwrap_or_else(|| array(Vec::new(), None, true));
            vi.is_array = true;
            vi.ndarray = true;
            if e.is_some() {
                vi.elem = e;
            }
            Some(vi)
        };
        match attr {
            "astype" => with_elem(pos.first().and_then(|p| py_dtype(self.text(*p))).or(dtype)),
            "to" => {
                let e = pos.iter().find_map(|p| py_dtype(self.text(*p))).or(dtype);
                if recv.is_none() && e.is_none() {
                    return None;
                }
                with_elem(e)
            }
            "half" => with_elem(Some(ElemType::F16)),
            "float" => with_elem(Some(ElemType::F32)),
            "double" => with_elem(Some(ElemType::F64)),
            "bfloat16" => with_elem(Some(ElemType::Bf16)),
            "cuda" | "cpu" | "contiguous" | "clone" | "copy" | "detach" | "numpy"
            | "requires_grad_" | "pin_memory" | "tolist" => {
                let mut vi = recv?;
                if attr == "tolist" {
                    vi.ndarray = false;
                    if matches!(vi.elem, Some(ElemType::F32 | ElemType::F64)) {
                        vi.elem = Some(ElemType::PyFloat);
                    }
                }
                Some(vi)
            }
            "reshape" | "view" => {
                let mut vi = recv.unwrap_or_else(|| array(Vec::new(), None, true));
                let shape = self.shape_args(cx, &pos);
                vi.rank = shape.len();
                vi.shape = shape;
                Some(vi)
            }
            "t" => recv.map(transposed),
            // `x.transpose(1, 2)` swaps those two axes (negative from the
            // end); without two integer axes, the last two.
            "transpose" | "swapaxes" => {
                let axis = |n: &Node<'a>| self.text(*n).trim().parse::<i64>().ok();
                match (pos.first().and_then(axis), pos.get(1).and_then(axis), recv) {
                    (Some(a), Some(b), Some(mut vi)) if pos.len() == 2 => {
                        let n = vi.shape.len() as i64;
                        let at = |x: i64| if x < 0 { x + n } else { x };
                        let (a, b) = (at(a), at(b));
                        if (0..n).contains(&a) && (0..n).contains(&b) {
                            vi.shape.swap(a as usize, b as usize);
                            Some(vi)
                        } else {
                            Some(transposed(vi))
                        }
                    }
                    (_, _, recv) => recv.map(transposed),
                }
            }
            "dot" | "matmul" | "mm" | "bmm" if pos.len() == 1 => {
                let b = self.infer(cx, pos[0]);
                matmul(recv, b)
            }
            // NumPy Generator methods (`rng.random((M, K))`).
            "random" | "standard_normal" | "normal" | "uniform" | "integers" if recv.is_none() => {
                self.creator(cx, &format!("numpy.random.{attr}"), &pos, &kw, dtype)
            }
            _ => None,
        }
    }

    /// Extents from shape arguments: `(M, K)`, `[M, K]`, or `M, K`.
    fn shape_args(&self, cx: &mut Ctx<'a>, args: &[Node<'a>]) -> Vec<Expr> {
        if args.len() == 1 {
            let a = super::stmt::strip_parens(args[0]);
            if matches!(a.kind(), "tuple" | "list") {
                return named(a).into_iter().map(|x| self.expr(cx, x)).collect();
            }
        }
        args.iter()
            .filter(|a| !a.kind().contains("splat"))
            .map(|a| self.expr(cx, *a))
            .collect()
    }

    /// NumPy/PyTorch array constructors and array functions.
    fn creator(
        &self,
        cx: &mut Ctx<'a>,
        resolved: &str,
        pos: &[Node<'a>],
        kw: &dyn Fn(&str) -> Option<Node<'a>>,
        dtype: Option<ElemType>,
    ) -> Option<VarInfo> {
        let torch = resolved.starts_with("torch.");
        let numpy = ["numpy.", "cupy.", "jax.numpy."]
            .iter()
            .any(|p| resolved.starts_with(p));
        if !torch && !numpy {
            return None;
        }
        let default = if torch { ElemType::F32 } else { ElemType::F64 };
        let last = resolved.rsplit('.').next().unwrap_or(resolved);
        let size_kw = |cx: &mut Ctx<'a>| -> Option<Vec<Expr>> {
            kw("size")
                .or_else(|| kw("shape"))
                .map(|s| self.shape_args(cx, &[s]))
        };
        let (shape, elem) = match last {
            "zeros" | "ones" | "empty" | "full" => {
                let shape = if let Some(s) = size_kw(cx) {
                    s
                } else if torch && last != "full" {
                    self.shape_args(cx, pos)
                } else {
                    self.shape_args(cx, &pos[..pos.len().min(1)])
                };
                let pos_dtype = if numpy && last != "full" {
                    pos.get(1).and_then(|d| py_dtype(self.text(*d)))
                } else if numpy {
                    pos.get(2).and_then(|d| py_dtype(self.text(*d)))
                } else {
                    None
                };
                (shape, dtype.or(pos_dtype).unwrap_or(default))
            }
            "rand" | "randn" => {
                let shape = size_kw(cx).unwrap_or_else(|| self.shape_args(cx, pos));
                (shape, dtype.unwrap_or(default))
            }
            "random" | "random_sample" | "sample" | "ranf" | "standard_normal" => {
                let shape =
                    size_kw(cx).unwrap_or_else(|| self.shape_args(cx, &pos[..pos.len().min(1)]));
                (shape, dtype.unwrap_or(default))
            }
            "uniform" | "normal" => {
                let shape = size_kw(cx)
                    .or_else(|| pos.get(2).map(|p| self.shape_args(cx, &[*p])))
                    .unwrap_or_default();
                (shape, dtype.unwrap_or(default))
            }
            "randint" | "integers" => {
                let shape = size_kw(cx)
                    .or_else(|| {
                        pos.iter()
                            .find(|p| {
                                matches!(super::stmt::strip_parens(**p).kind(), "tuple" | "list")
                            })
                            .map(|p| self.shape_args(cx, &[*p]))
                    })
                    .or_else(|| (numpy && pos.len() == 3).then(|| self.shape_args(cx, &pos[2..])))
                    .unwrap_or_default();
                (shape, dtype.unwrap_or(ElemType::I64))
            }
            "eye" | "identity" => {
                let n = self.expr(cx, *pos.first()?);
                let m = match pos.get(1) {
                    Some(m) if last == "eye" => self.expr(cx, *m),
                    _ => n.clone(),
                };
                (vec![n, m], dtype.unwrap_or(default))
            }
            "arange" => {
                let shape = if pos.len() == 1 {
                    vec![self.expr(cx, pos[0])]
                } else {
                    Vec::new()
                };
                let float = pos.iter().any(|p| p.kind() == "float");
                let mut vi = array(
                    shape,
                    Some(dtype.unwrap_or(if float { default } else { ElemType::I64 })),
                    true,
                );
                vi.rank = 1;
                return Some(vi);
            }
            "array" | "asarray" | "tensor" | "as_tensor" | "from_numpy" | "ascontiguousarray"
            | "asfortranarray" | "copy" | "zeros_like" | "ones_like" | "empty_like"
            | "rand_like" | "randn_like" | "full_like" => {
                let src = pos.first().and_then(|p| self.infer(cx, *p));
                let mut vi = src.unwrap_or_else(|| array(Vec::new(), None, true));
                vi.is_array = true;
                vi.ndarray = true;
                let from_list = match vi.elem {
                    Some(ElemType::PyFloat) => Some(default.clone()),
                    Some(ElemType::I64) if !last.ends_with("_like") => Some(ElemType::I64),
                    ref e => e.clone(),
                };
                vi.elem = dtype.or(from_list);
                if last.ends_with("_like") && vi.elem.is_none() {
                    vi.elem = Some(default);
                }
                return Some(vi);
            }
            "dot" | "matmul" | "mm" | "bmm" if pos.len() == 2 => {
                let (a, b) = (self.infer(cx, pos[0]), self.infer(cx, pos[1]));
                return matmul(a, b);
            }
            "transpose" | "swapaxes" | "t" | "matrix_transpose" => {
                return pos.first().and_then(|p| self.infer(cx, *p)).map(transposed);
            }
            _ => return None,
        };
        Some(array(shape, Some(elem), true))
    }
}
