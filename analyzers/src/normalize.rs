//! Normalisation passes over the IR, run between the front ends and the
//! detectors, so that detectors see one canonical form:
//!
//! 1. **Self-updates become compound assignments**: `x = x + e` and
//!    `x = e + x` become `x += e`; `x = x - e` becomes `x -= e` (scalars and
//!    array elements alike).
//! 2. **Forward substitution of let-bound locals**: a local that is assigned
//!    exactly once (a declaration with an initialiser, or one `=`), never
//!    compound-assigned, is not a parameter or loop variable, and whose value
//!    is a plain index expression (names, numbers, arithmetic, array reads,
//!    pointer sums) is replaced by its value at every later use. This makes
//!    hoisted operands (`aik = A[i][k]`), pointer aliases
//!    (`float *Ai = A + i*K; Ai[k]`), index temporaries (`int idx = i*N + j`)
//!    and Python row aliases (`row = A[i]; row[k]`) look like direct
//!    accesses. Accumulators (`sum = 0; sum += ...`) have a compound
//!    assignment and are left alone.
//!
//! The passes are pure functions of the IR: no I/O, no source text.

use std::collections::{HashMap, HashSet};

use crate::ir::{AssignOp, BinOp, Expr, File, Function, Stmt, StmtKind};

/// Substituted values larger than this (in expression nodes) are not
/// propagated, so that chains like `a = b*b; c = a*a; ...` cannot blow up.
const MAX_SUBST_NODES: usize = 256;

/// Runs every pass, in order.
pub fn normalize(file: &mut File) {
    for f in &mut file.functions {
        for s in &mut f.body {
            self_updates(s);
        }
        forward_substitute(f);
    }
}

/// Pass 1: `x = x + e` → `x += e`, `x = e + x` → `x += e`, `x = x - e` → `x -= e`.
fn self_updates(s: &mut Stmt) {
    if let StmtKind::Assign { target, op, value } = &mut s.kind {
        if *op == AssignOp::Set {
            if let Expr::Binary(bop @ (BinOp::Add | BinOp::Sub), a, b) = value {
                let rest = if **a == *target {
                    Some((**b).clone())
                } else if *bop == BinOp::Add && **b == *target {
                    Some((**a).clone())
                } else {
                    None
                };
                if let Some(rest) = rest {
                    *op = if *bop == BinOp::Add {
                        AssignOp::Add
                    } else {
                        AssignOp::Sub
                    };
                    *value = rest;
                }
            }
        }
    }
    match &mut s.kind {
        StmtKind::Loop(l) => l.body.iter_mut().for_each(self_updates),
        StmtKind::If { then, els, .. } => {
            then.iter_mut().for_each(self_updates);
            els.iter_mut().for_each(self_updates);
        }
        StmtKind::Opaque(b) => b.iter_mut().for_each(self_updates),
        _ => {}
    }
}

/// How often each name is written, and which names may never be substituted.
#[derive(Default)]
struct Writes {
    sets: HashMap<String, usize>,
    compound: HashSet<String>,
    loop_vars: HashSet<String>,
}

fn count_writes(stmts: &[Stmt], w: &mut Writes) {
    for s in stmts {
        s.walk(&mut |s| match &s.kind {
            StmtKind::Assign {
                target: Expr::Var(v),
                op,
                ..
            } => {
                if *op == AssignOp::Set {
                    *w.sets.entry(v.clone()).or_default() += 1;
                } else {
                    w.compound.insert(v.clone());
                }
            }
            // Only initialisers count as sets: `float s; ... s = 0;` is one write.
            StmtKind::Decl {
                name,
                init: Some(_),
                ..
            } => {
                *w.sets.entry(name.clone()).or_default() += 1;
            }
            StmtKind::Loop(l) => {
                w.loop_vars.insert(l.var.clone());
            }
            _ => {}
        });
    }
}

