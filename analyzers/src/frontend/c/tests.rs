use std::collections::HashMap;

use super::lower;
use crate::ir::{
    Access, AssignOp, ElemType, Expr, File, FnKind, Function, Loop, LoopKind, Poly, Stmt, StmtKind,
};
use crate::{IncludeResolver, NoIncludes};

/// A compact rendering of statements, for shape assertions.
fn render(stmts: &[Stmt]) -> String {
    stmts.iter().map(render_stmt).collect::<Vec<_>>().join(" ")
}

fn render_stmt(s: &Stmt) -> String {
    match &s.kind {
        StmtKind::Loop(l) => {
            let kind = match &l.kind {
                LoopKind::Serial => String::new(),
                LoopKind::CudaThread { axis, split } => {
                    format!(" thread.{axis}{}", if *split { " split" } else { "" })
                }
                LoopKind::Comprehension => " comp".into(),
            };
            let step = match &l.step {
                Expr::Int(1) => String::new(),
                e => format!(" step {e}"),
            };
            format!(
                "for {} in {}..{}{step}{kind} {{ {} }}",
                l.var,
                l.start,
                l.end,
                render(&l.body)
            )
        }
        StmtKind::Assign { target, op, value } => {
            let op = match op {
                AssignOp::Set => "=",
                AssignOp::Add => "+=",
                AssignOp::Sub => "-=",
                AssignOp::Mul => "*=",
                AssignOp::Div => "/=",
                AssignOp::Other => "?=",
            };
            format!("{target} {op} {value};")
        }
        StmtKind::Decl {
            name,
            dims,
            shared,
            init,
            ..
        } => {
            let dims: String = dims.iter().map(|d| format!("[{d}]")).collect();
            let sh = if *shared { "shared " } else { "" };
            match init {
                Some(i) => format!("decl {sh}{name}{dims} = {i};"),
                None => format!("decl {sh}{name}{dims};"),
            }
        }
        StmtKind::If { cond, then, els } => {
            if els.is_empty() {
                format!("if ({cond}) {{ {} }}", render(then))
            } else {
                format!(
                    "if ({cond}) {{ {} }} else {{ {} }}",
                    render(then),
                    render(els)
                )
            }
        }
        StmtKind::Expr(e) => format!("{e};"),
        StmtKind::Return(Some(e)) => format!("return {e};"),
        StmtKind::Return(None) => "return;".into(),
        StmtKind::Barrier => "sync;".into(),
        StmtKind::Opaque(b) => format!("opaque {{ {} }}", render(b)),
    }
}

fn c(text: &str) -> File {
    lower(text, "t.c", &NoIncludes, false)
}

fn cu(text: &str) -> File {
    lower(text, "t.cu", &NoIncludes, true)
}

fn func<'a>(f: &'a File, name: &str) -> &'a Function {
    f.functions
        .iter()
        .find(|x| x.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no function {name}; have {:?}",
                f.functions.iter().map(|x| &x.name).collect::<Vec<_>>()
            )
        })
}

fn body(f: &File, name: &str) -> String {
    render(&func(f, name).body)
}

fn as_loop(s: &Stmt) -> &Loop {
    match &s.kind {
        StmtKind::Loop(l) => l,
        k => panic!("not a loop: {k:?}"),
    }
}

/// The innermost statement of a perfect nest and the loops above it.
fn nest(stmts: &[Stmt]) -> (Vec<&Loop>, &Stmt) {
    let mut loops = Vec::new();
    let mut cur = stmts;
    loop {
        let real: Vec<&Stmt> = cur
            .iter()
            .filter(|s| !matches!(s.kind, StmtKind::Decl { init: None, .. }))
            .collect();
        assert_eq!(real.len(), 1, "not a perfect nest: {}", render(cur));
        match &real[0].kind {
            StmtKind::Loop(l) => {
                loops.push(l);
                cur = &l.body;
            }
            _ => return (loops, real[0]),
        }
    }
}

fn poly(s: &str) -> Poly {
    let f = c(&format!("const int __x = {s};"));
    Poly::from_expr(&f.consts["__x"]).expect("polynomial")
}

