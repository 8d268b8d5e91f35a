//! An Alertmanager webhook body as `healer serve` and sim's receiver take it, then read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| healer::fuzzing::webhook(body));
