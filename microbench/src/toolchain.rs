//! What this machine has for running candidates: C compiler, OpenBLAS,
//! Python with NumPy/PyTorch. Probed once by the parent (it runs small
//! processes) and handed to each child in its job.

use serde::{Deserialize, Serialize};

/// A program found on this machine.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub path: String,
    /// The version line it printed (`gcc (Debian 12.2.0-14) 12.2.0`).
    pub version: String,
}

/// A Python interpreter and the array libraries it can import.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Python {
    pub tool: Tool,
    pub numpy: Option<String>,
    pub torch: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    /// The system C compiler (`$CC`, else `cc`, `gcc`, `clang`).
    pub cc: Option<Tool>,
    /// OpenBLAS usable from C (`cblas.h` compiles and `-lopenblas` links):
    /// its `openblas_get_config()` string.
    pub openblas: Option<String>,
    pub python: Option<Python>,
}
