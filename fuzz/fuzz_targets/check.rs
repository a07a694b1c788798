//! The whole `check` pipeline (analyse as C, CUDA/C++ and Python; problem,
//! estimate; text, JSON, SARIF and GitHub output) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gemmscope_fuzz::pipeline_all(data);
});
