//! GS101: a GEMM written as a loop nest on the CPU.

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{self, FixContext, FixResult};

declare_rule! {
    /// Hand-written matrix multiply: a loop nest computing `C[i][j] += A[i][k] * B[k][j]`.
    ///
    /// **What it finds.** Three counted loops (C/C++ `for`, counted `while`,
    /// Python `for ... in range`, or list comprehensions with `sum(...)`) in
    /// any of the six orders (`ijk`, `ikj`, `jik`, `jki`, `kij`, `kji`) whose
    /// innermost statement accumulates a product of two arrays into a third:
    /// the output is indexed by `i` and `j`, `A` by `i` and the reduction
    /// variable `k`, `B` by `k` and `j`. Operands may be 2-D arrays, `T**`,
    /// nested lists or flattened (`A[i*lda + k]`, row- or column-major, any
    /// leading dimension); the sum may go through a scalar
    /// (`sum += ...; C[i][j] = alpha*sum + beta*C[i][j]`), and may be scaled
    /// by `alpha`/`beta`. Blocked (cache-tiled) nests are found too.
    ///
    /// **Why it is slow.** Even the best loop order reaches a small fraction
    /// of the machine: a tuned BLAS packs panels into cache, uses register
    /// blocking and every SIMD lane and core. For Python loops every
    /// multiply-add is an interpreter round trip, thousands of times slower.
    ///
    /// ```c
    /// for (int i = 0; i < N; i++)
    ///     for (int k = 0; k < N; k++)
    ///         for (int j = 0; j < N; j++)
    ///             C[i][j] += A[i][k] * B[k][j];
    /// // → cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
    /// //               N, N, N, 1.0f, A, N, B, N, 1.0f, C, N);
    /// ```
    ///
    /// **When the rewrite is safe.** The three arrays must not overlap, the
    /// bounds must be rectangular (no bound depends on another loop
    /// variable), and results may differ in the last bits because the
    /// library sums in a different order. Jagged operands (`T**`, lists of
    /// lists) must first be copied into contiguous storage; Python code uses
    /// `A @ B` on NumPy arrays.
    pub struct GemmLoopNest {
        code: "GS101",
        name: "gemm-loop-nest",
        idiom: Idiom::Gemm,
        fix: FixAvailability::Sometimes(
            "`cblas_?gemm` (C/C++), `@` / `np.matmul` (Python) · exact · `cblas.rs`, `numpy.rs`",
        ),
    }
}

