//! gemmscope microbench: measures candidate implementations of a GEMM-family
//! problem on this machine, each in a sandboxed child process, with every
//! output checked against a float64 reference.
//!
//! The server converts an analyzer `Finding` into a plain [`Problem`]; this
//! crate never depends on the analyzers. Only this crate knows about
//! processes and clocks.

pub mod calibrate;
pub mod candidates;
pub mod ceilings;
pub mod engine;
pub mod estimate;
pub mod fingerprint;
pub mod job;
pub mod model;
pub mod problem;
pub mod report;
pub mod sandbox;
pub mod stats;
pub mod store;
pub mod testing;
pub mod toolchain;

pub use engine::{child_main, Engine, Options, Progress, ResultCache};
pub use problem::{DType, Layout, LoopOrder, Operation, Problem};
pub use report::{Row, Status, Table};
