//! The C front end on arbitrary bytes (lossy UTF-8, includes that resolve
//! to the input itself).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gemmscope_fuzz::front_end(gemmscope_analyzers::Lang::C, data);
});
