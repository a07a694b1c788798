//! The CUDA/C++ front end on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gemmscope_fuzz::front_end(gemmscope_analyzers::Lang::Cuda, data);
});
