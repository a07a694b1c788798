//! `np.sum(X * Y)` over multi-dimensional windows: the reduction a NumPy
//! direct convolution writes for each output pixel,
//! `out[n, f, i, j] = np.sum(xp[n, :, i*s:i*s+HH, j*s:j*s+WW] * w[f])`.
//!
//! Both factors are read as windows of arrays: each subscript is a fixed
//! index, a whole axis (`:`) or a range (`a:b`, stepless); the axes that
//! a subscript leaves off are whole axes when the array's rank is known.
//! Where both windows have the same number of axes (at least two, or one
//! with an offset range), the sum becomes one loop per axis over a fresh
//! index, multiplying the two windows' elements at `start + k` — the same
//! nest the explicit loops would be, so the contraction analysis sees the
//! channel and filter-tap reductions. One-axis views without offsets stay
//! with [`Lowerer::scalar_dot`] (a plain dot product).

use tree_sitter::Node;

use super::{Ctx, Lowerer};
use crate::ir::{AssignOp, BinOp, Expr, Loop, LoopKind, Stmt, StmtKind};

/// One subscript position of a window.
enum Slot {
    Fixed(Expr),
    /// An axis of the window: its first index, its length, and how much
    /// that length is trusted: 2 for the array's declared extent, 1 for
    /// `A.shape[d]` or a range's stop from 0, 0 for a range's `b - a`.
    Axis {
        start: Expr,
        len: Expr,
        trust: u8,
    },
}

struct Window {
    base: String,
    slots: Vec<Slot>,
    /// The array's rank is known (not assumed from the subscripts).
    certain: bool,
}

impl Window {
    fn axes(&self) -> impl Iterator<Item = (&Expr, &Expr, u8)> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Axis { start, len, trust } => Some((start, len, *trust)),
            Slot::Fixed(_) => None,
        })
    }

    /// The element at the window's axis indices `ks`.
    fn at(&self, ks: &[Expr]) -> Expr {
        let mut k = ks.iter();
        let idx = self
            .slots
            .iter()
            .map(|s| match s {
                Slot::Fixed(e) => e.clone(),
                Slot::Axis { start, .. } => {
                    let kv = k.next().cloned().unwrap_or(Expr::Int(0));
                    if matches!(start, Expr::Int(0)) {
                        kv
                    } else {
                        Expr::bin(BinOp::Add, start.clone(), kv)
                    }
                }
            })
            .collect();
        Expr::Index {
            base: Box::new(Expr::Var(self.base.clone())),
            idx,
        }
    }
}

impl<'a> Lowerer<'a> {
    /// `np.sum(x * y)` (or `(x * y).sum()`), given the product's node: the
    /// accumulator of the nest it stands for, or `None` where the
    /// factors are not two windows of the same shape.
    pub(super) fn window_dot(&self, cx: &mut Ctx<'a>, prod: Node<'a>) -> Option<Expr> {
        let prod = super::stmt::strip_parens(prod);
        if prod.kind() != "binary_operator"
            || prod.child_by_field_name("operator").map(|o| o.kind()) != Some("*")
        {
            return None;
        }
        let (x, y) = (
            prod.child_by_field_name("left")?,
            prod.child_by_field_name("right")?,
        );
        let (wx, wy) = (self.window(cx, x)?, self.window(cx, y)?);
        if !(wx.certain || wy.certain) {
            return None;
        }
        let (ax, ay): (Vec<_>, Vec<_>) = (wx.axes().collect(), wy.axes().collect());
        let offset = ax
            .iter()
            .chain(ay.iter())
            .any(|(s, _, _)| !matches!(s, Expr::Int(0)));
        if ax.len() != ay.len() || ax.is_empty() || ax.len() < 2 && !offset {
            return None;
        }
        let n = cx.next_acc;
        cx.next_acc += 1;
        let acc = format!("__acc{n}");
        let ks: Vec<String> = (0..ax.len()).map(|d| format!("__win{n}_{d}")).collect();
        let kv: Vec<Expr> = ks.iter().map(|k| Expr::Var(k.clone())).collect();
        let product = Expr::bin(BinOp::Mul, wx.at(&kv), wy.at(&kv));
        let assign = |target: Expr, op: AssignOp, value: Expr| Stmt {
            kind: StmtKind::Assign { target, op, value },
            span: cx.span,
        };
        let mut body = vec![assign(Expr::Var(acc.clone()), AssignOp::Add, product)];
        for d in (0..ax.len()).rev() {
            // The more trusted side's length.
            let len = if ay[d].2 > ax[d].2 { ay[d].1 } else { ax[d].1 }.clone();
            body = vec![Stmt {
                kind: StmtKind::Loop(Loop {
                    var: ks[d].clone(),
                    start: Expr::Int(0),
                    end: len,
                    step: Expr::Int(1),
                    kind: LoopKind::Comprehension,
                    header: cx.span,
                    body,
                }),
                span: cx.span,
            }];
        }
        cx.pre
            .push(assign(Expr::Var(acc.clone()), AssignOp::Set, Expr::Int(0)));
        cx.pre.extend(body);
        cx.vars.entry(acc.clone()).or_default();
        Some(Expr::Var(acc))
    }

