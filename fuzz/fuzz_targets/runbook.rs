//! Runbook YAML through parse and compile (`healer::Runbook::parse`), as the healer loads a file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| healer::fuzzing::runbook(text));
