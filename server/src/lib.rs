//! The `gemmscope` binary's library: the CLI commands and presenters, and
//! the join between analyzer findings and microbench problems. `main.rs` is
//! argument parsing and exit codes only.

pub mod advice;
pub mod baseline;
pub mod bench;
pub mod check;
pub mod compdb;
pub mod config;
pub mod file_check;
pub mod fix;
pub mod lsp;
pub mod panic_guard;
pub mod report;
pub mod report_html;
pub mod suppress;