    /// A factor as a window: a name of known rank, or a subscript of one.
    fn window(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Option<Window> {
        let n = super::stmt::strip_parens(n);
        let rank =
            |cx: &Ctx<'a>, base: &str| self.lookup(cx, base).map(|v| v.rank).filter(|r| *r > 0);
        if n.kind() == "identifier" {
            if let Some(&w) = cx.windows.get(self.text(n)) {
                return self.window(cx, w);
            }
        }
        let (base, subs) = match n.kind() {
            "identifier" => (self.text(n).to_string(), Vec::new()),
            "subscript" => {
                let v = n.child_by_field_name("value")?;
                if v.kind() != "identifier" {
                    return None;
                }
                let mut w = n.walk();
                let subs: Vec<Node<'a>> = n.children_by_field_name("subscript", &mut w).collect();
                (self.text(v).to_string(), subs)
            }
            _ => return None,
        };
        let known = rank(cx, &base);
        let rank = known.unwrap_or(subs.len());
        if subs.len() > rank || rank == 0 {
            return None;
        }
        let shape = self.known_shape(cx, &base);
        let extent = |d: usize| -> (Expr, u8) {
            match shape.get(d) {
                Some(e) => (e.clone(), 2),
                None => (
                    Expr::Index {
                        base: Box::new(Expr::Var(format!("{base}.shape"))),
                        idx: vec![Expr::Int(d as i64)],
                    },
                    1,
                ),
            }
        };
        let mut slots = Vec::new();
        for (d, s) in subs.iter().enumerate() {
            if s.kind() != "slice" {
                slots.push(Slot::Fixed(self.expr(cx, *s)));
                continue;
            }
            let (start, stop) = self.slice_bounds(cx, *s)?;
            let start = start.unwrap_or(Expr::Int(0));
            let (len, trust) = match stop {
                Some(stop) if matches!(start, Expr::Int(0)) => (stop, 1),
                Some(stop) => (Expr::bin(BinOp::Sub, stop, start.clone()), 0),
                None if matches!(start, Expr::Int(0)) => extent(d),
                None => {
                    let (e, _) = extent(d);
                    (Expr::bin(BinOp::Sub, e, start.clone()), 0)
                }
            };
            slots.push(Slot::Axis { start, len, trust });
        }
        for d in subs.len()..rank {
            let (len, trust) = extent(d);
            slots.push(Slot::Axis {
                start: Expr::Int(0),
                len,
                trust,
            });
        }
        Some(Window {
            base,
            slots,
            certain: known.is_some(),
        })
    }

    /// A stepless slice's start and stop (`a:b`, `:b`, `a:`, `:`); `None`
    /// for a slice with a step.
    fn slice_bounds(&self, cx: &mut Ctx<'a>, s: Node<'a>) -> Option<(Option<Expr>, Option<Expr>)> {
        let mut colons = 0;
        let (mut start, mut stop) = (None, None);
        let mut w = s.walk();
        for c in s.children(&mut w) {
            if c.kind() == ":" {
                colons += 1;
                continue;
            }
            if !c.is_named() || c.kind() == "comment" {
                continue;
            }
            match colons {
                0 => start = Some(self.expr(cx, c)),
                1 => stop = Some(self.expr(cx, c)),
                _ => return None,
            }
        }
        (colons >= 1).then_some((start, stop))
    }
}
