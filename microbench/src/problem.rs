//! The plain problem description that the engine measures. The server turns
//! an analyzer `Finding` into a [`Problem`]; this crate never sees a Finding.

use serde::{Deserialize, Serialize};

/// The operation to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Gemm,
    GemmBatched,
    Gemv,
    /// Scaled dot-product attention, `softmax(Q Kᵀ / √d) V` per head:
    /// `batch` heads (batch × heads), `m` queries, `n` keys, `k` the head
    /// dim (V has `k` columns too).
    Attention,
}

/// Element type of the operands (the output's type; accumulation is in this
/// type for the naive loops, FP32 for the tensor-core candidates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

    pub fn as_str(self) -> &'static str {
        match self {
            DType::F16 => "f16",
            DType::Bf16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    pub fn parse(s: &str) -> Option<DType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "f16" | "half" | "fp16" => DType::F16,
            "bf16" | "bfloat16" => DType::Bf16,
            "f32" | "float" | "fp32" => DType::F32,
            "f64" | "double" | "fp64" => DType::F64,
            _ => return None,
        })
    }

    /// The largest relative Frobenius error against a float64 reference that
    /// still counts as a correct result for this precision (with inputs in
    /// [-1, 1) and K up to a few thousand).
    pub fn tolerance(self) -> f64 {
        match self {
            DType::F64 => 1e-10,
            DType::F32 => 1e-4,
            DType::F16 => 2e-2,
            DType::Bf16 => 5e-2,
        }
    }
}

/// Storage of the operands, row-major `C`: whether A and/or B are stored
/// transposed (BLAS's `transa`/`transb`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Layout {
    pub trans_a: bool,
    pub trans_b: bool,
}

impl Layout {
    /// `nn`, `nt`, `tn`, `tt`.
    pub fn parse(s: &str) -> Option<Layout> {
        let s = s.to_ascii_lowercase();
        let b = s.as_bytes();
        if b.len() != 2 {
            return None;
        }
        let t = |c: u8| match c {
            b'n' => Some(false),
            b't' => Some(true),
            _ => None,
        };
        Some(Layout {
            trans_a: t(b[0])?,
            trans_b: t(b[1])?,
        })
    }

    pub fn as_str(self) -> &'static str {
        match (self.trans_a, self.trans_b) {
            (false, false) => "nn",
            (false, true) => "nt",
            (true, false) => "tn",
            (true, true) => "tt",
        }
    }
}

/// A loop order of the naive triple loop: a permutation of `ijk`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoopOrder(String);

impl LoopOrder {
    pub fn parse(s: &str) -> Option<LoopOrder> {
        let mut v: Vec<char> = s.to_ascii_lowercase().chars().collect();
        let order: String = v.iter().collect();
        v.sort_unstable();
        (v == ['i', 'j', 'k']).then_some(LoopOrder(order))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LoopOrder {
    /// The seed's i-j-k.
    fn default() -> Self {
        LoopOrder("ijk".into())
    }
}

/// A GEMM-family problem: `C[M×N] = A[M×K] · B[K×N]`, `batch` times.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Problem {
    pub op: Operation,
    pub m: u64,
    pub n: u64,
    pub k: u64,
    pub batch: u64,
    pub dtype: DType,
    pub layout: Layout,
    /// The loop order of the naive candidates.
    pub loop_order: LoopOrder,
}

impl Problem {
    /// A single GEMM with the default layout and loop order.
    pub fn gemm(m: u64, n: u64, k: u64, dtype: DType) -> Problem {
        Problem {
            op: Operation::Gemm,
            m,
            n,
            k,
            batch: 1,
            dtype,
            layout: Layout::default(),
            loop_order: LoopOrder::default(),
        }
    }

    /// Scaled dot-product attention over `heads` (batch × heads) of `t`
    /// queries and `t` keys with head dim `d`.
    pub fn attention(heads: u64, t: u64, d: u64, dtype: DType) -> Problem {
        Problem {
            op: Operation::Attention,
            batch: heads,
            ..Problem::gemm(t, t, d, dtype)
        }
    }

    /// Floating-point operations: two per multiply-add (attention: its two
    /// products, `Q Kᵀ` and `P V`; the softmax's few per score not counted).
    pub fn flops(&self) -> f64 {
        let one = 2.0 * self.m as f64 * self.n as f64 * self.k as f64 * self.batch as f64;
        match self.op {
            Operation::Attention => 2.0 * one,
            _ => one,
        }
    }

