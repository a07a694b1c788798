//! Normalisation passes over the IR, run between the front ends and the
//! detectors. See `normalize` for the list.

use crate::ir::File;

/// Runs every pass, in order.
pub fn normalize(_file: &mut File) {}
