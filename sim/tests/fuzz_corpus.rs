//! The committed seeds of every fuzz target (`fuzz/corpus/<target>/`), each file through the
//! same entry point its target calls (`healer::fuzzing`, sim's scenario compile and Agent API
//! body), on the stable toolchain and without libFuzzer: a regression check that a crash once
//! found, whose input was added as a seed, stays fixed. A target that takes text (`&str`)
//! skips a seed that is not UTF-8, as libFuzzer's does.

mod common;

use std::path::PathBuf;

/// Every seed file of `target`, sorted; there is at least one.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = common::workspace().join("fuzz/corpus").join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no seeds in {}", dir.display());
    paths
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

/// Runs `entry` on every seed of `target`, naming the seed if it panics.
fn each_seed(target: &str, entry: impl Fn(&[u8])) {
    for (path, bytes) in seeds(target) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entry(&bytes)));
        assert!(outcome.is_ok(), "{target}: {} panicked", path.display());
    }
}

/// The targets that take text.
fn each_text_seed(target: &str, entry: impl Fn(&str)) {
    each_seed(target, |bytes| {
        if let Ok(text) = std::str::from_utf8(bytes) {
            entry(text);
        }
    });
}

/// As `fuzz/fuzz_targets/scenario.rs`: compiled as `scenarios/fuzz.yaml` of this repository,
/// against its runbooks.
#[test]
fn scenario_seeds() {
    let repo = common::workspace();
    let ctx = sim::scenario::Context {
        runbook_dirs: vec![repo.join("healer/runbooks")],
    };
    let path = repo.join("scenarios/fuzz.yaml");
    each_text_seed("scenario", |text| {
        let _ = sim::scenario::compile_text(text, &path, &ctx);
    });
}

#[test]
fn runbook_seeds() {
    each_text_seed("runbook", healer::fuzzing::runbook);
}

#[test]
fn webhook_seeds() {
    each_seed("webhook", healer::fuzzing::webhook);
}

#[test]
fn prometheus_text_seeds() {
    each_text_seed("prometheus_text", healer::fuzzing::prometheus_text);
}

#[test]
fn docker_json_seeds() {
    each_seed("docker_json", |json| {
        healer::fuzzing::docker_event(json);
        healer::fuzzing::docker_stats(json);
    });
}

#[test]
fn agent_action_seeds() {
    each_seed("agent_action", |body| {
        let _ = sim::agent::parse_action_body(body);
    });
}
