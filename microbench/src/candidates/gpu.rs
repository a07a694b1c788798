//! GPU candidates through cudarc: two hand-written kernels compiled with
//! NVRTC from source generated from the problem, and four cuBLAS routines
//! (FP32 on CUDA cores, TF32, FP16 and BF16 tensor cores).
//!
//! Every CUDA library (driver, NVRTC, cuBLAS) is loaded at run time in the
//! benchmark child, so the crate builds and runs on machines without CUDA:
//! there the candidates answer `Skipped` with the missing library as the
//! reason. The parent-side [`Candidate::check`] never touches CUDA.

mod device;
pub mod host;
pub mod kernels;

use std::panic::{self, AssertUnwindSafe};

use super::{Backend, Candidate};
use crate::job::{Job, Reply};
use crate::problem::{DType, Operation, Problem};
use crate::toolchain::Toolchain;

/// Which GPU candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Naive,
    Tiled,
    SgemmPedantic,
    Tf32,
    F16Tc,
    Bf16Tc,
}

/// A GPU candidate.
pub struct Gpu(pub Kind);

pub static CUDA_NAIVE: Gpu = Gpu(Kind::Naive);
pub static CUDA_TILED: Gpu = Gpu(Kind::Tiled);
pub static CUBLAS_SGEMM_PEDANTIC: Gpu = Gpu(Kind::SgemmPedantic);
pub static CUBLAS_TF32: Gpu = Gpu(Kind::Tf32);
pub static CUBLAS_F16_TC: Gpu = Gpu(Kind::F16Tc);
pub static CUBLAS_BF16_TC: Gpu = Gpu(Kind::Bf16Tc);

/// The arithmetic type of the hand-written kernels and of cuBLAS S/Dgemm.
fn core_type(p: &Problem) -> &'static str {
    match p.dtype {
        DType::F64 => "f64",
        _ => "f32",
    }
}

/// Turns a panic inside cudarc (its lazy loader panics when a library or a
/// symbol is missing) into a reply.
fn panic_reply(payload: Box<dyn std::any::Any + Send>) -> Reply {
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    let first = msg.lines().next().unwrap_or("").trim().to_string();
    if msg.contains("Unable to dynamically load") || msg.contains("Missing symbol") {
        Reply::Skipped {
            reason: format!("CUDA library could not be loaded: {first}"),
        }
    } else {
        Reply::Failed {
            reason: format!("the GPU benchmark panicked: {first}"),
        }
    }
}

impl Candidate for Gpu {
    fn id(&self) -> &'static str {
        match self.0 {
            Kind::Naive => "cuda-naive",
            Kind::Tiled => "cuda-tiled",
            Kind::SgemmPedantic => "cublas-sgemm-pedantic",
            Kind::Tf32 => "cublas-tf32",
            Kind::F16Tc => "cublas-f16-tc",
            Kind::Bf16Tc => "cublas-bf16-tc",
        }
    }

    fn label(&self, p: &Problem) -> String {
        match self.0 {
            Kind::Naive => format!(
                "CUDA naive kernel (NVRTC, {0}×{0} blocks, one output per thread)",
                kernels::NAIVE_BLOCK
            ),
            Kind::Tiled => format!(
                "CUDA tiled kernel (NVRTC, {0}×{0} shared-memory tiles)",
                kernels::TILE
            ),
            Kind::SgemmPedantic if p.dtype == DType::F64 => "cuBLAS Dgemm (pedantic math)".into(),
            Kind::SgemmPedantic => "cuBLAS Sgemm (pedantic math, FP32 on CUDA cores)".into(),
            Kind::Tf32 => "cuBLAS GemmEx TF32 tensor cores".into(),
            Kind::F16Tc => "cuBLAS GemmEx FP16 tensor cores".into(),
            Kind::Bf16Tc => "cuBLAS GemmEx BF16 tensor cores".into(),
        }
    }

    fn backend(&self) -> Backend {
        Backend::Gpu
    }

    fn precision(&self, p: &Problem) -> String {
        match self.0 {
            Kind::Naive | Kind::Tiled | Kind::SgemmPedantic => match p.dtype {
                DType::F16 | DType::Bf16 => {
                    format!("f32 (inputs widened from {})", p.dtype.as_str())
                }
                _ => core_type(p).into(),
            },
            Kind::Tf32 => "tf32 in, f32 accumulate".into(),
            Kind::F16Tc => "f16 in, f32 accumulate".into(),
            Kind::Bf16Tc => "bf16 in, f32 accumulate".into(),
        }
    }

    /// Only the problem's shape: whether CUDA is here is found out in the
    /// child, so that the parent never loads it.
    fn check(&self, p: &Problem, _tc: &Toolchain) -> Result<(), String> {
        match p.op {
            Operation::Gemm | Operation::GemmBatched => Ok(()),
            Operation::Gemv | Operation::Attention => {
                Err("the GPU candidates measure GEMM only".into())
            }
        }
    }

    fn prior_flops(&self) -> f64 {
        match self.0 {
            Kind::Naive => 1e12,
            Kind::Tiled => 3e12,
            Kind::SgemmPedantic => 2e13,
            Kind::Tf32 => 2e14,
            Kind::F16Tc | Kind::Bf16Tc => 4e14,
        }
    }

    fn tolerance(&self, p: &Problem) -> f64 {
        match self.0 {
            // The inputs as the problem stores them are exact in the
            // arithmetic type (f16/bf16 widen to f32 exactly).
            Kind::Naive | Kind::Tiled | Kind::SgemmPedantic => match p.dtype {
                DType::F64 => DType::F64.tolerance(),
                _ => DType::F32.tolerance(),
            },
            Kind::Tf32 => 5e-3,
            Kind::F16Tc => 2e-2,
            Kind::Bf16Tc => 5e-2,
        }
    }

    fn run(&self, job: &Job) -> Reply {
        if let Err(why) = self.check(&job.problem, &job.toolchain) {
            return Reply::Skipped { reason: why };
        }
        let kind = self.0;
        match panic::catch_unwind(AssertUnwindSafe(|| device::run(kind, job))) {
            Ok(Ok(m)) => Reply::Ok(m),
            Ok(Err(device::Stop::Skip(reason))) => Reply::Skipped { reason },
            Ok(Err(device::Stop::Fail(reason))) => Reply::Failed { reason },
            Err(payload) => panic_reply(payload),
        }
    }
}

#[cfg(test)]
mod tests;