/// True for values worth propagating: arithmetic over names, numbers and
/// array reads. Calls, matrix products and opaque text are left in place.
fn substitutable(e: &Expr) -> bool {
    let mut ok = true;
    let mut nodes = 0usize;
    e.walk(&mut |n| {
        nodes += 1;
        if matches!(
            n,
            Expr::Call { .. }
                | Expr::MatMul(..)
                | Expr::Transpose(_)
                | Expr::Other(_)
                | Expr::Str(_)
        ) {
            ok = false;
        }
    });
    ok && nodes <= MAX_SUBST_NODES
}

/// Pass 2: forward substitution of let-bound locals (see the module docs).
fn forward_substitute(f: &mut Function) {
    let mut w = Writes::default();
    count_writes(&f.body, &mut w);
    let params: HashSet<String> = f.params.iter().cloned().collect();
    let eligible = |name: &str| {
        w.sets.get(name) == Some(&1)
            && !w.compound.contains(name)
            && !w.loop_vars.contains(name)
            && !params.contains(name)
    };
    let mut env: HashMap<String, Expr> = HashMap::new();
    subst_block(&mut f.body, &eligible, &mut env);
}

fn apply(env: &HashMap<String, Expr>, e: &mut Expr) {
    if env.is_empty() {
        return;
    }
    let taken = std::mem::replace(e, Expr::Int(0));
    *e = taken.map(&mut |n| match n {
        Expr::Var(ref v) => env.get(v).cloned().unwrap_or(n),
        other => other,
    });
}

