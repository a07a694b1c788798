//! Presenters for `check`: text and JSON. They only format; the numbers and
//! words come from the findings.

pub mod json;
pub mod text;