#[test]
fn gemm_nest_c() {
    let f = c("#define N 1024\n\
         void gemm(float *A, float *B, float *C) {\n\
           for (int i = 0; i < N; i++)\n\
             for (int j = 0; j < N; j++)\n\
               for (int k = 0; k < N; k++)\n\
                 C[i*N + j] += A[i*N + k] * B[k*N + j];\n\
         }\n");
    assert_eq!(f.consts["N"], Expr::Int(1024));
    let g = func(&f, "gemm");
    assert_eq!(g.kind, FnKind::Host);
    assert_eq!(g.params, vec!["A", "B", "C"]);
    let (loops, inner) = nest(&g.body);
    let vars: Vec<&str> = loops.iter().map(|l| l.var.as_str()).collect();
    assert_eq!(vars, ["i", "j", "k"]);
    for l in &loops {
        assert_eq!(l.start, Expr::Int(0));
        assert_eq!(l.end, Expr::var("N"));
        assert_eq!(l.step, Expr::Int(1));
        assert_eq!(l.kind, LoopKind::Serial);
    }
    assert_eq!(loops[0].header.start_line, 3);
    assert_eq!(loops[0].header.end_line, 3);
    let StmtKind::Assign { target, op, value } = &inner.kind else {
        panic!("{inner:?}")
    };
    assert_eq!(*op, AssignOp::Add);
    let is_array = |n: &str| g.is_array(n);
    let acc = Access::of(target, &is_array).unwrap();
    assert_eq!(acc.base, "C");
    assert_eq!(acc.polys().unwrap(), vec![poly("i*N + j")]);
    let Expr::Binary(crate::ir::BinOp::Mul, a, b) = value else {
        panic!("{value:?}")
    };
    let a = Access::of(a, &is_array).unwrap();
    let b = Access::of(b, &is_array).unwrap();
    assert_eq!((a.base.as_str(), b.base.as_str()), ("A", "B"));
    assert_eq!(a.polys().unwrap()[0].coeff("i").unwrap(), Poly::symbol("N"));
    assert_eq!(b.polys().unwrap()[0].coeff("k").unwrap(), Poly::symbol("N"));
    let vi = &g.vars["A"];
    assert!(vi.is_array);
    assert_eq!((vi.rank, vi.elem.clone()), (1, Some(ElemType::F32)));
    assert_eq!(g.vars["i"].elem, Some(ElemType::I32));
    assert!(!g.vars["i"].is_array);
}

#[test]
fn loop_forms() {
    let f = c("void f(int n, double **C, int M) {\n\
           int i, j, k;\n\
           for (i = 0, j = 5; i <= n - 1; i += 2) C[i][j] = 0;\n\
           for (k = 0; M > k; ++k) C[k][k] = 1;\n\
           for (i = 1; i != n; i = i + 1) ;\n\
           for (j = 0; j < n; j = 4 + j) ;\n\
           for (i = n - 1; i >= 0; i--) C[i][0] = 2;\n\
           for (i = 0; i < n; i++) { i = 3; }\n\
           for (;;) { k = 1; }\n\
           for (i = 0; i < n && k; i++) ;\n\
         }\n");
    let b = body(&f, "f");
    assert_eq!(
        b,
        "decl i; decl j; decl k; j = 5; for i in 0..n step 2 { C[i][j] = 0; } \
         for k in 0..M { C[k][k] = 1; } for i in 1..n {  } for j in 0..n step 4 {  } \
         for i in 0..n step -1 { C[i][0] = 2; } i = 0; opaque { i = 3; i += 1; } \
         opaque { k = 1; } i = 0; opaque { i += 1; }"
    );
    let g = func(&f, "f");
    assert_eq!(g.vars["C"].rank, 2);
    assert_eq!(g.vars["C"].elem, Some(ElemType::F64));
}

#[test]
fn counted_while_and_control_flow() {
    let f = c("int f(float *a, int n) {\n\
           int i = 0;\n\
           while (i < n) { a[i] = 0; i++; }\n\
           int j = 0;\n\
           while (j < n) { j = j * 2; }\n\
           do { n--; } while (n > 0);\n\
           if (n > 2) { a[0] = 1; } else if (n) a[1] = 2; else { a[2] = 3; }\n\
           switch (n) { case 1: a[0] = 4; break; default: a[1] = 5; }\n\
           { { a[3] = 6; } }\n\
           x = y = 0;\n\
           a[0] = fmaf(a[1], a[2], a[3]);\n\
           return (int)(n);\n\
         }\n");
    assert_eq!(
        body(&f, "f"),
        "decl i; for i in 0..n { a[i] = 0; } decl j = 0; opaque { j = j*2; } \
         opaque { n -= 1; } if (n>2) { a[0] = 1; } else { if (n) { a[1] = 2; } else { a[2] = 3; } } \
         opaque { opaque { a[0] = 4; opaque {  } } opaque { a[1] = 5; } } a[3] = 6; \
         y = 0; x = 0; a[0] = a[1]*a[2]+a[3]; return n;"
    );
}

#[test]
fn counted_do_while() {
    // Bumped first: the body sees start + s, ..., up to the first value >= n.
    let f = c("void f(float *a, int n) {\n\
           int k = 0;\n\
           do { k += 8; a[k] = 0; } while (k < n);\n\
           int j = 0;\n\
           do { a[j] = 1; j += 4; } while (j < n);\n\
           int m = 0;\n\
           do { a[m] = 2; m += 2; a[m] = 3; } while (m < n);\n\
         }\n");
    assert_eq!(
        body(&f, "f"),
        "decl k; for k in 8..n+8 step 8 { a[k] = 0; } \
         decl j; for j in 0..n step 4 { a[j] = 1; } \
         decl m = 0; opaque { a[m] = 2; m += 2; a[m] = 3; }"
    );
}

