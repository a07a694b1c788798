//! Joins the two halves: turns an analyzer `Finding` into the plain
//! microbench `Problem` that says what to measure, and names the candidate
//! that stands for the code as written. The analyzers and the microbench
//! never see each other; this module and its parent are the only places
//! that know both.

use gemmscope_analyzers::ir::ElemType;
use gemmscope_analyzers::{Backend, Finding, Major, Routine};
use gemmscope_microbench::{DType, Layout, LoopOrder, Operation, Problem};

/// Why a finding cannot be measured as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoProblem {
    /// A dimension has no value in the file (`M×N×K` with `M` a parameter).
    UnresolvedDim(&'static str, String),
    /// The element type is not one the candidates implement.
    DType(String),
    /// The routine has no candidates yet.
    Routine(&'static str),
    /// The sizes are outside what the tool measures or predicts (a zero
    /// dim, a dim over 2^20, operands over 64 GiB).
    OutOfRange(String),
    /// The code as written already runs on the tensor cores (a `wmma`
    /// kernel, GS109): no candidate stands for it, so nothing is estimated
    /// and no speed-up is claimed.
    TensorCores,
}

impl std::fmt::Display for NoProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoProblem::UnresolvedDim(d, e) => write!(f, "{d} = `{e}` has no value in this file"),
            NoProblem::DType(t) => write!(f, "element type `{t}` has no benchmark candidates"),
            NoProblem::Routine(r) => write!(f, "routine `{r}` has no benchmark candidates yet"),
            NoProblem::OutOfRange(why) => write!(f, "{why}"),
            NoProblem::TensorCores => write!(
                f,
                "the kernel already runs on the tensor cores (wmma) and no benchmark candidate stands for it as written, so nothing is estimated and no speed-up is claimed"
            ),
        }
    }
}

fn dtype(t: &Option<ElemType>) -> Result<DType, NoProblem> {
    match t {
        Some(ElemType::F32) => Ok(DType::F32),
        // Python floats are doubles.
        Some(ElemType::F64 | ElemType::PyFloat) => Ok(DType::F64),
        Some(ElemType::F16) => Ok(DType::F16),
        Some(ElemType::Bf16) => Ok(DType::Bf16),
        // Unknown (e.g. a template parameter): measure the common case.
        None | Some(ElemType::Named(_)) => Ok(DType::F32),
        Some(other) => Err(NoProblem::DType(other.short())),
    }
}

/// What a convolution's numbers are: the GEMM it lowers to, with the
/// direct loop as written standing in as the naive GEMM of that size.
pub const CONV_AS_GEMM: &str = "as the im2col GEMM it lowers to (the loop as written as the naive GEMM of that size; the im2col copy not counted)";

/// The problem a finding describes: same dims, element type, operand
/// layouts and loop order. SYRK/SYR2K/SYMM/TRMM are measured as the GEMM of
/// the same shape (the work the library routine replaces is at most that).
pub fn problem_for(f: &Finding) -> Result<Problem, NoProblem> {
    // A hand-written tensor-core kernel: the candidates that would stand
    // for it (the naive and tiled CUDA kernels) run on the CUDA cores, so
    // any speed-up over them would be claimed against code that is not
    // this one.
    if gemmscope_analyzers::detectors::cuda_wmma_matmul::already_on_tensor_cores(f.code) {
        return Err(NoProblem::TensorCores);
    }
    let op = match f.routine {
        Routine::Gemm | Routine::Syrk | Routine::Syr2k | Routine::Symm | Routine::Trmm => {
            Operation::Gemm
        }
        Routine::GemmBatched => Operation::GemmBatched,
        // y[M] = A x[K]: measured as itself (n = 1).
        Routine::Gemv => Operation::Gemv,
        // The finding's M×N×K are the im2col GEMM's (output pixels ×
        // output channels × input channels·kernel): measured as that GEMM,
        // and said so ([`CONV_AS_GEMM`]).
        Routine::Conv => Operation::Gemm,
        // softmax(Q Kᵀ / √d) V: heads = the batch dims, M queries, N keys
        // (as many as queries where the keys' count is not known apart),
        // K the head dim.
        Routine::Sdpa => return attention_problem(f),
    };
    let dim =
        |name: &'static str, d: &Option<gemmscope_analyzers::Dim>| -> Result<u64, NoProblem> {
            match d {
                Some(d) => d
                    .value
                    .ok_or_else(|| NoProblem::UnresolvedDim(name, d.expr.clone())),
                None => Err(NoProblem::UnresolvedDim(name, "?".into())),
            }
        };
    let gemv = op == Operation::Gemv;
    let (m, n, k) = (
        dim("M", &f.dims.m)?,
        if gemv { 1 } else { dim("N", &f.dims.n)? },
        dim("K", &f.dims.k)?,
    );
    let batch = match &f.dims.batch {
        Some(_) if !gemv => dim("batch", &f.dims.batch)?,
        _ => 1,
    };
    // Layouts relative to C: an operand stored in the other major order than
    // C is BLAS's transposed operand.
    let major = |role: &str| f.layouts.iter().find(|l| l.role == role).map(|l| l.major);
    let c = major("C").unwrap_or(Major::Row);
    let layout = Layout {
        trans_a: major("A").is_some_and(|a| a != c),
        trans_b: !gemv && major("B").is_some_and(|b| b != c),
    };
    let loop_order = match f.loop_order.as_deref() {
        // A GEMV's two loops: `ik` (a dot product per output) or `ki`
        // (axpy-style sweeps); the output's unit `j` goes innermost.
        Some(o) if gemv && o.len() == 2 => LoopOrder::parse(&format!("{o}j")),
        o => o.and_then(LoopOrder::parse),
    }
    .unwrap_or_else(|| LoopOrder::parse(if gemv { "ikj" } else { "ijk" }).unwrap_or_default());
    let p = Problem {
        op: if batch > 1 {
            Operation::GemmBatched
        } else {
            op
        },
        m,
        n,
        k,
        batch,
        dtype: dtype(&f.dtype)?,
        layout,
        loop_order,
    };
    // Sizes the engine would refuse are not estimated either (a dim of
    // 5·10⁹ overflowed the output count).
    p.validate().map_err(NoProblem::OutOfRange)?;
    Ok(p)
}

