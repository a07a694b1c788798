use crate::declare_rule;
use crate::detectors::{Context, Rule, RuleMeta};
use crate::finding::{Finding, Idiom};
declare_rule! {
    /// placeholder
    pub struct ManualAttention { code: "GS501", name: "manual-attention", idiom: Idiom::Attention }
}
impl Rule for ManualAttention {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, _out: &mut Vec<Finding>) {}
}