#[test]
fn expressions() {
    let f = cu(
        "void f(std::vector<float> &v, float *A, int K, int i, int k) {\n\
           s = 0x10 + 16u + 1.0f + 2.5e1 + 010;\n\
           t = *(A + i*K + k);\n\
           u = v.at(i) + v.size() + blockIdx.x + p->q;\n\
           w = static_cast<float>(i) + float(k) + (double)i;\n\
           m = i < k ? i : k;\n\
           z = __ldg(&A[i]) + __fmul_rn(A[0], A[1]) + std::max(i, k);\n\
           i++; --k;\n\
         }\n",
    );
    let g = func(&f, "f");
    let get = |n: usize| match &g.body[n].kind {
        StmtKind::Assign { value, .. } => value.clone(),
        k => panic!("{k:?}"),
    };
    assert_eq!(
        get(0),
        Expr::bin(
            crate::ir::BinOp::Add,
            Expr::bin(
                crate::ir::BinOp::Add,
                Expr::bin(
                    crate::ir::BinOp::Add,
                    Expr::bin(crate::ir::BinOp::Add, Expr::Int(16), Expr::Int(16)),
                    Expr::Float(1.0)
                ),
                Expr::Float(25.0)
            ),
            Expr::Int(8)
        )
    );
    let t = get(1);
    assert!(matches!(t, Expr::Unary(crate::ir::UnOp::Deref, _)));
    let acc = Access::of(&t, &|n| g.is_array(n)).unwrap();
    assert_eq!(acc.base, "A");
    assert_eq!(acc.polys().unwrap(), vec![poly("i*K + k")]);
    assert_eq!(get(2).to_string(), "v[i]+v.size()+blockIdx.x+p.q");
    assert_eq!(get(3).to_string(), "i+k+i");
    assert_eq!(get(4).to_string(), "min(i, k)");
    assert_eq!(get(5).to_string(), "A[i]+A[0]*A[1]+max(i, k)");
    assert_eq!(render(&g.body[6..]), "i += 1; k -= 1;");
    assert!(g.vars["v"].is_array);
    assert_eq!(g.vars["v"].rank, 1);
}

#[test]
fn declarations_and_types() {
    let f = cu("#define DATA_TYPE double\n\
         typedef float real;\n\
         using idx_t = long;\n\
         using Mat = std::vector<std::vector<double>>;\n\
         #define N 64\n\
         void f(const float * __restrict__ A, DATA_TYPE B[N][2*N], real **C,\n\
                std::vector<std::vector<double>> &D, Mat E, idx_t n, const std::vector<float> &w) {\n\
           float t[16][16];\n\
           std::vector<float> out(n * n, 0.0f);\n\
           real s = 0, *p = C[0];\n\
           unsigned long q;\n\
         }\n");
    assert_eq!(f.type_aliases["DATA_TYPE"], "double");
    assert_eq!(f.type_aliases["real"], "float");
    let g = func(&f, "f");
    let v = &g.vars;
    assert_eq!((v["A"].rank, v["A"].elem.clone()), (1, Some(ElemType::F32)));
    assert_eq!((v["B"].rank, v["B"].elem.clone()), (2, Some(ElemType::F64)));
    assert_eq!(v["B"].shape.len(), 2);
    assert_eq!(v["B"].shape[0], Expr::var("N"));
    assert_eq!(v["B"].shape[1].to_string(), "2*N");
    assert_eq!((v["C"].rank, v["C"].elem.clone()), (2, Some(ElemType::F32)));
    assert_eq!((v["D"].rank, v["D"].elem.clone()), (2, Some(ElemType::F64)));
    assert_eq!((v["E"].rank, v["E"].elem.clone()), (2, Some(ElemType::F64)));
    assert_eq!((v["n"].rank, v["n"].elem.clone()), (0, Some(ElemType::I64)));
    assert_eq!((v["w"].rank, v["w"].elem.clone()), (1, Some(ElemType::F32)));
    assert_eq!(v["t"].shape, vec![Expr::Int(16), Expr::Int(16)]);
    assert_eq!(v["out"].shape[0].to_string(), "n*n");
    assert!(v["out"].is_array);
    assert_eq!((v["p"].rank, v["p"].elem.clone()), (1, Some(ElemType::F32)));
    assert_eq!((v["s"].rank, v["s"].elem.clone()), (0, Some(ElemType::F32)));
    assert_eq!(v["q"].elem, Some(ElemType::I64));
    assert_eq!(
        body(&f, "f"),
        "decl t[16][16]; decl out; decl s = 0; decl p = C[0]; decl q;"
    );
}

