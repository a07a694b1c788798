//! Analysis throughput (bytes of source per second) per language, on large
//! generated inputs that mix GEMM nests, near-misses and ordinary code.
//!
//!     cargo bench -p gemmscope-analyzers --bench throughput
//!
//! divan reports bytes/s for each language; the figure is in the issue note.

use divan::counter::BytesCount;
use divan::Bencher;
use gemmscope_analyzers::{analyze, NoIncludes};

fn main() {
    divan::main();
}

/// Roughly `target` bytes of C: GEMMs in rotating loop orders, GEMVs,
/// stencils and plain helper functions.
fn c_source(target: usize) -> String {
    let orders = ["ijk", "ikj", "jik", "jki", "kij", "kji"];
    let mut s =
        String::from("#include <stdio.h>\n#define N 512\n#define IDX(i,j,ld) ((i)*(ld)+(j))\n");
    let mut n = 0;
    while s.len() < target {
        let o = orders[n % 6];
        let v: Vec<char> = o.chars().collect();
        s.push_str(&format!(
            "void mm_{n}(int M, int K, const float *A, const float *B, float *C) {{\n\
             \x20 for (int {a} = 0; {a} < N; {a}++)\n\
             \x20   for (int {b} = 0; {b} < N; {b}++)\n\
             \x20     for (int {c} = 0; {c} < N; {c}++)\n\
             \x20       C[IDX(i, j, N)] += A[i * K + k] * B[k * N + j];\n}}\n\
             void mv_{n}(int m, int n, const double *A, const double *x, double *y) {{\n\
             \x20 for (int i = 0; i < m; i++) {{ double t = 0; for (int j = 0; j < n; j++) t += A[i*n+j] * x[j]; y[i] = t; }}\n}}\n\
             void st_{n}(int n, float a[n][n], float b[n][n]) {{\n\
             \x20 for (int i = 1; i < n - 1; i++) for (int j = 1; j < n - 1; j++)\n\
             \x20   b[i][j] = 0.2f * (a[i][j] + a[i-1][j] + a[i+1][j] + a[i][j-1] + a[i][j+1]);\n}}\n\
             int helper_{n}(int x) {{ if (x > 3) {{ printf(\"%d\\n\", x); return x * 2; }} return x; }}\n",
            a = v[0],
            b = v[1],
            c = v[2],
        ));
        n += 1;
    }
    s
}

fn cuda_source(target: usize) -> String {
    let mut s = String::from("#include <cuda_runtime.h>\n#define TILE 16\n");
    let mut n = 0;
    while s.len() < target {
        s.push_str(&format!(
            "__global__ void naive_{n}(const float* A, const float* B, float* C, int M, int N, int K) {{\n\
             \x20 int row = blockIdx.y * blockDim.y + threadIdx.y;\n\
             \x20 int col = blockIdx.x * blockDim.x + threadIdx.x;\n\
             \x20 if (row < M && col < N) {{ float s = 0.f; for (int k = 0; k < K; ++k) s += A[row*K+k] * B[k*N+col]; C[row*N+col] = s; }}\n}}\n\
             __global__ void tiled_{n}(const float* A, const float* B, float* C, int N) {{\n\
             \x20 __shared__ float As[TILE][TILE]; __shared__ float Bs[TILE][TILE];\n\
             \x20 int tx = threadIdx.x, ty = threadIdx.y;\n\
             \x20 int row = blockIdx.y * TILE + ty; int col = blockIdx.x * TILE + tx; float s = 0.f;\n\
             \x20 for (int t = 0; t < N / TILE; ++t) {{\n\
             \x20   As[ty][tx] = A[row*N + t*TILE + tx]; Bs[ty][tx] = B[(t*TILE + ty)*N + col]; __syncthreads();\n\
             \x20   for (int k = 0; k < TILE; ++k) s += As[ty][k] * Bs[k][tx]; __syncthreads(); }}\n\
             \x20 C[row*N+col] = s;\n}}\n\
             __global__ void vadd_{n}(const float* a, const float* b, float* c, int n) {{\n\
             \x20 int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) c[i] = a[i] + b[i];\n}}\n"
        ));
        n += 1;
    }
    s
}

