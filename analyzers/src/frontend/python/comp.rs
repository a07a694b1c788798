//! Loop headers over iterables (`range`, sequences, `zip`, `enumerate`,
//! `zip(*B)`), comprehensions and `sum(...)` generators lowered to loops
//! (BRIEF convention 8).

use tree_sitter::Node;

use super::{named, span, Bind, Ctx, Lowerer, MAX_DEPTH};
use crate::ir::{AssignOp, BinOp, Expr, Loop, LoopKind, Poly, Stmt, StmtKind, VarInfo};

/// What a `for` iterates over.
#[derive(Clone, Debug)]
pub(super) enum Iterable {
    Range {
        start: Expr,
        end: Expr,
        step: Expr,
    },
    /// Elements `e[v]`.
    Seq(Expr),
    /// The columns of a matrix (`zip(*B)`, `B.T`): element `v` is column `v`.
    Column(Expr),
    /// A bound column `col` of `base`: element `v` is `base[v][j]`.
    ColumnOf {
        base: Expr,
        j: Expr,
    },
}

/// A counted loop header produced from a `for` target and iterable.
pub(super) struct Header {
    pub var: String,
    pub start: Expr,
    pub end: Expr,
    pub step: Expr,
    /// Names bound to elements, to substitute in the body.
    pub binds: Vec<(String, Bind)>,
    /// The loop variable is the user's (not synthetic).
    pub real_var: bool,
}

/// Where a comprehension's elements go.
pub(super) enum Sink {
    /// Stored into this array at the comprehension's indices.
    Elem(Expr),
    /// Added to this accumulator.
    Acc(String),
}

const LETTERS: &[&str] = &["i", "j", "k", "l", "m", "n", "p", "q", "r", "s"];

fn letter(depth: usize) -> String {
    LETTERS
        .get(depth)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("d{depth}"))
}

fn simplify(e: Expr) -> Expr {
    match Poly::from_expr(&e) {
        Some(p) => p.to_expr(),
        None => e,
    }
}