    /// Number of output elements (saturating: a problem that fails
    /// [`Problem::validate`] never panics here); attention's output is
    /// `m × k` per head.
    pub fn outputs(&self) -> u64 {
        let cols = match self.op {
            Operation::Attention => self.k,
            _ => self.n,
        };
        self.m.saturating_mul(cols).saturating_mul(self.batch)
    }

    /// Checks the sizes; the error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v) in [
            ("m", self.m),
            ("n", self.n),
            ("k", self.k),
            ("batch", self.batch),
        ] {
            if v == 0 {
                return Err(format!("{name} must be at least 1"));
            }
            if v > 1 << 20 {
                return Err(format!(
                    "{name} = {v} is larger than this tool measures (max 1048576)"
                ));
            }
        }
        // Attention also holds V (n × k) and its output (m × k).
        let extra = match self.op {
            Operation::Attention => self.n * self.k + self.m * self.k,
            _ => 0,
        };
        let bytes = (self.m * self.k + self.k * self.n + self.m * self.n + extra) as f64
            * self.batch as f64
            * self.dtype.size_bytes() as f64;
        if bytes > 64.0 * (1u64 << 30) as f64 {
            return Err(format!(
                "the operands need {:.0} GiB; the limit is 64 GiB",
                bytes / (1u64 << 30) as f64
            ));
        }
        Ok(())
    }

    /// `1024×1024×1024 f32 nn ijk` (with `batch 8 ×` in front when
    /// batched); a GEMV is `1024×1024 GEMV f32 A row-major i-k`.
    pub fn describe(&self) -> String {
        if self.op == Operation::Attention {
            return format!(
                "attention {} heads × {} queries × {} keys, head dim {} {}",
                self.batch,
                self.m,
                self.n,
                self.k,
                self.dtype.as_str()
            );
        }
        if self.op == Operation::Gemv {
            let o = self.loop_order.as_str();
            return format!(
                "{}×{} GEMV {} A {} {}",
                self.m,
                self.k,
                self.dtype.as_str(),
                if self.layout.trans_a {
                    "col-major"
                } else {
                    "row-major"
                },
                if o.find('k') < o.find('i') {
                    "k-i"
                } else {
                    "i-k"
                }
            );
        }
        let core = format!(
            "{}×{}×{} {} {} {}",
            self.m,
            self.n,
            self.k,
            self.dtype.as_str(),
            self.layout.as_str(),
            self.loop_order.as_str()
        );
        if self.batch > 1 {
            format!("batch {} × {core}", self.batch)
        } else {
            core
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_and_outputs_count_batch() {
        let mut p = Problem::gemm(4, 5, 6, DType::F32);
        p.batch = 3;
        assert_eq!(p.flops(), 2.0 * 4.0 * 5.0 * 6.0 * 3.0);
        assert_eq!(p.outputs(), 60);
        assert_eq!(DType::Bf16.size_bytes(), 2);
    }

    #[test]
    fn parsing() {
        assert_eq!(
            Layout::parse("nt"),
            Some(Layout {
                trans_a: false,
                trans_b: true
            })
        );
        assert_eq!(Layout::parse("xx"), None);
        assert_eq!(LoopOrder::parse("kij").unwrap().as_str(), "kij");
        assert!(LoopOrder::parse("iik").is_none());
        assert_eq!(DType::parse("BF16"), Some(DType::Bf16));
        assert!(Problem::gemm(0, 1, 1, DType::F32).validate().is_err());
        assert!(Problem::gemm(1 << 20, 1 << 20, 1 << 20, DType::F64)
            .validate()
            .is_err());
        assert!(Problem::gemm(64, 64, 64, DType::F32).validate().is_ok());
        let mut v = Problem::gemm(300, 1, 200, DType::F64);
        v.op = Operation::Gemv;
        v.loop_order = LoopOrder::parse("kij").unwrap();
        assert_eq!(v.describe(), "300×200 GEMV f64 A row-major k-i");
    }

    #[test]
    fn attention_counts_both_products_and_its_output() {
        let p = Problem::attention(8, 512, 64, DType::F32);
        assert_eq!(p.flops(), 4.0 * 8.0 * 512.0 * 512.0 * 64.0);
        assert_eq!(p.outputs(), 8 * 512 * 64);
        assert_eq!(
            p.describe(),
            "attention 8 heads × 512 queries × 512 keys, head dim 64 f32"
        );
        assert!(p.validate().is_ok());
    }
}
