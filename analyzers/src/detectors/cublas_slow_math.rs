use crate::declare_rule;
use crate::detectors::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Idiom};
declare_rule! {
    /// placeholder
    pub struct CublasSlowMath { code: "GS601", name: "cublas-slow-math", idiom: Idiom::SlowLibraryCall }
}
impl Rule for CublasSlowMath {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, _out: &mut Vec<Finding>) {}
}
