#![no_main]
//! The `adapter_hello` target; its body is shared with the seed-corpus regression
//! test (tests/fuzz_corpus.rs).
#[path = "../../tests/fuzz_targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::adapter_hello(data));