fn subst_block(
    stmts: &mut [Stmt],
    eligible: &dyn Fn(&str) -> bool,
    env: &mut HashMap<String, Expr>,
) {
    for s in stmts {
        match &mut s.kind {
            StmtKind::Assign { target, op, value } => {
                apply(env, value);
                match target {
                    Expr::Var(name) => {
                        if *op == AssignOp::Set && eligible(name) && substitutable(value) {
                            env.insert(name.clone(), value.clone());
                        }
                    }
                    t => apply(env, t),
                }
            }
            StmtKind::Decl {
                name, init, dims, ..
            } => {
                dims.iter_mut().for_each(|d| apply(env, d));
                if let Some(v) = init {
                    apply(env, v);
                    if eligible(name) && substitutable(v) {
                        env.insert(name.clone(), v.clone());
                    }
                }
            }
            StmtKind::Loop(l) => {
                apply(env, &mut l.start);
                apply(env, &mut l.end);
                apply(env, &mut l.step);
                subst_block(&mut l.body, eligible, env);
            }
            StmtKind::If { cond, then, els } => {
                apply(env, cond);
                subst_block(then, eligible, env);
                subst_block(els, eligible, env);
            }
            StmtKind::Opaque(b) => subst_block(b, eligible, env),
            StmtKind::Expr(e) => apply(env, e),
            StmtKind::Return(e) => {
                if let Some(e) = e {
                    apply(env, e);
                }
            }
            StmtKind::Barrier => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Access, FnKind, Lang, Loop, LoopKind, Span};

    fn st(kind: StmtKind) -> Stmt {
        Stmt {
            kind,
            span: Span::default(),
        }
    }
    fn v(n: &str) -> Expr {
        Expr::var(n)
    }
    fn idx(b: &str, i: Vec<Expr>) -> Expr {
        Expr::Index {
            base: Box::new(v(b)),
            idx: i,
        }
    }
    fn assign(t: Expr, op: AssignOp, value: Expr) -> Stmt {
        st(StmtKind::Assign {
            target: t,
            op,
            value,
        })
    }
    fn lp(var: &str, end: &str, body: Vec<Stmt>) -> Stmt {
        st(StmtKind::Loop(Loop {
            var: var.into(),
            start: Expr::Int(0),
            end: v(end),
            step: Expr::Int(1),
            kind: LoopKind::Serial,
            header: Span::default(),
            body,
        }))
    }
    fn file(params: &[&str], body: Vec<Stmt>) -> File {
        File {
            lang: Lang::C,
            functions: vec![Function {
                name: "f".into(),
                kind: FnKind::Host,
                params: params.iter().map(|s| s.to_string()).collect(),
                template_params: vec![],
                vars: Default::default(),
                body,
                span: Span::default(),
            }],
            consts: Default::default(),
            const_origins: Default::default(),
            type_aliases: Default::default(),
            imports: Vec::new(),
            syntax_problems: vec![],
        }
    }
    fn mul(a: Expr, b: Expr) -> Expr {
        Expr::bin(BinOp::Mul, a, b)
    }
    fn add(a: Expr, b: Expr) -> Expr {
        Expr::bin(BinOp::Add, a, b)
    }

    /// Digs out the innermost statement of a chain of single-statement loops.
    fn innermost(s: &Stmt) -> &Stmt {
        match &s.kind {
            StmtKind::Loop(l) => innermost(l.body.last().unwrap()),
            _ => s,
        }
    }

    #[test]
    fn self_update_becomes_compound() {
        let c = idx("C", vec![v("i"), v("j")]);
        let prod = mul(
            idx("A", vec![v("i"), v("k")]),
            idx("B", vec![v("k"), v("j")]),
        );
        let mut f = file(
            &[],
            vec![assign(
                c.clone(),
                AssignOp::Set,
                add(c.clone(), prod.clone()),
            )],
        );
        normalize(&mut f);
        assert_eq!(
            f.functions[0].body[0].kind,
            StmtKind::Assign {
                target: c.clone(),
                op: AssignOp::Add,
                value: prod.clone()
            }
        );
        // e + x, and x - e
        let mut f = file(
            &[],
            vec![assign(v("s"), AssignOp::Set, add(prod.clone(), v("s")))],
        );
        normalize(&mut f);
        assert!(matches!(
            &f.functions[0].body[0].kind,
            StmtKind::Assign { op: AssignOp::Add, value, .. } if *value == prod
        ));
        let mut f = file(
            &[],
            vec![assign(
                v("s"),
                AssignOp::Set,
                Expr::bin(BinOp::Sub, v("s"), v("t")),
            )],
        );
        normalize(&mut f);
        assert!(matches!(
            &f.functions[0].body[0].kind,
            StmtKind::Assign {
                op: AssignOp::Sub,
                ..
            }
        ));
        // Not a self-update: x = y - x stays.
        let mut f = file(
            &[],
            vec![assign(
                v("s"),
                AssignOp::Set,
                Expr::bin(BinOp::Sub, v("t"), v("s")),
            )],
        );
        normalize(&mut f);
        assert!(matches!(
            &f.functions[0].body[0].kind,
            StmtKind::Assign {
                op: AssignOp::Set,
                ..
            }
        ));
    }

    #[test]
    fn hoisted_operand_is_substituted_but_accumulator_is_not() {
        // for i: for k: { aik = A[i][k]; for j: C[i][j] += aik * B[k][j] }
        // and: sum = 0; for k: sum += ...; C = sum
        let body = vec![lp(
            "i",
            "N",
            vec![lp(
                "k",
                "N",
                vec![
                    st(StmtKind::Decl {
                        name: "aik".into(),
                        elem: None,
                        dims: vec![],
                        shared: false,
                        init: Some(idx("A", vec![v("i"), v("k")])),
                    }),
                    lp(
                        "j",
                        "N",
                        vec![assign(
                            idx("C", vec![v("i"), v("j")]),
                            AssignOp::Add,
                            mul(v("aik"), idx("B", vec![v("k"), v("j")])),
                        )],
                    ),
                ],
            )],
        )];
        let mut f = file(&["A", "B", "C"], body);
        normalize(&mut f);
        let StmtKind::Assign { value, .. } = &innermost(&f.functions[0].body[0]).kind else {
            panic!()
        };
        assert_eq!(
            *value,
            mul(
                idx("A", vec![v("i"), v("k")]),
                idx("B", vec![v("k"), v("j")])
            )
        );

        let body = vec![
            st(StmtKind::Decl {
                name: "sum".into(),
                elem: None,
                dims: vec![],
                shared: false,
                init: Some(Expr::Int(0)),
            }),
            lp("k", "K", vec![assign(v("sum"), AssignOp::Add, v("x"))]),
            assign(idx("C", vec![v("i")]), AssignOp::Set, v("sum")),
        ];
        let mut f = file(&[], body);
        normalize(&mut f);
        assert!(matches!(
            &f.functions[0].body[2].kind,
            StmtKind::Assign { value: Expr::Var(s), .. } if s == "sum"
        ));
    }

    #[test]
    fn pointer_alias_and_row_alias_flatten_through_access_of() {
        // float *Ai = A + i*K; ... Ai[k]
        let body = vec![
            st(StmtKind::Decl {
                name: "Ai".into(),
                elem: None,
                dims: vec![],
                shared: false,
                init: Some(add(v("A"), mul(v("i"), v("K")))),
            }),
            assign(v("s"), AssignOp::Add, idx("Ai", vec![v("k")])),
            // row = A[i]; row[k]
            assign(v("row"), AssignOp::Set, idx("A", vec![v("i")])),
            assign(v("t"), AssignOp::Add, idx("row", vec![v("k")])),
        ];
        let mut f = file(&["A", "K"], body);
        normalize(&mut f);
        let arrays = |n: &str| n == "A";
        let StmtKind::Assign { value, .. } = &f.functions[0].body[1].kind else {
            panic!()
        };
        let acc = Access::of(value, &arrays).unwrap();
        assert_eq!(acc.base, "A");
        let p = acc.polys().unwrap();
        assert_eq!(p[0].coeff("i").unwrap().to_string(), "K");
        assert_eq!(p[0].coeff("k").unwrap().as_const(), Some(1));
        let StmtKind::Assign { value, .. } = &f.functions[0].body[3].kind else {
            panic!()
        };
        let acc = Access::of(value, &arrays).unwrap();
        assert_eq!(acc.to_string(), "A[i][k]");
    }

    #[test]
    fn reassigned_params_loop_vars_and_calls_are_left_alone() {
        let body = vec![
            assign(v("x"), AssignOp::Set, Expr::Int(1)),
            assign(v("x"), AssignOp::Set, Expr::Int(2)),
            assign(v("n"), AssignOp::Set, Expr::Int(3)),
            assign(
                v("p"),
                AssignOp::Set,
                Expr::Call {
                    func: "malloc".into(),
                    recv: None,
                    args: vec![v("n")],
                    kwargs: vec![],
                },
            ),
            assign(v("y"), AssignOp::Add, add(v("x"), add(v("n"), v("p")))),
        ];
        let mut f = file(&["n"], body);
        normalize(&mut f);
        let StmtKind::Assign { value, .. } = &f.functions[0].body[4].kind else {
            panic!()
        };
        assert_eq!(
            value.vars(),
            ["n", "p", "x"].iter().map(|s| s.to_string()).collect()
        );
    }

    #[test]
    fn substitution_size_is_bounded() {
        // a0 = b*b; a1 = a0*a0; ... grows 2^n without the cap.
        let mut body = vec![assign(v("a0"), AssignOp::Set, mul(v("b"), v("b")))];
        for n in 1..40 {
            let prev = format!("a{}", n - 1);
            body.push(assign(
                v(&format!("a{n}")),
                AssignOp::Set,
                mul(v(&prev), v(&prev)),
            ));
        }
        let mut f = file(&[], body);
        normalize(&mut f); // must terminate quickly
        let StmtKind::Assign { value, .. } = &f.functions[0].body[39].kind else {
            panic!()
        };
        let mut nodes = 0;
        value.walk(&mut |_| nodes += 1);
        assert!(nodes < 4 * MAX_SUBST_NODES, "{nodes}");
    }
}
