//! gemmscope microbench: the plain problem description that the benchmark
//! engine measures. The server converts an analyzer `Finding` into a
//! [`Problem`]; this crate never depends on the analyzers.
//!
//! The candidate kernels, the sandboxed runner, the machine fingerprint, the
//! result store and the performance model arrive with the microbench and
//! model work; today the crate holds the problem description only.

use serde::Serialize;

/// The operation to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Gemm,
    GemmBatched,
    Gemv,
}

/// Element type of the operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F16,
    Bf16,
    F32,
    F64,
}

impl DType {
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F16 | DType::Bf16 => 2,
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }
}

/// A GEMM-family problem: `C[M×N] (+)= A[M×K] · B[K×N]`, `batch` times.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    pub op: Operation,
    pub m: u64,
    pub n: u64,
    pub k: u64,
    pub batch: u64,
    pub dtype: DType,
    /// Operand A stored transposed (column-major for a row-major problem).
    pub trans_a: bool,
    pub trans_b: bool,
    /// The loop order of the naive candidate (`ijk`, `ikj`, ...).
    pub loop_order: String,
}

impl Problem {
    /// Floating-point operations: two per multiply-add.
    pub fn flops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64 * self.batch as f64
    }

    /// Number of output elements.
    pub fn outputs(&self) -> u64 {
        self.m * self.n * self.batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_and_outputs_count_batch() {
        let p = Problem {
            op: Operation::GemmBatched,
            m: 4,
            n: 5,
            k: 6,
            batch: 3,
            dtype: DType::F32,
            trans_a: false,
            trans_b: true,
            loop_order: "ijk".into(),
        };
        assert_eq!(p.flops(), 2.0 * 4.0 * 5.0 * 6.0 * 3.0);
        assert_eq!(p.outputs(), 60);
        assert_eq!(DType::Bf16.size_bytes(), 2);
    }
}
