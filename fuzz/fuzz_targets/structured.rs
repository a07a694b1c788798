//! Structure-aware: generated loop nests, GEMMs with huge or overflowing
//! dims, deep nesting, unterminated constructs, invalid UTF-8 spliced into
//! corpus files; front end and pipeline on a 2 MiB stack.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|p: gemmscope_fuzz::gen::Program| {
    gemmscope_fuzz::structured(&p);
});
