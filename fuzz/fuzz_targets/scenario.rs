//! Scenario YAML through parse and compile, as `sim run` and `sim validate` read a file: compiled
//! as `scenarios/fuzz.yaml` of this repository, against its runbooks, so relative rule and
//! compose paths and runbook names resolve as the library's own scenarios' do.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn repo() -> &'static Path {
    static REPO: OnceLock<PathBuf> = OnceLock::new();
    REPO.get_or_init(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

fuzz_target!(|text: &str| {
    let ctx = sim::scenario::Context {
        runbook_dirs: vec![repo().join("healer/runbooks")],
    };
    let _ = sim::scenario::compile_text(text, &repo().join("scenarios/fuzz.yaml"), &ctx);
});
