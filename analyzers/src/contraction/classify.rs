//! Classification of one multiply-accumulate: the roles of its loop
//! variables, then the shape (convolution, GEMV, TRMM, GEMM, batched,
//! SYRK, SYR2K, SYMM) and the operands' layouts.

use super::*;

/// What every shape's test reads: the MAC, the roles its terms agree on,
/// the terms oriented by [`roles`], the idiom's loop variables and loops,
/// and whether some bound depends on another idiom variable.
struct Facts<'m, 'a> {
    mac: &'m Mac<'a>,
    r: Roles,
    terms: Vec<Term>,
    term: Term,
    idiom: Vec<String>,
    all_loops: Vec<&'a Loop>,
    triangular: bool,
}

impl<'a> Facts<'_, 'a> {
    /// The classified nest of `shape`.
    fn done(&self, shape: Shape, layouts: Vec<OperandLayout>) -> Option<ClassifiedNest<'a>> {
        Some((
            Classified {
                shape,
                roles: self.r.clone(),
                term: self.term.clone(),
                layouts,
                conv_letters: HashMap::new(),
            },
            self.idiom.clone(),
            self.all_loops.clone(),
            self.triangular,
        ))
    }

    /// The layouts of C, A (`names[0]`) and B (`names[1]`) of a GEMM.
    fn gemm_layouts(
        &self,
        f: &Function,
        a: &Access,
        b: &Access,
        names: [&str; 2],
    ) -> Vec<OperandLayout> {
        let r = &self.r;
        let (i, j) = (&r.m[r.m.len() - 1], &r.n[r.n.len() - 1]);
        let k_a = innermost_pos(a, &r.k);
        let k_b = innermost_pos(b, &r.k);
        [
            layout(f, "C", &self.mac.out, i, j),
            k_a.and_then(|k| layout(f, names[0], a, i, &k)),
            k_b.and_then(|k| layout(f, names[1], b, &k, j)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

impl<'a> FnCx<'a> {
    /// The two-triangle SYMM: `s += S[i][k]*B[k][j]` over one triangle of `k`
    /// and `s += S[k][i]*B[k][j]` (mirrored) over the complementary one, into
    /// the same accumulator and store. `term` is `mac`'s oriented term with
    /// roles `r`. Returns which operand is the symmetric one (`Some(false)`:
    /// A, `Some(true)`: B) when some other MAC of `all` is such a partner.
    fn mirrored_partner(
        &self,
        mac: &Mac<'a>,
        term: &Term,
        r: &Roles,
        all: &[Mac<'a>],
    ) -> Option<bool> {
        if mac.terms.len() != 1
            || r.m.len() != 1
            || r.n.len() != 1
            || r.k.len() != 1
            || !r.batch.is_empty()
            || mac.loops.len() != mac.out_depth + 1
            || term.ops[0].base == term.ops[1].base
        {
            return None;
        }
        let k = &r.k[0];
        let lk = loop_of(mac.loops.last()?);
        if lk.var != *k {
            return None;
        }
        let target = |m: &Mac<'_>| match &self.sites[m.site].stmt.kind {
            StmtKind::Assign { target, .. } => Some(target.clone()),
            _ => None,
        };
        let my_target = target(mac)?;
        for (x, v) in [(0usize, &r.m[0]), (1, &r.n[0])] {
            let sym = &term.ops[x];
            let other = &term.ops[1 - x];
            // The split point of the reduction depends on the output variable
            // that indexes the symmetric operand.
            if !(lk.start.mentions(v) || lk.end.mentions(v)) {
                continue;
            }
            let mirror = swap_vars(sym, v, k);
            if same_access(&mirror, sym) {
                continue;
            }
            for m2 in all {
                if m2.site == mac.site
                    || m2.out != mac.out
                    || m2.out_depth != mac.out_depth
                    || m2.loops.len() != mac.loops.len()
                    || m2.terms.len() != 1
                    || !same_stmts(&m2.loops[..m2.out_depth], &mac.loops[..mac.out_depth])
                    || target(m2).as_ref() != Some(&my_target)
                {
                    continue;
                }
                let t2 = &m2.terms[0];
                if t2.neg != term.neg || product_text(&t2.scalars) != product_text(&term.scalars) {
                    continue;
                }
                let Some(l2) = m2.loops.last().map(|s| loop_of(s)) else {
                    continue;
                };
                // Complementary halves: one ends where the other starts, and
                // only that split point depends on `v`.
                let eq = |a: &Expr, b: &Expr| match (Poly::from_expr(a), Poly::from_expr(b)) {
                    (Some(p), Some(q)) => p == q,
                    _ => a == b,
                };
                let split = if eq(&lk.end, &l2.start) {
                    (&lk.start, &l2.end, &lk.end)
                } else if eq(&l2.end, &lk.start) {
                    (&l2.start, &lk.end, &lk.start)
                } else {
                    continue;
                };
                if split.0.mentions(v) || split.1.mentions(v) || !split.2.mentions(v) {
                    continue;
                }
                let ren = |a: &Access| Access {
                    base: a.base.clone(),
                    idx: a
                        .idx
                        .iter()
                        .map(|e| e.clone().substitute(&l2.var, &Expr::var(k)))
                        .collect(),
                };
                let (p, q) = (ren(&t2.ops[0]), ren(&t2.ops[1]));
                let matches =
                    |s2: &Access, o2: &Access| same_access(s2, &mirror) && same_access(o2, other);
                if matches(&p, &q) || matches(&q, &p) {
                    return Some(x == 1);
                }
            }
        }
        None
    }

    /// Classifies one MAC; `None` when it is not a contraction we report.
    /// `all` holds every MAC of the function (for two-statement idioms).
    pub(super) fn classify(&self, mac: &Mac<'a>, all: &[Mac<'a>]) -> Option<ClassifiedNest<'a>> {
        let x = self.facts(mac)?;
        let r = &x.r;
        let (a, b) = (&x.term.ops[0], &x.term.ops[1]);
        let outs: Vec<String> = r.m.iter().chain(&r.n).chain(&r.batch).cloned().collect();
        let wa = windows(a, &outs, &r.k);
        let wb = windows(b, &outs, &r.k);
        if !wa.is_empty() || !wb.is_empty() {
            return conv(&x, wa, wb);
        }
        self.blas_shape(&x, all)
    }

    /// The roles and terms of `mac`; `None` when its variables or its
    /// operands rule out every shape.
    fn facts<'m>(&self, mac: &'m Mac<'a>) -> Option<Facts<'m, 'a>> {
        let all_loops: Vec<&Loop> = mac.loops.iter().map(|s| loop_of(s)).collect();
        let lvars = Self::lvars(&mac.loops);
        let out_vars = access_vars(&mac.out, &lvars);
        let mut op_vars = BTreeSet::new();
        for t in &mac.terms {
            op_vars.extend(access_vars(&t.ops[0], &lvars));
            op_vars.extend(access_vars(&t.ops[1], &lvars));
        }
        let idiom: Vec<String> = lvars
            .iter()
            .filter(|v| out_vars.contains(*v) || op_vars.contains(*v))
            .cloned()
            .collect();
        // Scalar accumulator: output vars come from loops around the store,
        // reduced vars from loops between the store and the MAC.
        let outer: Vec<String> = lvars[..mac.out_depth].to_vec();
        if out_vars.iter().any(|v| !outer.contains(v)) {
            return None;
        }
        if mac.out_depth < lvars.len()
            && outer
                .iter()
                .any(|v| op_vars.contains(v) && !out_vars.contains(v))
        {
            return None;
        }
        let triangular = all_loops.iter().any(|l| {
            idiom.contains(&l.var)
                && idiom
                    .iter()
                    .any(|w| *w != l.var && (l.start.mentions(w) || l.end.mentions(w)))
        });

        // All terms must agree on the roles.
        let mut terms = mac.terms.clone();
        let mut r0: Option<Roles> = None;
        for t in terms.iter_mut() {
            let r = roles(&mac.out, t, &idiom)?;
            match &r0 {
                None => r0 = Some(r),
                Some(p) if *p == r => {}
                Some(_) => return None,
            }
        }
        let r = r0?;
        let term = terms[0].clone();
        // An operand that the nest itself writes (other than an in-place
        // output) is computed as it goes — Gram–Schmidt's `R[i][j] = ...`
        // before `Q[k][j] -= R[i][j]*Q[k][i]` — so no library call replaces it.
        let root = mac.loops.iter().find(|s| idiom.contains(&loop_of(s).var));
        if let Some(root) = root {
            let written: Vec<&str> = terms
                .iter()
                .flat_map(|t| t.ops.iter())
                .map(|o| o.base.as_str())
                .filter(|base| *base != mac.out.base)
                .collect();
            if self.writes_any(root, &written) {
                return None;
            }
        }
        Some(Facts {
            mac,
            r,
            terms,
            term,
            idiom,
            all_loops,
            triangular,
        })
    }

    /// The BLAS shapes: GEMV, TRMM, GEMM, batched, SYRK, SYR2K, SYMM.
    fn blas_shape(&self, x: &Facts<'_, 'a>, all: &[Mac<'a>]) -> Option<ClassifiedNest<'a>> {
        let (mac, r, terms, term) = (x.mac, &x.r, &x.terms, &x.term);
        let triangular = x.triangular;
        let (a, b) = (&term.ops[0], &term.ops[1]);
        let f = self.f;
        let ob = &mac.out.base;
        // A CUDA row or column written inline as block and thread index
        // (`by*BS + ty`) is one index over two thread loops.
        let count = |vs: &[String]| role_count(vs, &x.all_loops);
        let single = count(&r.m) == 1 && r.k.len() == 1 && r.batch.is_empty();

        // GEMV: y[i] += A[i][k] * x[k].
        if r.n.is_empty() {
            if !single || triangular || a.base == *ob || b.base == *ob || mac.out.idx.len() != 1 {
                return None;
            }
            if mac.tiled {
                return None;
            }
            let l = layout(f, "A", a, &r.m[0], &r.k[0]);
            return x.done(Shape::Gemv, l.into_iter().collect());
        }
        if r.m.is_empty() || r.k.is_empty() {
            return None;
        }
        let single = single && count(&r.n) == 1;

        // In place: TRMM or nothing (LU, Cholesky, rank updates). Not so
        // where both operands were copied into shared tiles first and the
        // output is global memory (a blocked LU's trailing update,
        // `m[..] -= As·Bs`): the product reads the copies, not the rows it
        // writes.
        let copied_in = mac.staged && !self.is_shared(ob);
        if (a.base == *ob || b.base == *ob) && !copied_in {
            return self.in_place(x, single);
        }

        if mac.tiled {
            // Several indices per side are one thread's register block
            // (`threadRow*TM + resIdx`): still one GEMM over the tiles.
            if r.batch.is_empty() && !triangular {
                return x.done(Shape::Gemm, x.gemm_layouts(f, a, b, ["A", "B"]));
            }
            return None;
        }

        if !single {
            if triangular
                || terms
                    .iter()
                    .any(|t| t.ops[0].base != a.base || t.ops[1].base != b.base)
            {
                return None;
            }
            return x.done(Shape::Batched, x.gemm_layouts(f, a, b, ["A", "B"]));
        }

        // SYR2K in one statement: A·Bᵀ + B·Aᵀ.
        if terms.len() == 2
            && terms[0].ops[0].base == terms[1].ops[1].base
            && terms[0].ops[1].base == terms[1].ops[0].base
            && terms[0].ops[0].base != terms[0].ops[1].base
        {
            // Name the operands as written: A is the first array of the statement.
            let first = &mac.terms[0].ops[0].base;
            let t = if terms[1].ops[0].base == *first {
                &terms[1]
            } else {
                &terms[0]
            };
            return x.done(
                Shape::Syr2k,
                x.gemm_layouts(f, &t.ops[0], &t.ops[1], ["A", "B"]),
            );
        }
        if terms
            .iter()
            .any(|t| t.ops[0].base != a.base || t.ops[1].base != b.base)
        {
            return None;
        }
        let (i, j) = (&r.m[0], &r.n[0]);
        if a.base == b.base && same_after_rename(a, b, j, i) {
            let ls = [
                layout(f, "C", &mac.out, i, j),
                layout(f, "A", a, i, &r.k[0]),
            ];
            return x.done(Shape::Syrk, ls.into_iter().flatten().collect());
        }
        if triangular {
            return self.symm(x, all);
        }
        x.done(Shape::Gemm, x.gemm_layouts(f, a, b, ["A", "B"]))
    }

    /// An in-place product (the output is an operand): TRMM when it reads
    /// only rows not yet written, else nothing (LU, Cholesky, rank updates).
    fn in_place(&self, x: &Facts<'_, 'a>, single: bool) -> Option<ClassifiedNest<'a>> {
        let (mac, r, terms, term) = (x.mac, &x.r, &x.terms, &x.term);
        let (all_loops, triangular) = (&x.all_loops, x.triangular);
        let (a, b) = (&term.ops[0], &term.ops[1]);
        let (f, ob) = (self.f, &mac.out.base);
        if a.base == *ob && b.base == *ob {
            return None;
        }
        if !(single && triangular && terms.len() == 1 && !mac.tiled) {
            return None;
        }
        let (tri, inplace) = if b.base == *ob { (a, b) } else { (b, a) };
        let (i, j, k) = (&r.m[0], &r.n[0], &r.k[0]);
        // The triangular operand is indexed by the output's other var and k.
        let tri_out = if b.base == *ob { i } else { j };
        // In place, it is a product only when the rows read are ones not
        // yet written in iteration order (PolyBench trmm: `k > i` while
        // `i` ascends). Reading rows already written is a triangular
        // solve or an orthogonalisation: a recurrence, not a TRMM.
        if !reads_ahead(all_loops, tri_out, k) {
            return None;
        }
        let ls = [
            layout(f, "A", tri, tri_out, k),
            layout(f, "B", inplace, k, if b.base == *ob { j } else { i }),
        ];
        x.done(Shape::Trmm, ls.into_iter().flatten().collect())
    }

    /// A triangular-bound product: SYMM when it reads the diagonal of one
    /// operand, or has a mirrored partner statement.
    fn symm(&self, x: &Facts<'_, 'a>, all: &[Mac<'a>]) -> Option<ClassifiedNest<'a>> {
        let (mac, r, term, idiom) = (x.mac, &x.r, &x.term, &x.idiom);
        let (a, b) = (&term.ops[0], &term.ops[1]);
        let f = self.f;
        let outer = mac.loops.iter().find(|s| idiom.contains(&loop_of(s).var))?;
        let sym_b = if reads_diagonal(self, outer, &a.base, idiom) {
            false
        } else if reads_diagonal(self, outer, &b.base, idiom) {
            true
        } else {
            self.mirrored_partner(mac, term, r, all)?
        };
        let mut ls = x.gemm_layouts(f, a, b, ["A", "B"]);
        if sym_b {
            // The symmetric matrix is the one BLAS calls A.
            for l in &mut ls {
                l.role = match l.role.as_str() {
                    "A" => "B".into(),
                    "B" => "A".into(),
                    o => o.into(),
                };
            }
            ls.sort_by_key(|l| match l.role.as_str() {
                "C" => 0,
                "A" => 1,
                _ => 2,
            });
        }
        x.done(Shape::Symm, ls)
    }
}

/// How many indices the variables of one role make: where some are CUDA
/// thread loops (a block index and the thread index within it, the two
/// halves of a split thread block) all of them are one index — serial
/// loops beside them walk the thread's own register block of the output
/// (`i = 8*threadIdx.x + io`); otherwise every loop is its own.
fn role_count(vars: &[String], loops: &[&Loop]) -> usize {
    let thread = |v: &String| {
        loops
            .iter()
            .any(|l| l.var == *v && matches!(l.kind, LoopKind::CudaThread { .. }))
    };
    if vars.iter().any(thread) {
        1
    } else {
        // The lanes and unrolled copies of a vector register block are
        // digits of one index with the loop that steps over them.
        let digits = vars
            .iter()
            .filter(|v| crate::ir::is_register_digit(v))
            .count();
        (vars.len() - digits).max(usize::from(digits > 0))
    }
}

/// A direct convolution: the windowed operand is the input.
fn conv<'a>(
    x: &Facts<'_, 'a>,
    wa: Vec<(String, String)>,
    wb: Vec<(String, String)>,
) -> Option<ClassifiedNest<'a>> {
    let (mac, r, terms, term) = (x.mac, &x.r, &x.terms, &x.term);
    let (a, b) = (&term.ops[0], &term.ops[1]);
    let (idiom, triangular) = (&x.idiom, x.triangular);
    // Direct convolution: the windowed operand is the input.
    if terms.len() != 1 || mac.out.base == a.base || mac.out.base == b.base || triangular {
        return None;
    }
    let (input, weight, win, out_ch) = if !wa.is_empty() && wb.is_empty() {
        (a.clone(), b.clone(), wa, r.n.clone())
    } else if wa.is_empty() && !wb.is_empty() {
        (b.clone(), a.clone(), wb, r.m.clone())
    } else {
        return None;
    };
    let win_out: Vec<String> = win.iter().map(|p| p.0.clone()).collect();
    let win_k: Vec<String> = win.iter().map(|p| p.1.clone()).collect();
    let channel: Vec<String> = r.k.iter().filter(|v| !win_k.contains(v)).cloned().collect();
    let in_side: Vec<String> = if out_ch == r.n {
        r.m.clone()
    } else {
        r.n.clone()
    };
    if channel.is_empty() || out_ch.is_empty() || !r.batch.is_empty() {
        return None;
    }
    if in_side
        .iter()
        .any(|v| win_out.iter().filter(|w| *w == v).count() > 1)
    {
        return None;
    }
    let mut letters = HashMap::new();
    let (mut pq, mut rs) = (['p', 'q'].iter(), ['r', 's'].iter());
    for v in idiom {
        let l = if out_ch.contains(v) {
            'k'
        } else if channel.contains(v) {
            'c'
        } else if win_k.contains(v) {
            *rs.next().unwrap_or(&'?')
        } else if win_out.contains(v) {
            *pq.next().unwrap_or(&'?')
        } else {
            'n'
        };
        letters.insert(v.clone(), l);
    }
    let roles = Roles {
        m: in_side,
        n: out_ch,
        k: r.k.clone(),
        batch: vec![],
    };
    let term = Term {
        ops: [input, weight],
        scalars: term.scalars.clone(),
        neg: term.neg,
    };
    Some((
        Classified {
            shape: Shape::Conv,
            roles,
            term,
            layouts: vec![],
            conv_letters: letters,
        },
        idiom.clone(),
        x.all_loops.clone(),
        triangular,
    ))
}
