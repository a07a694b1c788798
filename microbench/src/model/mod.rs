//! The performance model: predicts time per call (and per output) for sizes
//! and machines not measured, each prediction with its stated error.
//!
//! - [`fit`]: one least-squares model (linfa-linear) per (machine,
//!   candidate, variant) from the rows in the store, validated by
//!   leave-one-out cross-validation;
//! - [`roofline`]: the lower bound from the measured ceilings; predictions
//!   under it are clamped and flagged;
//! - [`reference`]: timings on named machines shipped with the binary, each
//!   with its source, and a nearest-neighbour model over machine
//!   descriptors (linfa-nn);
//! - [`crossover`]: CPU or GPU once the copies and the launch are counted.
//!
//! The [`crate::estimate`] module joins them into an `Estimate`.

pub mod crossover;
pub mod features;
pub mod fit;
pub mod reference;
pub mod roofline;

pub use crossover::{Crossover, GpuSide, Transfer};
pub use fit::{FittedModel, Models, Validation};
pub use reference::{Descriptor, RefPrediction, Reference};
pub use roofline::Roofline;
