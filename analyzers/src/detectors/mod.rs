//! Idiom detectors: one rule per file, each declared with [`declare_rule!`]
//! so that its doc comment is also its documentation (`gemmscope explain`,
//! docs/rules.md). Detectors read the normalised IR and never do I/O.

pub mod batched_gemm_loop;
pub mod contraction;
pub mod conv_loop_nest;
pub mod cuda_naive_matmul;
pub mod cuda_tiled_matmul;
pub mod gemm_loop_nest;
pub mod gemv_loop;
pub mod symm_loop;
pub mod syr2k_loop;
pub mod syrk_loop;
#[cfg(test)]
pub mod testutil;
pub mod trmm_loop;

use crate::finding::{Finding, Idiom};
use crate::ir::File;

pub mod cublas_slow_math;
pub mod manual_attention;
pub mod row_product_loop;
#[cfg(test)]
pub(crate) mod testutil_lib;
pub mod torch_fp32_matmul_cuda;

/// A rule's metadata: stable code, name, idiom family and documentation
/// (the doc comment of the rule's struct).
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub idiom: Idiom,
    /// The rule's doc comment, as Markdown.
    pub doc: &'static str,
}

impl RuleMeta {
    /// The first line of the doc comment.
    pub fn summary(&self) -> &'static str {
        self.doc
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
}

/// What a detector sees: the lowered, normalised file and its text, and the
/// shared loop-nest analysis (computed once, on first use).
pub struct Context<'a> {
    pub file: &'a File,
    pub text: &'a str,
    nests: std::cell::OnceCell<Vec<contraction::Nest<'a>>>,
}

impl<'a> Context<'a> {
    pub fn new(file: &'a File, text: &'a str) -> Context<'a> {
        Context {
            file,
            text,
            nests: std::cell::OnceCell::new(),
        }
    }

    /// The multiply-accumulate nests of the file ([`contraction::analyze`]).
    pub fn nests(&self) -> &[contraction::Nest<'a>] {
        self.nests.get_or_init(|| contraction::analyze(self.file))
    }

    /// The nests of one shape.
    pub fn nests_of(
        &self,
        shape: contraction::Shape,
    ) -> impl Iterator<Item = &contraction::Nest<'a>> + '_ {
        self.nests().iter().filter(move |n| n.shape == shape)
    }
}

/// A detector.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Finding>);
}

/// Declares a rule struct whose doc comment becomes `RuleMeta::doc`.
///
/// ```ignore
/// declare_rule! {
///     /// Finds ...
///     pub struct GemmLoopNest { code: "GS101", name: "gemm-loop-nest", idiom: Idiom::Gemm }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    ($(#[doc = $doc:literal])* pub struct $ty:ident { code: $code:literal, name: $name:literal, idiom: $idiom:expr $(,)? }) => {
        $(#[doc = $doc])*
        pub struct $ty;
        impl $ty {
            pub const META: $crate::detectors::RuleMeta = $crate::detectors::RuleMeta {
                code: $code,
                name: $name,
                idiom: $idiom,
                doc: concat!($($doc, "\n"),*),
            };
        }
    };
}

/// Every rule, in code order.
pub fn all_rules() -> Vec<&'static dyn Rule> {
    let rules: Vec<&'static dyn Rule> = vec![
        &gemm_loop_nest::GemmLoopNest,
        &cuda_naive_matmul::CudaNaiveMatmul,
        &cuda_tiled_matmul::CudaTiledMatmul,
        &batched_gemm_loop::BatchedGemmLoop,
        &syrk_loop::SyrkLoop,
        &syr2k_loop::Syr2kLoop,
        &symm_loop::SymmLoop,
        &trmm_loop::TrmmLoop,
        &gemv_loop::GemvLoop,
        &conv_loop_nest::ConvLoopNest,
        &row_product_loop::RowProductLoop,
        &manual_attention::ManualAttention,
        &cublas_slow_math::CublasSlowMath,
        &torch_fp32_matmul_cuda::TorchFp32MatmulCuda,
    ];
    rules
}

/// Looks a rule up by code (`GS101`) or name (`gemm-loop-nest`).
pub fn rule(code_or_name: &str) -> Option<&'static dyn Rule> {
    all_rules()
        .into_iter()
        .find(|r| r.meta().code.eq_ignore_ascii_case(code_or_name) || r.meta().name == code_or_name)
}

/// docs/rules.md, generated from the rules' doc comments (a test keeps the
/// committed file in step).
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# gemmscope rules\n\n\
         Generated from the detectors' doc comments (`analyzers/src/detectors/`); \
         do not edit by hand: run `GEMMSCOPE_UPDATE_DOCS=1 cargo test -p gemmscope-tests --test rules_doc`.\n\n\
         Quick fixes (`check --fix`, the editor's code action): [fixes.md](fixes.md); each is \
         offered only where the rewrite is exact for what the analysis proved, else the \
         finding says why not.\n\n\
         | code | name | idiom | summary | quick fix |\n|---|---|---|---|---|\n",
    );
    let rules = all_rules();
    for r in &rules {
        let m = r.meta();
        let fix = crate::fixes::QUICK_FIXES
            .iter()
            .find(|(c, _)| *c == m.code)
            .map_or("none", |(_, f)| f);
        out.push_str(&format!(
            "| [{}](#{}) | `{}` | {} | {} | {} |\n",
            m.code,
            m.code.to_ascii_lowercase(),
            m.name,
            m.idiom.as_str(),
            m.summary(),
            fix
        ));
    }
    for r in &rules {
        let m = r.meta();
        out.push_str(&format!(
            "\n## {}\n\n`{}` · idiom `{}`\n\n",
            m.code,
            m.name,
            m.idiom.as_str()
        ));
        // Doc comments arrive with one leading space per line.
        for line in m.doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
    }
    out
}

/// Runs every rule over `file`.
pub fn run_all(file: &File, text: &str) -> Vec<Finding> {
    let cx = Context::new(file, text);
    let mut out = Vec::new();
    for r in all_rules() {
        r.check(&cx, &mut out);
    }
    if file.lang == crate::ir::Lang::Python {
        out.iter_mut().for_each(Finding::readable_names);
    }
    out
}