impl Rule for GemmLoopNest {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, cx: &FixContext<'_>, _finding: &Finding) -> FixResult {
        fixes::numpy_or_cblas(cx)
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests() {
            if n.shape != Shape::Gemm || n.tiled || n.has_thread_loops() {
                continue;
            }
            let message = format!(
                "hand-written GEMM {} (loop order {}): one {} call does the same work",
                n.size_text(),
                n.order_dashed(),
                n.blas("gemm")
            );
            out.push_nest(n, n.report(&Self::META, Routine::Gemm, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{file, func, host, run, run_all};
    use crate::finding::{Backend, Major};
    use crate::ir::{ElemType, FnKind, Lang};

    const SQ: &str = "A: f32[N][N], B: f32[N][N], C: f32[N][N]";

    fn one(f: &crate::ir::File) -> Finding {
        let v = run(&GemmLoopNest, f);
        assert_eq!(v.len(), 1, "{v:#?}");
        v.into_iter().next().unwrap()
    }

    fn nest(order: &str) -> String {
        let mut s = String::new();
        for v in order.chars() {
            s.push_str(&format!("for {v} in 0..N {{\n"));
        }
        s.push_str("C[i][j] += A[i][k] * B[k][j];\n");
        for _ in 0..3 {
            s.push_str("}\n");
        }
        s
    }

    #[test]
    fn six_loop_orders() {
        for order in ["ijk", "ikj", "jik", "jki", "kij", "kji"] {
            let f = host(&[("N", 1024)], SQ, &nest(order));
            let x = one(&f);
            assert_eq!(x.loop_order.as_deref(), Some(order));
            assert_eq!(x.code, "GS101");
            assert_eq!(x.routine, Routine::Gemm);
            assert_eq!(x.backend, Backend::Cpu);
            assert_eq!(x.dims.display(), "1024×1024×1024");
            assert_eq!(x.dtype, Some(ElemType::F32));
            assert_eq!(x.range.start_line, 1);
            assert_eq!(x.key_range.start_line, 4);
            assert_eq!(x.function.as_deref(), Some("f"));
            let roles: Vec<_> = x
                .layouts
                .iter()
                .map(|l| (l.role.as_str(), l.major))
                .collect();
            assert_eq!(
                roles,
                vec![("C", Major::Row), ("A", Major::Row), ("B", Major::Row)]
            );
            assert!(x.layouts.iter().all(|l| !l.jagged && l.ld.is_none()));
            let dashed: Vec<String> = order.chars().map(String::from).collect();
            assert!(x
                .message
                .contains(&format!("loop order {}", dashed.join("-"))));
            assert!(x.message.contains("sgemm"), "{}", x.message);
            assert!(
                x.why.starts_with("C[i][j] += A[i][k]*B[k][j] over"),
                "{}",
                x.why
            );
        }
    }

    #[test]
    fn operand_order_and_names_do_not_matter() {
        let f = host(
            &[],
            "x: f64**, y: f64**, z: f64**",
            "for r in 0..M { for c in 0..P { for t in 0..Q { z[r][c] += y[t][c] * x[r][t]; } } }",
        );
        let x = one(&f);
        assert_eq!(x.loop_order.as_deref(), Some("ijk"));
        assert_eq!(x.dims.display(), "M×P×Q");
        assert_eq!(x.dtype, Some(ElemType::F64));
        let names: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.name.as_str()))
            .collect();
        assert_eq!(names, vec![("C", "z"), ("A", "x"), ("B", "y")]);
        // T** operands are jagged.
        assert!(x.layouts.iter().all(|l| l.jagged));
    }

    #[test]
    fn transposed_operands_multi_dim() {
        // C = Aᵀ·Bᵀ: A stored K×M, B stored N×K.
        let f = host(
            &[("M", 64), ("N", 32), ("K", 16)],
            "A: f32[K][M], B: f32[N][K], C: f32[M][N]",
            "for i in 0..M { for j in 0..N { for k in 0..K { C[i][j] += A[k][i] * B[j][k]; } } }",
        );
        let x = one(&f);
        assert_eq!(x.dims.display(), "64×32×16");
        let majors: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.major))
            .collect();
        assert_eq!(
            majors,
            vec![("C", Major::Row), ("A", Major::Col), ("B", Major::Col)]
        );
    }

    #[test]
    fn flattened_row_major_with_symbolic_leading_dims() {
        let f = host(
            &[],
            "A: f32*, B: f32*, C: f32*",
            "for i in 0..M { for j in 0..N { for k in 0..K {
               C[i*ldc + j] += A[i*lda + k] * B[k*ldb + j]; } } }",
        );
        let x = one(&f);
        let l: Vec<_> = x
            .layouts
            .iter()
            .map(|l| (l.role.as_str(), l.major, l.ld.clone().unwrap()))
            .collect();
        assert_eq!(
            l,
            vec![
                ("C", Major::Row, "ldc".to_string()),
                ("A", Major::Row, "lda".to_string()),
                ("B", Major::Row, "ldb".to_string())
            ]
        );
        assert_eq!(x.dims.display(), "M×N×K");
    }

    #[test]
    fn flattened_col_major_and_pointer_arithmetic() {
        // Fortran-style column-major GEMM with *(A + ...) reads.
        let f = host(
            &[],
            "A: f64*, B: f64*, C: f64*",
            "for j in 0..n { for k in 0..kk { for i in 0..m {
               C[i + j*ldc] += *(A + i + k*lda) * B[k + j*ldb]; } } }",
        );
        let x = one(&f);
        assert_eq!(x.loop_order.as_deref(), Some("jki"));
        let l: Vec<_> = x
            .layouts
            .iter()
            .map(|l| {
                (
                    l.role.as_str(),
                    l.name.as_str(),
                    l.major,
                    l.ld.clone().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            l,
            vec![
                ("C", "C", Major::Col, "ldc".to_string()),
                ("A", "A", Major::Col, "lda".to_string()),
                ("B", "B", Major::Col, "ldb".to_string())
            ]
        );
        assert!(x.message.contains("dgemm"));
    }

    #[test]
    fn flattened_transposed_b() {
        let f = host(
            &[],
            "A: f32*, B: f32*, C: f32*",
            "for i in 0..M { for j in 0..N { for k in 0..K { C[i*N + j] += A[i*K + k] * B[j*K + k]; } } }",
        );
        let x = one(&f);
        assert_eq!(x.layouts[2].major, Major::Col);
        assert_eq!(x.layouts[2].ld.as_deref(), Some("K"));
    }

    #[test]
    fn polybench_alpha_beta() {
        let f = host(
            &[("NI", 1000), ("NJ", 1100), ("NK", 1200)],
            "A: f64[NI][NK], B: f64[NK][NJ], C: f64[NI][NJ], alpha: f64, beta: f64",
            "for i in 0..NI {
               for j in 0..NJ { C[i][j] *= beta; }
               for k in 0..NK {
                 for j in 0..NJ { C[i][j] += alpha * A[i][k] * B[k][j]; }
               }
             }",
        );
        let x = one(&f);
        assert_eq!(x.alpha.as_deref(), Some("alpha"));
        assert_eq!(x.beta.as_deref(), Some("beta"));
        assert_eq!(x.loop_order.as_deref(), Some("ikj"));
        assert_eq!(x.dims.display(), "1000×1100×1200");
        assert_eq!(x.key_range.start_line, 4);
    }

    #[test]
    fn scalar_accumulator_with_alpha_beta_store() {
        let f = host(
            &[("N", 256)],
            "A: f32*, B: f32*, C: f32*, alpha: f32, beta: f32",
            "for i in 0..N {
               for j in 0..N {
                 decl f32 sum = 0;
                 for k in 0..N { sum += A[i*N + k] * B[k*N + j]; }
                 C[i*N + j] = alpha * sum + beta * C[i*N + j];
               }
             }",
        );
        let x = one(&f);
        assert_eq!(x.alpha.as_deref(), Some("alpha"));
        assert_eq!(x.beta.as_deref(), Some("beta"));
        assert_eq!(x.key_range.start_line, 4);
        assert_eq!(x.range.start_line, 1);
        assert!(x.why.contains("sum += A[i*N+k]*B[k*N+j]"), "{}", x.why);
        assert!(x.confidence > 0.9);
    }

    #[test]
    fn subtraction_and_init_from_c() {
        // `s = C[..]; s -= A*B; C[..] = s`: C -= A·B, alpha -1.
        let f = host(
            &[],
            SQ,
            "for i in 0..N { for j in 0..N {
               s = C[i][j];
               for k in 0..N { s -= A[i][k] * B[k][j]; }
               C[i][j] = s; } }",
        );
        let x = one(&f);
        assert_eq!(x.alpha.as_deref(), Some("-1"));
        assert!(x.beta.is_none());
        let g = host(
            &[],
            SQ,
            "for i in 0..N { for j in 0..N { for k in 0..N { C[i][j] += -2 * A[i][k] * B[k][j]; } } }",
        );
        assert_eq!(one(&g).alpha.as_deref(), Some("-1*2"));
    }

    #[test]
    fn why_lists_vars_in_role_order() {
        let f = host(&[("N", 8)], SQ, &nest("kji"));
        let x = one(&f);
        assert_eq!(
            x.why,
            "C[i][j] += A[i][k]*B[k][j] over i, j, k (loop order k-j-i)"
        );
        assert_eq!(
            x.message,
            "hand-written GEMM 8×8×8 f32 (loop order k-j-i): one sgemm call does the same work"
        );
    }

    #[test]
    fn accumulating_stencil_is_not_gemm() {
        let f = host(
            &[],
            "A: f32[N][N], B: f32[N][N], c: f32",
            "for i in 1..N - 1 { for j in 1..N - 1 {
               B[i][j] += c * (A[i - 1][j] + A[i + 1][j] + A[i][j - 1] + A[i][j + 1]); } }",
        );
        assert!(run_all(&f).is_empty());
    }

    #[test]
    fn scalar_accumulator_needs_reinit_per_output() {
        // `sum` is never reset inside the i/j loops: not a GEMM.
        let f = host(
            &[],
            "A: f32*, B: f32*, C: f32*",
            "decl f32 sum = 0;
             for i in 0..N { for j in 0..N {
               for k in 0..N { sum += A[i*N + k] * B[k*N + j]; }
               C[i*N + j] = sum; } }",
        );
        assert!(run_all(&f).is_empty());
    }

    #[test]
    fn repetition_loop_is_not_part_of_the_range() {
        let f = host(
            &[],
            SQ,
            "for rep in 0..10 {\n for i in 0..N { for j in 0..N { for k in 0..N {\n C[i][j] += A[i][k] * B[k][j]; } } } }",
        );
        let x = one(&f);
        assert_eq!(x.range.start_line, 2);
        assert_eq!(x.loop_order.as_deref(), Some("ijk"));
    }

    #[test]
    fn blocked_nest_reports_full_sizes() {
        let f = host(
            &[("N", 512)],
            SQ,
            "for ii in 0..N step 32 { for kk in 0..N step 32 { for jj in 0..N step 32 {
               for i in ii..min(ii + 32, N) { for k in kk..min(kk + 32, N) { for j in jj..min(jj + 32, N) {
                 C[i][j] += A[i][k] * B[k][j]; } } } } } }",
        );
        let x = one(&f);
        assert_eq!(x.range.start_line, 1);
        assert_eq!(x.loop_order.as_deref(), Some("ikj"));
        assert_eq!(x.dims.display(), "512×512×512");
    }

    #[test]
    fn unrolled_reduction_is_one_gemm() {
        let f = host(
            &[("N", 64)],
            SQ,
            "for i in 0..N { for j in 0..N { for k in 0..N step 2 {
               C[i][j] += A[i][k] * B[k][j] + A[i][k + 1] * B[k + 1][j]; } } }",
        );
        let x = one(&f);
        assert_eq!(x.dims.display(), "64×64×64");
    }

    #[test]
    fn python_lists_and_comprehension() {
        let py = func(
            "matmul",
            FnKind::Python,
            "A: list, B: list, C: list",
            "for i in 0..len(A) { for j in 0..len(B[0]) { for k in 0..len(B) {
               C[i][j] += A[i][k] * B[k][j]; } } }",
        );
        let comp = func(
            "<module>",
            FnKind::Module,
            "A: list, B: list, C: list",
            "comp __i_row in 0..len(A) { comp __j_col in 0..len(B[0]) {
               __acc1 = 0;
               comp __k in 0..len(A[0]) { __acc1 += A[__i_row][__k] * B[__k][__j_col]; }
               C[__i_row][__j_col] = __acc1; } }",
        );
        let f = file(Lang::Python, &[], vec![py, comp]);
        let v = run(&GemmLoopNest, &f);
        assert_eq!(v.len(), 2);
        for x in &v {
            assert_eq!(x.backend, Backend::PythonLoop);
            assert_eq!(
                x.dims.display(),
                match x.function.as_deref() {
                    Some("matmul") => "len(A)×len(B[0])×len(B)",
                    _ => "len(A)×len(B[0])×len(A[0])",
                }
            );
            assert!(x.layouts.iter().all(|l| l.jagged));
            assert_eq!(x.dtype, Some(ElemType::PyFloat));
        }
    }

    #[test]
    fn numpy_element_loops_are_not_jagged() {
        let f = file(
            Lang::Python,
            &[("N", 128)],
            vec![func(
                "f",
                FnKind::Python,
                "A: nd f32[N][N], B: nd f32[N][N], C: nd f32[N][N]",
                "for i in 0..N { for j in 0..N { for k in 0..N { C[i, j] += A[i, k] * B[k, j]; } } }",
            )],
        );
        let x = one(&f);
        assert!(x.layouts.iter().all(|l| !l.jagged));
        assert_eq!(x.dims.display(), "128×128×128");
    }

    #[test]
    fn gemm_with_same_array_twice_is_still_gemm() {
        // C = A·A (a matrix square): not SYRK, since the second read is not Aᵀ.
        let f = host(
            &[],
            "A: f32[N][N], C: f32[N][N]",
            "for i in 0..N { for j in 0..N { for k in 0..N { C[i][j] += A[i][k] * A[k][j]; } } }",
        );
        assert_eq!(one(&f).routine, Routine::Gemm);
    }

    /// The negatives of the brief: none of them may produce any finding.
    #[test]
    fn negatives_produce_nothing() {
        let cases: &[(&str, &str)] = &[
            // Floyd–Warshall / min-plus.
            (
                "d: f32[N][N]",
                "for k in 0..N { for i in 0..N { for j in 0..N {
                   d[i][j] = min(d[i][j], d[i][k] + d[k][j]); } } }",
            ),
            // Min-plus written with += of a sum (not a product).
            (
                "d: f32[N][N], e: f32[N][N], o: f32[N][N]",
                "for i in 0..N { for j in 0..N { for k in 0..N {
                   o[i][j] += d[i][k] + e[k][j]; } } }",
            ),
            // 5-point stencil.
            (
                "A: f32[N][N], B: f32[N][N]",
                "for i in 1..N - 1 { for j in 1..N - 1 {
                   B[i][j] = 0.2 * (A[i][j] + A[i - 1][j] + A[i + 1][j] + A[i][j - 1] + A[i][j + 1]); } }",
            ),
            // Blur with a weight mask on one channel.
            (
                "img: f32[H][W], w: f32[3][3], out: f32[H][W]",
                "for y in 0..H { for x in 0..W { for dy in 0..3 { for dx in 0..3 {
                   out[y][x] += img[y + dy][x + dx] * w[dy][dx]; } } } }",
            ),
            // Element-wise product summed over a batch.
            (
                "A: f32[B][N][N], Bm: f32[B][N][N], C: f32[N][N]",
                "for b in 0..NB { for i in 0..N { for j in 0..N {
                   C[i][j] += A[b][i][j] * Bm[b][i][j]; } } }",
            ),
            // Dot product into a scalar and into a 1-element array.
            (
                "x: f32*, y: f32*, out: f32*",
                "decl f32 s = 0;
                 for i in 0..N { s += x[i] * y[i]; }
                 out[0] = s;
                 for i in 0..N { out[0] += x[i] * y[i]; }",
            ),
            // Plain reduction.
            ("x: f32*, r: f32*", "for i in 0..N { for j in 0..N { r[i] += x[i*N + j]; } }"),
            // Histogram.
            ("h: i32*, a: i32*", "for i in 0..N { h[a[i]] += 1; }"),
            // LU decomposition (PolyBench lu).
            (
                "A: f64[N][N]",
                "for i in 0..N {
                   for j in 0..i {
                     for k in 0..j { A[i][j] -= A[i][k] * A[k][j]; }
                     A[i][j] /= A[j][j];
                   }
                   for j in i..N {
                     for k in 0..i { A[i][j] -= A[i][k] * A[k][j]; }
                   }
                 }",
            ),
            // LU, right-looking, rectangular-looking bounds.
            (
                "A: f64[N][N]",
                "for k in 0..N { for i in k + 1..N { for j in k + 1..N {
                   A[i][j] -= A[i][k] * A[k][j]; } } }",
            ),
            // Cholesky (PolyBench).
            (
                "A: f64[N][N]",
                "for i in 0..N {
                   for j in 0..i {
                     for k in 0..j { A[i][j] -= A[i][k] * A[j][k]; }
                     A[i][j] /= A[j][j];
                   }
                   for k in 0..i { A[i][i] -= A[i][k] * A[i][k]; }
                   A[i][i] = sqrt(A[i][i]);
                 }",
            ),
            // In-place rank update with a scalar accumulator (LU, scalar form).
            (
                "A: f64[N][N]",
                "for i in 0..N { for j in 0..N {
                   w = A[i][j];
                   for k in 0..N { w -= A[i][k] * A[k][j]; }
                   A[i][j] = w; } }",
            ),
            // Element-wise product inside a k loop that does nothing.
            (
                "A: f32[N][N], B: f32[N][N], C: f32[N][N]",
                "for i in 0..N { for j in 0..N { for k in 0..N {
                   C[i][j] += A[i][j] * B[i][j]; } } }",
            ),
            // Outer product (rank-1 update): no reduction.
            (
                "a: f32*, b: f32*, C: f32[N][N]",
                "for i in 0..N { for j in 0..N { C[i][j] += a[i] * b[j]; } }",
            ),
            // Triangular non-in-place product without a diagonal read.
            (
                "A: f32[N][N], B: f32[N][N], C: f32[N][N]",
                "for i in 0..N { for j in 0..N { for k in 0..i + 1 {
                   C[i][j] += A[i][k] * B[k][j]; } } }",
            ),
            // Three-factor product.
            (
                "A: f32[N][N], B: f32[N][N], C: f32[N][N], D: f32[N][N]",
                "for i in 0..N { for j in 0..N { for k in 0..N {
                   C[i][j] += A[i][k] * B[k][j] * D[k][j]; } } }",
            ),
        ];
        for (decls, body) in cases {
            let f = host(&[("N", 100)], decls, body);
            let v = run_all(&f);
            assert!(v.is_empty(), "{body}\n{v:#?}");
        }
    }

    /// The `jagged` flags of the GEMM found in C/C++ `src` (lowered by the
    /// real front end), per operand role.
    fn jagged_flags(path: &str, src: &str) -> Vec<(String, bool)> {
        let a = crate::analyze(path, src, &crate::NoIncludes).unwrap();
        let gemm: Vec<_> = a.findings.iter().filter(|f| f.code == "GS101").collect();
        assert_eq!(gemm.len(), 1, "{src}: {:#?}", a.findings);
        gemm[0]
            .layouts
            .iter()
            .map(|l| (l.role.clone(), l.jagged))
            .collect()
    }

    #[test]
    fn declared_2d_parameters_are_contiguous() {
        let body = "{
            for (int i = 0; i < n; i++)
              for (int j = 0; j < n; j++)
                for (int p = 0; p < n; p++)
                  C[i][j] += A[i][p] * B[p][j];
          }";
        let flags = |params: &str, path: &str| {
            jagged_flags(path, &format!("#define N 64\nvoid f({params}) {body}\n"))
        };
        let none = |v: Vec<(String, bool)>| {
            assert_eq!(v.len(), 3, "{v:?}");
            v.iter().all(|(_, j)| !j)
        };
        // `A[][N]`, `A[N][N]`, C99 VLA `A[n][n]`, `(*A)[N]`: one block each.
        assert!(none(flags(
            "int n, float C[][N], float A[][N], float B[][N]",
            "t.c"
        )));
        assert!(none(flags(
            "int n, float C[N][N], float A[N][N], float B[N][N]",
            "t.c"
        )));
        assert!(none(flags(
            "int n, float C[n][n], float A[n][n], float B[n][n]",
            "t.c"
        )));
        assert!(none(flags(
            "int n, float (*C)[N], float (*A)[N], float (*B)[N]",
            "t.c"
        )));
        // Rows allocated apart stay jagged.
        let all = |v: Vec<(String, bool)>| v.len() == 3 && v.iter().all(|(_, j)| *j);
        assert!(all(flags("int n, float **C, float **A, float **B", "t.c")));
        assert!(all(flags(
            "int n, std::vector<std::vector<float>> &C, const std::vector<std::vector<float>> &A, const std::vector<std::vector<float>> &B",
            "t.cpp"
        )));
    }
}