fn python_source(target: usize) -> String {
    let mut s = String::from("import numpy as np\nN = 256\n");
    let mut n = 0;
    while s.len() < target {
        s.push_str(&format!(
            "def mm_{n}(A, B):\n\
             \x20   C = [[0.0] * N for _ in range(N)]\n\
             \x20   for i in range(N):\n\
             \x20       for k in range(N):\n\
             \x20           for j in range(N):\n\
             \x20               C[i][j] += A[i][k] * B[k][j]\n\
             \x20   return C\n\n\
             def comp_{n}(A, B):\n\
             \x20   return [[sum(a * b for a, b in zip(row, col)) for col in zip(*B)] for row in A]\n\n\
             def attn_{n}(q, k, v):\n\
             \x20   s = q @ k.T / np.sqrt(q.shape[-1])\n\
             \x20   p = np.exp(s - s.max(axis=-1, keepdims=True))\n\
             \x20   p = p / p.sum(axis=-1, keepdims=True)\n\
             \x20   return p @ v\n\n\
             def hist_{n}(xs, bins):\n\
             \x20   h = [0] * bins\n\
             \x20   for x in xs:\n\
             \x20       h[int(x) % bins] += 1\n\
             \x20   return h\n\n"
        ));
        n += 1;
    }
    s
}

const SIZE: usize = 2 << 20;

fn run(b: Bencher, path: &'static str, text: String) {
    b.counter(BytesCount::of_str(&text)).bench(|| {
        let a = analyze(path, divan::black_box(&text), &NoIncludes).unwrap();
        divan::black_box(a.findings.len())
    });
}

fn source_for(path: &str) -> String {
    match path {
        "gen.c" => c_source(SIZE),
        "gen.cu" => cuda_source(SIZE),
        _ => python_source(SIZE),
    }
}

/// tree-sitter alone (parse to a tree, no lowering): the floor under the rest.
#[divan::bench(sample_count = 5, args = ["gen.c", "gen.cu", "gen.py"])]
fn parse_only(b: Bencher, path: &str) {
    let text = source_for(path);
    let lang: tree_sitter::Language = match path {
        "gen.c" => tree_sitter_c::LANGUAGE.into(),
        "gen.cu" => tree_sitter_cuda::LANGUAGE.into(),
        _ => tree_sitter_python::LANGUAGE.into(),
    };
    b.counter(BytesCount::of_str(&text)).bench(|| {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&lang).unwrap();
        let t = p.parse(divan::black_box(&text), None).unwrap();
        divan::black_box(t.root_node().child_count())
    });
}

/// The same inputs through the front end only (parse + lower), to see where
/// the time goes.
#[divan::bench(sample_count = 5, args = ["gen.c", "gen.cu", "gen.py"])]
fn lower_only(b: Bencher, path: &str) {
    let text = source_for(path);
    let lang = gemmscope_analyzers::Lang::from_path(path).unwrap();
    b.counter(BytesCount::of_str(&text)).bench(|| {
        let f =
            gemmscope_analyzers::frontend::lower(lang, path, divan::black_box(&text), &NoIncludes);
        divan::black_box(f.functions.len())
    });
}

#[divan::bench(sample_count = 5)]
fn c_2mib(b: Bencher) {
    run(b, "gen.c", c_source(SIZE));
}

#[divan::bench(sample_count = 5)]
fn cuda_2mib(b: Bencher) {
    run(b, "gen.cu", cuda_source(SIZE));
}

#[divan::bench(sample_count = 5)]
fn python_2mib(b: Bencher) {
    run(b, "gen.py", python_source(SIZE));
}
