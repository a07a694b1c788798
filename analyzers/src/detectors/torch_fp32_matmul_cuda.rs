use crate::declare_rule;
use crate::detectors::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Idiom};
declare_rule! {
    /// placeholder
    pub struct TorchFp32MatmulCuda { code: "GS602", name: "torch-fp32-matmul-cuda", idiom: Idiom::SlowLibraryCall }
}
impl Rule for TorchFp32MatmulCuda {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, _out: &mut Vec<Finding>) {}
}