#[test]
fn file_constants() {
    let f = cu("#define N 1024 // size\n\
         #define NN (N*N)\n\
         #define ALPHA 1.5f\n\
         #define EMPTY\n\
         const int M = 512;\n\
         static const int K = 3;\n\
         constexpr int T = 16;\n\
         enum { A = 64, B, C = A * 2 };\n\
         float glob[N];\n");
    assert_eq!(f.const_value("N"), Some(1024));
    assert_eq!(f.const_value("NN"), Some(1024 * 1024));
    assert_eq!(f.consts["ALPHA"], Expr::Float(1.5));
    assert_eq!(f.const_value("M"), Some(512));
    assert_eq!(f.const_value("K"), Some(3));
    assert_eq!(f.const_value("T"), Some(16));
    assert_eq!(f.const_value("A"), Some(64));
    assert_eq!(f.const_value("B"), Some(65));
    assert_eq!(f.const_value("C"), Some(128));
    assert!(!f.consts.contains_key("glob"));
}

#[test]
fn function_like_macros_expand() {
    let f = c("#define IDX(i,j,ld) ((i)*(ld)+(j))\n\
         #define A_(r,c) A[IDX(r,c,lda)]\n\
         #define MIN(a,b) ((a) < (b) ? (a) : (b))\n\
         void f(float *A, float *C, int lda, int n) {\n\
           for (int j = 0; j < MIN(n, 8); j++)\n\
             C[IDX(j, 0, lda)] += A_(0, j) * A_(j, 0);\n\
         }\n");
    assert_eq!(
        body(&f, "f"),
        "for j in 0..min(n, 8) { C[j*lda+0] += A[0*lda+j]*A[j*lda+0]; }"
    );
    // A recursive macro does not loop forever.
    let g = c("#define R(x) R(x + 1)\nint f(int y) { return R(y); }\n");
    assert_eq!(body(&g, "f"), "return R(y+1);");
}

#[test]
fn conditional_definitions() {
    let f = c(
        "#if !defined(MINI) && !defined(LARGE)\n# define LARGE\n#endif\n\
         #ifdef MINI\n# define NI 16\n#endif\n\
         #ifdef LARGE\n# define NI 1000\n#endif\n\
         #ifndef NI\n# define NI 5\n#endif\n\
         #ifdef USE_DOUBLE\n#define real double\n#else\n#define real float\n#endif\n\
         #ifdef FOO\nvoid g(void) { }\n#endif\n",
    );
    assert_eq!(f.const_value("NI"), Some(1000));
    assert_eq!(f.type_aliases["real"], "float");
    // Functions in every branch are lowered.
    func(&f, "g");
}

struct Headers(HashMap<&'static str, &'static str>);

impl IncludeResolver for Headers {
    fn resolve(&self, _from: &str, include: &str) -> Option<String> {
        self.0.get(include).map(|s| s.to_string())
    }
}

#[test]
fn includes_are_read() {
    let h = Headers(HashMap::from([
        (
            "sizes.h",
            "#include \"types.h\"\n#define M 256\n#define AT(i,j) ((i)*M+(j))\n\
             static inline int idx(int i, int j, int n) { return i * n + j; }\n",
        ),
        (
            "types.h",
            "#include \"sizes.h\"\ntypedef double real_t;\nenum { K = 7 };\n",
        ),
    ]));
    let f = lower(
        "#include \"sizes.h\"\n#include <stdio.h>\n\
         void f(real_t *A) { A[AT(1, 2)] = A[idx(3, 4, K)]; }\n",
        "src/main.c",
        &h,
        false,
    );
    assert_eq!(f.const_value("M"), Some(256));
    assert_eq!(f.const_value("K"), Some(7));
    assert_eq!(f.type_aliases["real_t"], "double");
    let g = func(&f, "f");
    assert_eq!(g.vars["A"].elem, Some(ElemType::F64));
    assert_eq!(body(&f, "f"), "A[1*M+2] = A[3*K+4];");
    // Header functions are known for inlining, not reported as the file's own.
    assert_eq!(f.functions.len(), 1);
}

#[test]
fn cpp_methods_and_templates() {
    let f = cu("class Mat {\n\
           float *data; int n;\n\
         public:\n\
           void scale(float s) { for (int i = 0; i < n; i++) data[i] *= s; }\n\
           static constexpr int TILE = 32;\n\
         };\n\
         void Mat::zero() { data[0] = 0; }\n\
         namespace ns { void free_fn(int x) { } }\n\
         template <typename T, int BS>\n\
         __global__ void k(const T *A, T *C, int n) { C[0] = A[0]; }\n\
         template <typename T> __device__ T get(const T *A, int r, int c, int ld) { return A[r * ld + c]; }\n\
         __device__ void dev(float *p) { p[0] = 1; p[1] = 2; }\n");
    let m = func(&f, "Mat::scale");
    assert_eq!(m.kind, FnKind::Host);
    assert!(m.vars["data"].is_array);
    assert_eq!(render(&m.body), "for i in 0..n { data[i] *= s; }");
    assert!(func(&f, "Mat::zero").vars["data"].is_array);
    assert_eq!(f.const_value("TILE"), Some(32));
    func(&f, "free_fn");
    let k = func(&f, "k");
    assert_eq!(k.kind, FnKind::CudaKernel);
    assert_eq!(k.template_params, vec!["T"]);
    assert_eq!(k.vars["A"].elem, Some(ElemType::Named("T".into())));
    assert_eq!(k.vars["BS"].rank, 0);
    // The kernel's span starts at `__global__`, not at `template`.
    assert_eq!(k.span.start_line, 10);
    assert_eq!(func(&f, "get").kind, FnKind::CudaDevice);
    assert_eq!(func(&f, "dev").kind, FnKind::CudaDevice);
}

