//! The rules: one per file, each declared with [`declare_rule!`] so that
//! its doc comment is also its documentation (`gemmscope explain`,
//! docs/rules.md), and each with its fix: [`Rule::check`] reports findings
//! from the normalised IR (never doing I/O), and [`Rule::fix`] rewrites one
//! of them, from what its check recorded ([`Reports::push_nest`]), through
//! the rewrites of [`crate::fixes`]. Its [`RuleMeta::fix`] says whether it
//! has one. The loop-nest analysis they share is [`crate::contraction`].

pub mod batched_gemm_loop;
pub mod conv_loop_nest;
pub mod cuda_naive_matmul;
pub mod cuda_tiled_matmul;
pub mod cuda_wmma_matmul;
pub mod gemm_loop_nest;
pub mod gemv_loop;
pub mod symm_loop;
pub mod syr2k_loop;
pub mod syrk_loop;
#[cfg(test)]
pub mod testutil;
pub mod trmm_loop;

use crate::contraction::{self, NestFacts};
use crate::finding::Finding;
pub use crate::finding::{FixAvailability, RuleMeta};
use crate::fixes::{FixContext, FixResult, NoFix};
use crate::ir::{File, Span};

pub mod cublas_slow_math;
pub mod manual_attention;
pub mod row_product_loop;
#[cfg(test)]
pub(crate) mod testutil_lib;
pub mod torch_fp32_matmul_cuda;

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

/// A rule: its metadata, its check and its fix.
pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &Context<'_>, out: &mut Reports);
    /// The fixes of `finding`, one of this rule's findings on the file of
    /// `cx` (with the nest its check recorded). Rules whose
    /// [`RuleMeta::fix`] is [`FixAvailability::None`] keep this default.
    fn fix(&self, cx: &FixContext<'_>, finding: &Finding) -> FixResult {
        let _ = cx;
        Err(NoFix::new(match self.meta().fix {
            FixAvailability::None(why) => why.to_string(),
            FixAvailability::Sometimes(_) => format!("no rewrite is known for {}", finding.code),
        }))
    }
}

/// What the checks report: each finding with the rule that found it and,
/// for the loop-nest rules, the nest it came from (what the fix rewrites).
#[derive(Default)]
pub struct Reports {
    rule: Option<&'static dyn Rule>,
    items: Vec<Reported>,
}

/// One finding as reported, before the findings are sorted and handed out.
#[derive(Clone)]
pub struct Reported {
    pub finding: Finding,
    pub origin: Origin,
}

/// Where a finding came from: what [`crate::Analysis::fixes`] needs to fix
/// it without analysing the file again.
#[derive(Clone)]
pub struct Origin {
    pub rule: &'static dyn Rule,
    /// The finding's code and ranges, to find it again among the findings.
    range: Span,
    key_range: Span,
    pub nest: Option<NestFacts>,
}

impl Origin {
    /// True if `f` is the finding this origin was recorded for.
    pub fn is_of(&self, f: &Finding) -> bool {
        self.rule.meta().code == f.code && self.range == f.range && self.key_range == f.key_range
    }
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Origin")
            .field("rule", &self.rule.meta().code)
            .field("range", &self.range)
            .field("nest", &self.nest.as_ref().map(|n| n.key_range))
            .finish()
    }
}

impl Reports {
    /// A finding that is not a loop nest's.
    pub fn push(&mut self, finding: Finding) {
        self.record(finding, None);
    }

    /// The finding of `nest`.
    pub fn push_nest(&mut self, nest: &contraction::Nest<'_>, finding: Finding) {
        self.record(finding, Some(nest.facts().clone()));
    }

    fn record(&mut self, finding: Finding, nest: Option<NestFacts>) {
        let rule = self.rule.expect("a rule is checking");
        self.items.push(Reported {
            origin: Origin {
                rule,
                range: finding.range,
                key_range: finding.key_range,
                nest,
            },
            finding,
        });
    }

    /// The findings alone.
    pub fn findings(self) -> Vec<Finding> {
        self.items.into_iter().map(|r| r.finding).collect()
    }

    pub fn into_vec(self) -> Vec<Reported> {
        self.items
    }

    /// Runs `rule` on `cx`, recording it as the rule of what it reports.
    pub fn check(&mut self, rule: &'static dyn Rule, cx: &Context<'_>) {
        self.rule = Some(rule);
        rule.check(cx, self);
        self.rule = None;
    }
}

/// Declares a rule struct whose doc comment becomes `RuleMeta::doc`.
///
/// ```ignore
/// declare_rule! {
///     /// Finds ...
///     pub struct GemmLoopNest {
///         code: "GS101", name: "gemm-loop-nest", idiom: Idiom::Gemm,
///         fix: FixAvailability::Sometimes("`cblas_?gemm` · exact · `cblas.rs`"),
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    ($(#[doc = $doc:literal])* pub struct $ty:ident { code: $code:literal, name: $name:literal, idiom: $idiom:expr, fix: $fix:expr $(,)? }) => {
        $(#[doc = $doc])*
        pub struct $ty;
        impl $ty {
            pub const META: $crate::detectors::RuleMeta = $crate::detectors::RuleMeta {
                code: $code,
                name: $name,
                idiom: $idiom,
                doc: concat!($($doc, "\n"),*),
                fix: $fix,
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
        &cuda_wmma_matmul::CudaWmmaMatmul,
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
        let fix = m.fix.column();
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

/// Runs every rule over `file`: the findings with their origins, in rule
/// order.
pub fn run_all(file: &File, text: &str) -> Vec<Reported> {
    let cx = Context::new(file, text);
    let mut out = Reports::default();
    for r in all_rules() {
        out.check(r, &cx);
    }
    let mut items = out.into_vec();
    // The front ends' and normalisation's synthetic names (Python's
    // `__acc1`, the x86 lanes' `__vlane3`, ...) as people read them.
    items.iter_mut().for_each(|r| r.finding.readable_names());
    items
}