/// The attention problem of an `sdpa` finding: its batch dims are the
/// heads (one where there are none), `M` the queries, `N` the keys (the
/// queries' count where the keys' is not given), `K` the head dim.
fn attention_problem(f: &Finding) -> Result<Problem, NoProblem> {
    let value = |name: &'static str, d: &Option<gemmscope_analyzers::Dim>| match d {
        Some(d) => d
            .value
            .ok_or_else(|| NoProblem::UnresolvedDim(name, d.expr.clone())),
        None => Err(NoProblem::UnresolvedDim(name, "?".into())),
    };
    let m = value("M", &f.dims.m)?;
    let n = match &f.dims.n {
        None => m,
        d => value("N", d)?,
    };
    let k = value("K", &f.dims.k)?;
    let heads = match &f.dims.batch {
        None => 1,
        d => value("batch", d)?,
    };
    let mut p = Problem::attention(heads, m, k, dtype(&f.dtype)?);
    p.n = n;
    p.validate().map_err(NoProblem::OutOfRange)?;
    Ok(p)
}

/// The default candidate for the finding's code as written (before what
/// this machine measured is consulted: [`super::Advisor`]): the naive
/// loop at -O3 for C loops, the Python loop for Python loops, the naive or
/// tiled CUDA kernel for kernels, cuBLAS SGEMM with pedantic math for
/// slow cuBLAS / PyTorch-on-CUDA settings, NumPy for a row-by-row NumPy
/// product (an optimistic stand-in: one GEMM instead of M GEMVs).
pub fn as_written_candidate(f: &Finding) -> &'static str {
    match f.backend {
        Backend::Cpu => "c-naive-O3",
        Backend::PythonLoop => "python-loop",
        Backend::CudaKernel => {
            if f.rule == "cuda-tiled-matmul" || f.loop_order.as_deref() == Some("tiled") {
                "cuda-tiled"
            } else {
                "cuda-naive"
            }
        }
        Backend::Cublas => "cublas-sgemm-pedantic",
        // Attention written out: in NumPy, or in PyTorch (measured on this
        // CPU; the GPU has no attention reference data).
        Backend::PythonLibrary if f.routine == Routine::Sdpa => {
            if gemmscope_analyzers::detectors::manual_attention::written_in_numpy(f) {
                "numpy-attention"
            } else {
                "torch-attention"
            }
        }
        Backend::PythonLibrary => {
            if f.rule == "torch-fp32-matmul-cuda" {
                "cublas-sgemm-pedantic"
            } else {
                "numpy"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advice::estimate_for;
    use gemmscope_analyzers::{analyze, NoIncludes};
    use gemmscope_microbench::estimate::{Estimator, MeasurePolicy};

    fn first(path: &str, src: &str) -> Finding {
        analyze(path, src, &NoIncludes).unwrap().findings.remove(0)
    }

    #[test]
    fn a_c_gemm_becomes_its_problem() {
        let f = first(
            "a.c",
            "#define M 64\n#define N 48\n#define K 32\nfloat A[M][K], B[N][K], C[M][N];\n\
             void f(void){ for(int k=0;k<K;k++) for(int i=0;i<M;i++) for(int j=0;j<N;j++) C[i][j] += A[i][k]*B[j][k]; }\n",
        );
        let p = problem_for(&f).unwrap();
        assert_eq!((p.m, p.n, p.k, p.batch), (64, 48, 32, 1));
        assert_eq!(p.dtype, DType::F32);
        assert_eq!(
            p.layout,
            Layout {
                trans_a: false,
                trans_b: true
            }
        );
        assert_eq!(p.loop_order.as_str(), "kij");
        assert_eq!(p.op, Operation::Gemm);
    }

    #[test]
    fn a_gemv_becomes_a_gemv_problem_in_its_loop_order_and_layout() {
        let f = first(
            "v.c",
            "#define M 300\n#define K 200\nfloat A[M][K], x[K], y[M];\n\
             void f(void){ for(int i=0;i<M;i++){ float s=0; for(int k=0;k<K;k++) s += A[i][k]*x[k]; y[i]=s; } }\n",
        );
        let p = problem_for(&f).unwrap();
        assert_eq!(p.op, Operation::Gemv);
        assert_eq!((p.m, p.n, p.k, p.batch), (300, 1, 200, 1));
        assert_eq!(p.loop_order.as_str(), "ikj");
        assert!(!p.layout.trans_a);
        // y = Aᵀ x over a stored K×M array, swept column by column.
        let f = first(
            "w.c",
            "#define M 300\n#define K 200\ndouble B[K][M], x[K], y[M];\n\
             void f(void){ for(int k=0;k<K;k++) for(int i=0;i<M;i++) y[i] += B[k][i]*x[k]; }\n",
        );
        let p = problem_for(&f).unwrap();
        assert_eq!((p.op, p.m, p.n, p.k), (Operation::Gemv, 300, 1, 200));
        assert_eq!(p.dtype, DType::F64);
        assert_eq!(p.loop_order.as_str(), "kij");
        assert!(p.layout.trans_a && !p.layout.trans_b);
    }

    #[test]
    fn a_convolution_is_its_im2col_gemm() {
        let f = first(
            "c.c",
            "#define C 4\n#define KO 8\n#define H 10\n#define R 3\nfloat in[C][H][H], w[KO][C][R][R], out[KO][H-2][H-2];\n\
             void conv(void){ for(int k=0;k<KO;k++) for(int p=0;p<H-2;p++) for(int q=0;q<H-2;q++){ float acc=0; for(int c=0;c<C;c++) for(int r=0;r<R;r++) for(int s=0;s<R;s++) acc += in[c][p+r][q+s]*w[k][c][r][s]; out[k][p][q]=acc; } }\n",
        );
        if f.routine != Routine::Conv {
            return; // the detector's business, not this test's
        }
        let p = problem_for(&f).unwrap();
        assert_eq!(p.op, Operation::Gemm);
        assert_eq!((p.m, p.n, p.k), (64, 8, 36));
    }

    #[test]
    fn python_lists_are_f64_and_unresolved_dims_say_which() {
        let f = first(
            "a.py",
            "N = 20\ndef mm(A, B, C):\n    for i in range(N):\n        for j in range(N):\n            for k in range(N):\n                C[i][j] += A[i][k] * B[k][j]\n",
        );
        let p = problem_for(&f).unwrap();
        assert_eq!((p.m, p.n, p.k), (20, 20, 20));
        let f = first(
            "b.c",
            "void f(int n, const double *A, const double *B, double *C){ for(int i=0;i<n;i++) for(int j=0;j<n;j++) for(int k=0;k<n;k++) C[i*n+j] += A[i*n+k]*B[k*n+j]; }\n",
        );
        assert_eq!(
            problem_for(&f),
            Err(NoProblem::UnresolvedDim("M", "n".into()))
        );
        assert_eq!(
            problem_for(&f).unwrap_err().to_string(),
            "M = `n` has no value in this file"
        );
    }

    #[test]
    fn estimates_for_findings_name_the_code_as_written() {
        let c = first(
            "a.c",
            "#define N 512\nfloat A[N][N], B[N][N], C[N][N];\n\
             void f(void){ for(int i=0;i<N;i++) for(int j=0;j<N;j++) for(int k=0;k<N;k++) C[i][j] += A[i][k]*B[k][j]; }\n",
        );
        assert_eq!(as_written_candidate(&c), "c-naive-O3");
        let py = first(
            "a.py",
            "N = 20\ndef mm(A, B, C):\n    for i in range(N):\n        for j in range(N):\n            for k in range(N):\n                C[i][j] += A[i][k] * B[k][j]\n",
        );
        assert_eq!(as_written_candidate(&py), "python-loop");
        // No store, no engine: the model has nothing, the reference data
        // answers (or says it cannot), and nothing is measured.
        let mut m = gemmscope_microbench::fingerprint::Machine::default();
        m.cpu.physical_cores = Some(2);
        m.cpu.mhz = Some(2600.0);
        m.cpu.arch = "x86_64".into();
        m.cpu.flags = vec!["avx512f".into(), "fma".into()];
        let est = Estimator::new(m, None, None, None);
        let e = estimate_for(&c, &est, MeasurePolicy::Never).unwrap();
        assert_eq!(e.as_written_id, "c-naive-O3");
        assert_eq!((e.problem.m, e.problem.n, e.problem.k), (512, 512, 512));
        let aw = e.as_written.expect("reference data for the naive loop");
        assert!(
            aw.source.short().starts_with("reference data"),
            "{:?}",
            aw.source
        );
        assert!(!e.headline.is_empty());
        let unresolved = first(
            "b.c",
            "void f(int n, const double *A, const double *B, double *C){ for(int i=0;i<n;i++) for(int j=0;j<n;j++) for(int k=0;k<n;k++) C[i*n+j] += A[i*n+k]*B[k*n+j]; }\n",
        );
        assert!(estimate_for(&unresolved, &est, MeasurePolicy::Never).is_err());
    }
}