#[test]
fn cuda_naive_kernel() {
    let f = cu("template <typename T>\n\
         __device__ T get(const T *A, int r, int c, int ld) { return A[r * ld + c]; }\n\
         __global__ void mm(const float *A, const float *B, float *C, int M, int N, int K) {\n\
           int row = blockIdx.y * blockDim.y + threadIdx.y;\n\
           int col = threadIdx.x + blockDim.x * blockIdx.x;\n\
           if (row < M && col < N) {\n\
             float sum = 0.0f;\n\
             for (int k = 0; k < K; ++k)\n\
               sum += get<float>(A, row, k, K) * B[k * N + col];\n\
             C[row * N + col] = sum;\n\
           }\n\
         }\n");
    let k = func(&f, "mm");
    assert_eq!(
        render(&k.body),
        "for row in 0..M thread.y { for col in 0..N thread.x { decl sum = 0; \
         for k in 0..K { sum += A[row*K+k]*B[k*N+col]; } C[row*N+col] = sum; } }"
    );
    let outer = as_loop(&k.body[0]);
    assert_eq!(outer.header.start_line, 4);
    assert_eq!(k.body[0].span.end_line, 12);
}

#[test]
fn cuda_early_return_and_tile_constant() {
    let f = cu("#define TILE 16\n\
         __global__ void mm(float *A, float *B, float *C, int n) {\n\
           int bx = blockIdx.x, tx = threadIdx.x;\n\
           int col = bx * TILE + tx;\n\
           int row = TILE * blockIdx.y + threadIdx.y;\n\
           if (row >= n || col >= n) return;\n\
           C[row * n + col] = A[row] * B[col];\n\
         }\n");
    assert_eq!(
        body(&f, "mm"),
        "decl bx = blockIdx.x; decl tx = threadIdx.x; for col in 0..n thread.x { \
         for row in 0..n thread.y { C[row*n+col] = A[row]*B[col]; } }"
    );
}

#[test]
fn cuda_split_index_and_no_guard() {
    let f = cu(
        "__global__ void mm(float *A, float *B, float *C, int M, int N, int K) {\n\
           int idx = blockIdx.x * blockDim.x + threadIdx.x;\n\
           if (idx < M * N) {\n\
             int row = idx / N;\n\
             int col = idx % N;\n\
             C[idx] = A[row * K] + B[col];\n\
           }\n\
         }\n\
         __global__ void g(float *x) {\n\
           int i = threadIdx.x + blockIdx.x * blockDim.x;\n\
           x[i] = 0;\n\
         }\n\
         __global__ void h(float *x) { int t = threadIdx.x; x[t] = 0; }\n",
    );
    assert_eq!(
        body(&f, "mm"),
        "for row in 0..M thread.x split { for col in 0..N thread.x split { \
         decl idx = row*N+col; C[idx] = A[row*K]+B[col]; } }"
    );
    assert_eq!(
        body(&f, "g"),
        "for i in 0..gridDim.x*blockDim.x thread.x { x[i] = 0; }"
    );
    assert_eq!(body(&f, "h"), "decl t = threadIdx.x; x[t] = 0;");
}

#[test]
fn cuda_tiled_kernel() {
    let f = cu("#define TILE 32\n\
         __global__ void tiled(const float* A, const float* B, float* C, int N) {\n\
           __shared__ float As[TILE][TILE];\n\
           __shared__ float Bs[TILE][TILE];\n\
           int tx = threadIdx.x, ty = threadIdx.y;\n\
           int row = blockIdx.y * TILE + ty;\n\
           int col = blockIdx.x * TILE + tx;\n\
           float acc = 0;\n\
           for (int t = 0; t < N / TILE; ++t) {\n\
             As[ty][tx] = A[row * N + t * TILE + tx];\n\
             Bs[ty][tx] = B[(t * TILE + ty) * N + col];\n\
             __syncthreads();\n\
             for (int k = 0; k < TILE; ++k) acc += As[ty][k] * Bs[k][tx];\n\
             __syncthreads();\n\
           }\n\
           if (row < N && col < N) C[row * N + col] = acc;\n\
         }\n");
    let k = func(&f, "tiled");
    assert_eq!(
        render(&k.body),
        "decl shared As[TILE][TILE]; decl shared Bs[TILE][TILE]; decl tx = threadIdx.x; \
         decl ty = threadIdx.y; for row in 0..N thread.y { for col in 0..N thread.x { \
         decl acc = 0; for t in 0..N/TILE { As[ty][tx] = A[row*N+t*TILE+tx]; \
         Bs[ty][tx] = B[(t*TILE+ty)*N+col]; sync; for k in 0..TILE { acc += As[ty][k]*Bs[k][tx]; } \
         sync; } C[row*N+col] = acc; } }"
    );
    assert!(k.vars["As"].shared);
    assert_eq!(k.vars["As"].rank, 2);
    assert_eq!(
        k.vars["As"].shape,
        vec![Expr::var("TILE"), Expr::var("TILE")]
    );
}