impl<'a> Lowerer<'a> {
    /// The counted-loop header of `for left in right`, if it is one.
    pub(super) fn iter_header(
        &self,
        cx: &mut Ctx<'a>,
        left: Node<'a>,
        right: Node<'a>,
    ) -> Option<Header> {
        let l = letter(cx.loop_depth);
        match left.kind() {
            "identifier" => {
                let name = self.text(left);
                let it = self.iterable(cx, right)?;
                if let Iterable::Range { start, end, step } = it {
                    let real = name != "_";
                    return Some(Header {
                        var: if real {
                            name.to_string()
                        } else {
                            format!("__{l}")
                        },
                        start,
                        end,
                        step,
                        binds: Vec::new(),
                        real_var: real,
                    });
                }
                let var = if name == "_" {
                    format!("__{l}")
                } else {
                    format!("__{l}_{name}")
                };
                let end = self.iter_len(cx, &it);
                let mut binds = Vec::new();
                if name != "_" {
                    binds.push((name.to_string(), elem_bind(&it, Expr::Var(var.clone()))));
                }
                Some(Header {
                    var,
                    start: Expr::Int(0),
                    end,
                    step: Expr::Int(1),
                    binds,
                    real_var: false,
                })
            }
            "pattern_list" | "tuple_pattern" => {
                let names = named(left);
                if names.iter().any(|n| n.kind() != "identifier") {
                    return None;
                }
                let names: Vec<&str> = names.iter().map(|n| self.text(*n)).collect();
                let right = super::stmt::strip_parens(right);
                if right.kind() != "call" {
                    return None;
                }
                let f = right.child_by_field_name("function")?;
                let args = right.child_by_field_name("arguments")?;
                if f.kind() != "identifier" || args.kind() != "argument_list" {
                    return None;
                }
                let fname = self.text(f);
                if cx.is_local(fname) {
                    return None;
                }
                let argv = named(args);
                if argv.iter().any(|a| {
                    matches!(
                        a.kind(),
                        "keyword_argument" | "list_splat" | "dictionary_splat"
                    )
                }) {
                    return None;
                }
                match fname {
                    "enumerate" if argv.len() == 1 && names.len() == 2 => {
                        let it = self.iterable(cx, argv[0])?;
                        let real = names[0] != "_";
                        let var = if real {
                            names[0].to_string()
                        } else {
                            format!("__{l}")
                        };
                        let end = self.iter_len(cx, &it);
                        let mut binds = Vec::new();
                        if names[1] != "_" {
                            binds.push((
                                names[1].to_string(),
                                elem_bind(&it, Expr::Var(var.clone())),
                            ));
                        }
                        Some(Header {
                            var,
                            start: Expr::Int(0),
                            end,
                            step: Expr::Int(1),
                            binds,
                            real_var: real,
                        })
                    }
                    "zip" if !argv.is_empty() && argv.len() == names.len() => {
                        let mut its = Vec::new();
                        for a in argv {
                            its.push(self.iterable(cx, a)?);
                        }
                        let var = format!("__{l}");
                        let end = self.iter_len(cx, &its[0]);
                        let binds = names
                            .iter()
                            .zip(&its)
                            .filter(|(n, _)| **n != "_")
                            .map(|(n, it)| (n.to_string(), elem_bind(it, Expr::Var(var.clone()))))
                            .collect();
                        Some(Header {
                            var,
                            start: Expr::Int(0),
                            end,
                            step: Expr::Int(1),
                            binds,
                            real_var: false,
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    pub(super) fn iterable(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Option<Iterable> {
        let n = super::stmt::strip_parens(n);
        match n.kind() {
            "call" => {
                let f = n.child_by_field_name("function")?;
                let args = n.child_by_field_name("arguments")?;
                if f.kind() != "identifier"
                    || args.kind() != "argument_list"
                    || cx.is_local(self.text(f))
                {
                    return None;
                }
                let argv = named(args);
                match self.text(f) {
                    "range" => {
                        if argv.is_empty()
                            || argv.len() > 3
                            || argv.iter().any(|a| {
                                a.kind().contains("splat") || a.kind() == "keyword_argument"
                            })
                        {
                            return None;
                        }
                        let v: Vec<Expr> = argv.iter().map(|a| self.expr(cx, *a)).collect();
                        Some(match v.len() {
                            1 => Iterable::Range {
                                start: Expr::Int(0),
                                end: v[0].clone(),
                                step: Expr::Int(1),
                            },
                            2 => Iterable::Range {
                                start: v[0].clone(),
                                end: v[1].clone(),
                                step: Expr::Int(1),
                            },
                            _ => Iterable::Range {
                                start: v[0].clone(),
                                end: v[1].clone(),
                                step: v[2].clone(),
                            },
                        })
                    }
                    "zip" if argv.len() == 1 && argv[0].kind() == "list_splat" => {
                        let inner = *named(argv[0]).first()?;
                        match self.expr(cx, inner) {
                            e @ (Expr::Var(_) | Expr::Index { .. }) => Some(Iterable::Column(e)),
                            _ => None,
                        }
                    }
                    _ => None,
                }
            }
            "identifier" => {
                if let Some(Bind::Column { base, j }) = cx.bind(self.text(n)).cloned() {
                    return Some(Iterable::ColumnOf { base, j });
                }
                match self.expr(cx, n) {
                    e @ (Expr::Var(_) | Expr::Index { .. }) => Some(Iterable::Seq(e)),
                    _ => None,
                }
            }
            "attribute" | "subscript" => match self.expr(cx, n) {
                Expr::Transpose(x) if matches!(*x, Expr::Var(_) | Expr::Index { .. }) => {
                    Some(Iterable::Column(*x))
                }
                e @ (Expr::Var(_) | Expr::Index { .. }) => Some(Iterable::Seq(e)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The number of elements of an iterable.
    pub(super) fn iter_len(&self, cx: &Ctx<'a>, it: &Iterable) -> Expr {
        match it {
            Iterable::Range { start, end, step } => {
                let diff = match start {
                    Expr::Int(0) => end.clone(),
                    s => simplify(Expr::bin(BinOp::Sub, end.clone(), s.clone())),
                };
                match step {
                    Expr::Int(1) => diff,
                    s => Expr::bin(BinOp::FloorDiv, diff, s.clone()),
                }
            }
            Iterable::Seq(e) => self.len_of(cx, e.clone()),
            Iterable::Column(b) => self.len_of(
                cx,
                Expr::Index {
                    base: Box::new(b.clone()),
                    idx: vec![Expr::Int(0)],
                },
            ),
            Iterable::ColumnOf { base, .. } => self.len_of(cx, base.clone()),
        }
    }

    /// Lowers a list comprehension or generator into loops feeding `sink`.
    /// `None` if some clause is not a counted iteration.
    pub(super) fn comp_into(&self, cx: &mut Ctx<'a>, n: Node<'a>, sink: Sink) -> Option<Vec<Stmt>> {
        if cx.depth >= MAX_DEPTH {
            return None;
        }
        let body = n.child_by_field_name("body")?;
        let clauses: Vec<Node<'a>> = named(n)
            .into_iter()
            .filter(|c| matches!(c.kind(), "for_in_clause" | "if_clause"))
            .collect();
        if clauses.first()?.kind() != "for_in_clause" {
            return None;
        }
        let (nb, ld) = (cx.binds.len(), cx.loop_depth);
        cx.depth += 1;
        let r = self.clauses(cx, &clauses, 0, body, &sink, &mut Vec::new());
        cx.depth -= 1;
        cx.binds.truncate(nb);
        cx.loop_depth = ld;
        r
    }

    fn clauses(
        &self,
        cx: &mut Ctx<'a>,
        clauses: &[Node<'a>],
        k: usize,
        body: Node<'a>,
        sink: &Sink,
        idx: &mut Vec<Expr>,
    ) -> Option<Vec<Stmt>> {
        if k == clauses.len() {
            return self.comp_body(cx, body, sink, idx);
        }
        if cx.depth >= MAX_DEPTH {
            return None;
        }
        let c = clauses[k];
        if c.kind() == "if_clause" {
            let cond = match named(c).first() {
                Some(e) => self.expr(cx, *e),
                None => return None,
            };
            let mut pre = std::mem::take(&mut cx.pre);
            cx.depth += 1;
            let then = self.clauses(cx, clauses, k + 1, body, sink, idx);
            cx.depth -= 1;
            pre.push(Stmt {
                kind: StmtKind::If {
                    cond,
                    then: then?,
                    els: Vec::new(),
                },
                span: cx.span,
            });
            return Some(pre);
        }
        let (left, right) = (
            c.child_by_field_name("left")?,
            c.child_by_field_name("right")?,
        );
        let h = self.iter_header(cx, left, right)?;
        let mut pre = std::mem::take(&mut cx.pre);
        let nb = cx.binds.len();
        if h.real_var {
            cx.binds.push((h.var.clone(), Bind::Shadow));
        }
        cx.binds.extend(h.binds);
        cx.vars.entry(h.var.clone()).or_default();
        let pos = match (&h.start, &h.step) {
            (Expr::Int(0), Expr::Int(1)) => Expr::Var(h.var.clone()),
            (s, Expr::Int(1)) => {
                simplify(Expr::bin(BinOp::Sub, Expr::Var(h.var.clone()), s.clone()))
            }
            (s, st) => Expr::bin(
                BinOp::FloorDiv,
                simplify(Expr::bin(BinOp::Sub, Expr::Var(h.var.clone()), s.clone())),
                st.clone(),
            ),
        };
        idx.push(pos);
        cx.loop_depth += 1;
        cx.depth += 1;
        let inner = self.clauses(cx, clauses, k + 1, body, sink, idx);
        cx.depth -= 1;
        cx.loop_depth -= 1;
        idx.pop();
        cx.binds.truncate(nb);
        pre.push(Stmt {
            kind: StmtKind::Loop(Loop {
                var: h.var,
                start: h.start,
                end: h.end,
                step: h.step,
                kind: LoopKind::Comprehension,
                header: span(c),
                body: inner?,
            }),
            span: cx.span,
        });
        Some(pre)
    }

    fn comp_body(
        &self,
        cx: &mut Ctx<'a>,
        body: Node<'a>,
        sink: &Sink,
        idx: &[Expr],
    ) -> Option<Vec<Stmt>> {
        let (target, op) = match sink {
            Sink::Elem(t) => (
                if idx.is_empty() {
                    t.clone()
                } else {
                    Expr::Index {
                        base: Box::new(t.clone()),
                        idx: idx.to_vec(),
                    }
                },
                AssignOp::Set,
            ),
            Sink::Acc(a) => (Expr::Var(a.clone()), AssignOp::Add),
        };
        if matches!(sink, Sink::Elem(_)) && body.kind() == "list_comprehension" {
            return self.comp_into(cx, body, Sink::Elem(target));
        }
        let saved = std::mem::take(&mut cx.pre);
        let value = self.expr(cx, body);
        let mut stmts = std::mem::replace(&mut cx.pre, saved);
        stmts.push(Stmt {
            kind: StmtKind::Assign { target, op, value },
            span: cx.span,
        });
        Some(stmts)
    }

    /// `sum(gen[, start])`: hoists `__accN = start; Loop ... { __accN += e }`
    /// into `cx.pre` and returns `__accN`.
    pub(super) fn reduction(
        &self,
        cx: &mut Ctx<'a>,
        gen: Node<'a>,
        start: Option<Node<'a>>,
    ) -> Option<Expr> {
        let acc = format!("__acc{}", cx.next_acc);
        cx.next_acc += 1;
        let init = match start {
            Some(s) => self.expr(cx, s),
            None => Expr::Int(0),
        };
        let saved = std::mem::take(&mut cx.pre);
        let loops = self.comp_into(cx, gen, Sink::Acc(acc.clone()));
        let mut hoisted = std::mem::replace(&mut cx.pre, saved);
        let loops = loops?;
        hoisted.push(Stmt {
            kind: StmtKind::Assign {
                target: Expr::Var(acc.clone()),
                op: AssignOp::Set,
                value: init,
            },
            span: cx.span,
        });
        hoisted.extend(loops);
        cx.pre.extend(hoisted);
        cx.vars.entry(acc.clone()).or_default();
        Some(Expr::Var(acc))
    }

    /// A list comprehension inside an expression: lowered into loops
    /// writing `__compN` when it reads arrays, else kept as text.
    pub(super) fn comp_expr(&self, cx: &mut Ctx<'a>, n: Node<'a>) -> Expr {
        if !self.comp_reads_data(n) {
            return Expr::Other(self.text(n).to_string());
        }
        let name = format!("__comp{}", cx.next_comp);
        cx.next_comp += 1;
        let info = self.infer(cx, n);
        let saved = std::mem::take(&mut cx.pre);
        let loops = self.comp_into(cx, n, Sink::Elem(Expr::Var(name.clone())));
        let mut hoisted = std::mem::replace(&mut cx.pre, saved);
        match loops {
            Some(l) => {
                hoisted.extend(l);
                cx.pre.extend(hoisted);
                cx.vars.insert(
                    name.clone(),
                    info.unwrap_or(VarInfo {
                        is_array: true,
                        rank: 1,
                        ..Default::default()
                    }),
                );
                Expr::Var(name)
            }
            None => Expr::Other(self.text(n).to_string()),
        }
    }

    /// True if a (nested) list comprehension reads data: some clause
    /// iterates something other than `range(...)`, or the innermost element
    /// has a subscript or a generator. Initialisers such as
    /// `[[0.0] * N for _ in range(M)]` do not.
    pub(super) fn comp_reads_data(&self, n: Node<'a>) -> bool {
        let mut cur = n;
        for _ in 0..MAX_DEPTH {
            for c in named(cur) {
                if c.kind() == "for_in_clause" {
                    let Some(r) = c.child_by_field_name("right") else {
                        return false;
                    };
                    let r = super::stmt::strip_parens(r);
                    let is_range = r.kind() == "call"
                        && r.child_by_field_name("function").map(|f| self.text(f)) == Some("range");
                    if !is_range {
                        return true;
                    }
                }
            }
            match cur.child_by_field_name("body") {
                Some(b) if b.kind() == "list_comprehension" => cur = b,
                Some(b) => {
                    let mut stack = vec![b];
                    while let Some(x) = stack.pop() {
                        if matches!(
                            x.kind(),
                            "subscript" | "generator_expression" | "list_comprehension"
                        ) {
                            return true;
                        }
                        let mut w = x.walk();
                        stack.extend(x.named_children(&mut w));
                    }
                    return false;
                }
                None => return false,
            }
        }
        false
    }
}

/// What the loop variable `v` binds a target name to.
fn elem_bind(it: &Iterable, v: Expr) -> Bind {
    match it {
        Iterable::Range { start, step, .. } => Bind::Elem(match (start, step) {
            (Expr::Int(0), Expr::Int(1)) => v,
            _ => simplify(Expr::bin(
                BinOp::Add,
                start.clone(),
                Expr::bin(BinOp::Mul, v, step.clone()),
            )),
        }),
        Iterable::Seq(e) => Bind::Elem(Expr::Index {
            base: Box::new(e.clone()),
            idx: vec![v],
        }),
        Iterable::Column(b) => Bind::Column {
            base: b.clone(),
            j: v,
        },
        Iterable::ColumnOf { base, j } => Bind::Elem(Expr::Index {
            base: Box::new(Expr::Index {
                base: Box::new(base.clone()),
                idx: vec![v],
            }),
            idx: vec![j.clone()],
        }),
    }
}
