//! The candidate implementations. Each is a [`Candidate`]: it says whether
//! this machine can run it for a problem (parent side, cheap), and measures
//! it (child side, inside the sandbox).

pub mod c;
pub mod gpu;
pub mod rust_gemm;

use serde::{Deserialize, Serialize};

pub mod python;

use crate::job::{Job, Reply};
use crate::problem::{Operation, Problem};
use crate::toolchain::Toolchain;

#[cfg(feature = "selftest")]
pub mod selftest;

/// Where a candidate runs (the JSON field `backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Cpu,
    Python,
    Gpu,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Python => "python",
            Backend::Gpu => "gpu",
        }
    }
}

/// One implementation of a problem that the engine can measure.
pub trait Candidate: Sync {
    /// Stable id, used in the store and in `--candidates` (`c-naive-O1`).
    fn id(&self) -> &'static str;
    /// What it is, for the table (`naive C -O1 (ijk)`, `OpenBLAS sgemm`).
    fn label(&self, p: &Problem) -> String;
    fn backend(&self) -> Backend;
    /// The arithmetic it does (`f32`, `tf32 in, f32 accumulate`, `f16 in, f32 accumulate`).
    fn precision(&self, p: &Problem) -> String;
    /// Parent side, no processes: can it run this problem on this machine?
    /// `Err` is the reason it is skipped.
    fn check(&self, p: &Problem, tc: &Toolchain) -> Result<(), String>;
    /// Whether it is an option for `op` at all (a GEMM kernel is not one
    /// for attention, nor the reverse): the others are not listed, where
    /// [`Candidate::check`] says why an option cannot run here.
    fn measures(&self, op: Operation) -> bool {
        op != Operation::Attention
    }
    /// A rough prior of its rate in FLOP/s, used only to choose how many
    /// rows a slow candidate computes so that it fits its budget.
    fn prior_flops(&self) -> f64;
    /// Largest relative error against the float64 reference that counts as
    /// correct for the arithmetic this candidate does.
    fn tolerance(&self, p: &Problem) -> f64 {
        p.dtype.tolerance()
    }
    /// Whether it may be measured on a sample of rows and scaled.
    fn samplable(&self) -> bool {
        false
    }
    /// Child side: measure it. Runs inside the sandboxed child process.
    fn run(&self, job: &Job) -> Reply;
}

/// Every candidate, slowest family first.
pub fn all() -> Vec<&'static dyn Candidate> {
    #[cfg_attr(not(feature = "selftest"), allow(unused_mut))]
    let mut v: Vec<&'static dyn Candidate> = vec![
        &python::PYTHON_LOOP,
        &c::NAIVE_O1,
        &c::NAIVE_O3,
        &c::NAIVE_O3_NATIVE,
        &c::BLOCKED,
        &c::BLOCKED_THREADS,
        &rust_gemm::RUST_GEMM,
        &python::NUMPY,
        &python::TORCH_CPU,
        &python::NUMPY_ATTENTION,
        &python::TORCH_ATTENTION,
        &python::TORCH_SDPA,
        &c::OPENBLAS,
        &gpu::CUDA_NAIVE,
        &gpu::CUDA_TILED,
        &gpu::CUBLAS_SGEMM_PEDANTIC,
        &gpu::CUBLAS_TF32,
        &gpu::CUBLAS_F16_TC,
        &gpu::CUBLAS_BF16_TC,
    ];
    #[cfg(feature = "selftest")]
    if selftest::enabled() {
        v.extend([
            &selftest::WRONG as &dyn Candidate,
            &selftest::NAN,
            &selftest::HANG,
            &selftest::CRASH,
            &selftest::HOG,
        ]);
    }
    v
}

/// Looks a candidate up by id.
pub fn by_id(id: &str) -> Option<&'static dyn Candidate> {
    all().into_iter().find(|c| c.id() == id)
}