#[test]
fn polybench_parameters() {
    let f = c("#define DATA_TYPE double\n\
         void kernel_gemm(int ni, DATA_TYPE alpha, DATA_TYPE POLYBENCH_2D(C,NI,NJ,ni,nj)) {\n\
           C[0][0] *= alpha;\n\
         }\n");
    let g = func(&f, "kernel_gemm");
    assert_eq!(g.params, vec!["ni", "alpha", "C"]);
    assert_eq!(g.vars["C"].rank, 2);
    assert_eq!(g.vars["C"].elem, Some(ElemType::F64));
    assert_eq!(g.vars["C"].shape, vec![Expr::var("NI"), Expr::var("NJ")]);
}

#[test]
fn syntax_errors_are_recorded_and_the_rest_lowered() {
    let f = c(
        "void ok(float *a, int n) { for (int i = 0; i < n; i++) a[i] = 0; }\n\
         void bad(int n) { int x = ; for (int i = 0; i < n i++) { }\n\
         void ok2(float *b) { b[0] = 1; }\n",
    );
    assert!(!f.syntax_problems.is_empty());
    assert!(f.syntax_problems.len() <= 50);
    assert_eq!(body(&f, "ok"), "for i in 0..n { a[i] = 0; }");
}

#[test]
fn garbage_does_not_panic() {
    let inputs = [
        "}}}}{{{{ ))) for while if else ;;; #define #include \"",
        "\u{0}\u{1}\u{2}\u{ff}garbage \\ \\\n #if",
        "void f() { for (;;",
        "__global__ void k( { int row = blockIdx.x * ; if (row <",
        "#define F(x) F(F(x))\nint f() { return F(1); }",
        "",
    ];
    for t in inputs {
        let _ = c(t);
        let _ = cu(t);
    }
    let bytes: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let s = String::from_utf8_lossy(&bytes);
    let f = c(&s);
    assert!(f.syntax_problems.len() <= 50);
    let _ = cu(&s);
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 10_000;
    let blocks = format!(
        "void f(int *a) {{ {} a[0] = 1; {} }}",
        "{".repeat(depth),
        "}".repeat(depth)
    );
    let f = c(&blocks);
    func(&f, "f");
    let ifs = format!(
        "void g(int *a) {{ {} a[0] = 1; }}",
        "if (a[0]) ".repeat(depth)
    );
    let f = cu(&ifs);
    func(&f, "g");
    let expr = format!(
        "int h(int a) {{ return {}a{}; }}",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let _ = c(&expr);
    let sum = format!("int s(int a) {{ return a{}; }}", " + a".repeat(depth));
    let _ = c(&sum);
    let unbalanced = "{".repeat(depth);
    let _ = c(&unbalanced);
    let _ = cu(&unbalanced);
}

#[test]
fn large_file_finishes() {
    let mut s = String::with_capacity(5_200_000);
    s.push_str("#define N 64\n");
    let mut i = 0;
    while s.len() < 5_000_000 {
        s.push_str(&format!(
            "void f{i}(float *A, float *B, float *C) {{\n\
               for (int i = 0; i < N; i++)\n\
                 for (int j = 0; j < N; j++) {{\n\
                   float acc = 0;\n\
                   for (int k = 0; k < N; k++) acc += A[i*N+k] * B[k*N+j];\n\
                   C[i*N+j] = acc;\n\
                 }}\n}}\n"
        ));
        i += 1;
    }
    let f = c(&s);
    assert_eq!(f.functions.len(), i);
    assert!(f.syntax_problems.is_empty());
}

#[test]
fn split_in_either_order_and_guard_on_halves() {
    let f = cu("__global__ void mm(float *C, int M, int N) {\n\
           int idx = threadIdx.x + blockIdx.x * blockDim.x;\n\
           int col = idx % N;\n\
           int row = idx / N;\n\
           if (row < M && col < N) C[row * N + col] = 0;\n\
         }\n");
    assert_eq!(
        body(&f, "mm"),
        "for col in 0..N thread.x split { for row in 0..M thread.x split { \
         decl idx = row*N+col; C[row*N+col] = 0; } }"
    );
}

#[test]
fn pointer_walks_globals_and_local_macros() {
    let f = c("float G[64][32];\n\
         void f(float *A, int n) {\n\
           #define LD 8\n\
           #define AT(i, j) A[(i) * LD + (j)]\n\
           for (float *p = A; p < A + n; p++) *p = 0;\n\
           AT(1, 2) = G[0][0];\n\
         }\n");
    assert_eq!(f.const_value("LD"), Some(8));
    assert_eq!(
        body(&f, "f"),
        "decl p = A; opaque { *p = 0; p += 1; } A[1*LD+2] = G[0][0];"
    );
    let g = func(&f, "f");
    assert_eq!(g.vars["G"].rank, 2);
    assert_eq!(g.vars["G"].shape, vec![Expr::Int(64), Expr::Int(32)]);
}

#[test]
fn casts_written_as_calls_and_constructors() {
    let f = cu("#define DATA_TYPE double\n\
         template <typename T> void f(T *a, int n) {\n\
           (void)n;\n\
           T acc = T(0);\n\
           dim3 block(16, 16);\n\
           int w(3);\n\
           a[0] = (DATA_TYPE)(n) + acc;\n\
         }\n");
    assert_eq!(
        body(&f, "f"),
        "decl acc = 0; decl block = dim3(16, 16); decl w = 3; a[0] = n+acc;"
    );
    // CUDA compilers define __CUDACC__, but it is not a file constant.
    let g = cu("#ifdef __CUDACC__\n#define ON 1\n#else\n#define ON 0\n#endif\n");
    assert_eq!(g.const_value("ON"), Some(1));
    assert!(!g.consts.contains_key("__CUDACC__"));
}

#[test]
fn ternary_is_a_select_call() {
    let f = cu(
        "void f(const float *A, float *s, int row, int M, int K, int c) {\n\
           s[0] = (row < M && c < K) ? A[row * K + c] : 0.0f;\n\
           s[1] = row < M ? row : M;\n\
         }\n",
    );
    let g = func(&f, "f");
    let get = |n: usize| match &g.body[n].kind {
        StmtKind::Assign { value, .. } => value.clone(),
        k => panic!("{k:?}"),
    };
    let Expr::Call {
        func: name,
        recv,
        args,
        kwargs,
    } = get(0)
    else {
        panic!("{:?}", get(0))
    };
    assert_eq!(name, "select");
    assert!(recv.is_none() && kwargs.is_empty());
    assert_eq!(args.len(), 3);
    assert!(matches!(args[0], Expr::Binary(crate::ir::BinOp::And, _, _)));
    assert_eq!(args[1].to_string(), "A[row*K+c]");
    assert_eq!(args[2], Expr::Float(0.0));
    // The min shape stays `min`.
    assert!(matches!(get(1), Expr::Call { ref func, .. } if func == "min"));
}

#[test]
fn array_parameters_keep_their_shape() {
    let f = c("#define N 64\n\
         void f(int n, int k, float A[][N], float B[N][N], float V[n][k],\n\
                float (*R)[N], float **P, float *Q[N], float *F) {}\n");
    let g = func(&f, "f");
    let shape = |n: &str| {
        let v = &g.vars[n];
        (
            v.rank,
            v.shape.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        )
    };
    let s = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(shape("A"), (2, s(&["?", "N"])));
    assert_eq!(g.vars["A"].shape[0], Expr::Other("?".into()));
    assert_eq!(shape("B"), (2, s(&["N", "N"])));
    assert_eq!(shape("V"), (2, s(&["n", "k"])));
    assert_eq!(shape("R"), (2, s(&["?", "N"])));
    // Rows allocated apart, or flat: no 2-D shape.
    assert_eq!(shape("P"), (2, s(&[])));
    assert_eq!(shape("Q"), (2, s(&[])));
    assert_eq!(shape("F"), (1, s(&[])));
}

#[test]
fn command_line_defines_come_first_and_win_over_ifndef_defaults() {
    let build = crate::BuildContext {
        defines: vec![
            ("N".into(), Some("4096".into())),
            ("FAST".into(), None),
            ("real".into(), Some("float".into())),
            ("GONE".into(), Some("3".into())),
            ("bad name".into(), Some("1".into())),
        ],
        undefines: vec!["GONE".into()],
        ..Default::default()
    };
    let f = super::lower_with(
        "#ifndef N\n#define N 64\n#endif\n#ifdef FAST\n#define M 8\n#else\n#define M 9\n#endif\n",
        "a.c",
        &NoIncludes,
        false,
        &build,
    );
    assert_eq!(f.const_value("N"), Some(4096));
    assert_eq!(f.const_value("M"), Some(8));
    assert_eq!(f.type_aliases["real"], "float");
    assert_eq!(f.const_value("GONE"), None);
    // Without the build context the file's default stands.
    let f = lower(
        "#ifndef N\n#define N 64\n#endif\n",
        "a.c",
        &NoIncludes,
        false,
    );
    assert_eq!(f.const_value("N"), Some(64));
}

/// Finds quoted and angled includes in one include directory.
struct IncludeDir;

impl IncludeResolver for IncludeDir {
    fn resolve(&self, _from: &str, _include: &str) -> Option<String> {
        None
    }
    fn find(&self, _from: &str, include: &str, _angled: bool) -> Option<(String, String)> {
        match include {
            "proj/sizes.h" => Some((
                "/inc/proj/sizes.h".into(),
                "#include \"more.h\"\n#define M 32\n".into(),
            )),
            "more.h" => Some(("/inc/proj/more.h".into(), "#define K 16\n".into())),
            _ => None,
        }
    }
}

#[test]
fn angled_includes_go_through_the_resolvers_find() {
    let f = super::lower_with(
        "#include <proj/sizes.h>\n#include <stdio.h>\n",
        "src/a.c",
        &IncludeDir,
        false,
        &crate::BuildContext::default(),
    );
    assert_eq!(f.const_value("M"), Some(32));
    assert_eq!(f.const_value("K"), Some(16));
}

fn normalized(f: &mut File, name: &str) -> String {
    crate::normalize::normalize(f);
    body(f, name)
}

#[test]
fn two_variable_tile_loop_is_reindexed_and_folded() {
    let mut f = cu("__global__ void k(float *A, float *B, float *C, int w) {\n\
           int a0 = w * 16 * blockIdx.y;\n\
           float s = 0;\n\
           for (int a = a0, b = 16 * blockIdx.x; a <= a0 + w - 1; a += 16, b += 16 * w) {\n\
             s += A[a + threadIdx.x] * B[b + threadIdx.y];\n\
           }\n\
           C[0] = s;\n\
         }\n");
    let b = normalized(&mut f, "k");
    assert!(b.contains("for a_n in 0..(w+15)/16"), "{b}");
    assert!(b.contains("A[w*16*blockIdx.y+16*a_n+threadIdx.x]"), "{b}");
    assert!(b.contains("B[16*blockIdx.x+16*a_n*w+threadIdx.y]"), "{b}");
    // The raw builtins of a grid with no global index are thread loops.
    assert!(
        b.starts_with("for blockIdx.x in 0..gridDim.x thread.x"),
        "{b}"
    );
}

#[test]
fn pointer_bumps_fold_into_the_accesses() {
    let mut f = c("void k(const float *A, float *C, int K) {\n\
           A += 3 * K;\n\
           float s = 0;\n\
           for (int t = 0; t < K; t += 8) {\n\
             s += A[0] * A[1];\n\
             A += 8;\n\
           }\n\
           C[0] = s;\n\
         }\n\
         int g;\n\
         void side(float *x, int n) { for (int i = 0; i < n; i++) { x[i] = 0; g += 2; } }\n");
    let b = normalized(&mut f, "k");
    assert!(b.contains("(A+3*K+t)[0]"), "{b}");
    assert!(!b.contains("A += 8"), "{b}");
    // A global's bump is a side effect: kept.
    assert!(normalized(&mut f, "side").contains("g += 2"));
}

#[test]
fn helpers_called_in_loops_are_inlined() {
    let mut f = c(
        "static void dot(int n, const float *x, const float *y, float *out) {\n\
           for (int p = 0; p < n; p++) *out += x[p] * y[p * n];\n\
         }\n\
         void mm(int n, const float *A, const float *B, float *C) {\n\
           for (int i = 0; i < n; i++)\n\
             for (int j = 0; j < n; j++)\n\
               dot(n, &A[i * n], &B[j], &C[i * n + j]);\n\
           dot(n, A, B, C);\n\
         }\n",
    );
    let b = normalized(&mut f, "mm");
    assert!(
        b.contains("for p_1 in 0..n { *(C+i*n+j) += (A+i*n)[p_1]*(B+j)[p_1*n]; }"),
        "{b}"
    );
    // The call outside the loops stays a call.
    assert!(b.contains("dot(n, A, B, C)"), "{b}");
}

#[test]
fn vector_intrinsics_read_lane_by_lane() {
    let mut f = c(
        "void k(int n, const float *A, const float *B, float *C) {\n\
           for (int j = 0; j < n; j += 8) {\n\
             __m256 acc = _mm256_loadu_ps(&C[j]);\n\
             acc = _mm256_fmadd_ps(_mm256_set1_ps(A[j]), _mm256_loadu_ps(&B[j]), acc);\n\
             _mm256_storeu_ps(&C[j], acc);\n\
           }\n\
         }\n",
    );
    let b = normalized(&mut f, "k");
    // Eight lanes each (normalize/simd.rs): A[j] is broadcast.
    assert!(b.contains("acc[__vlane0] = C[j+__vlane0]"), "{b}");
    assert!(
        b.contains("for __vlane1 in 0..8 { acc[__vlane1] += A[j]*B[j+__vlane1]; }"),
        "{b}"
    );
    assert!(b.contains("C[j+__vlane2] = acc[__vlane2]"), "{b}");
}
