//! Runbook YAML through parse and compile (`healer::Runbook::parse`), as the healer loads a file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = healer::Runbook::parse(text, Path::new("fuzz.yaml"));
});
