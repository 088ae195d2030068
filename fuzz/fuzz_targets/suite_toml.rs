#![no_main]
//! The `suite_toml` target; its body is shared with the seed-corpus regression
//! test (tests/fuzz_corpus.rs).
#[path = "../../tests/fuzz_targets/mod.rs"]
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| targets::suite_toml(data));
