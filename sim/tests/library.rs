//! The scenario library as the CI regression suite for runbooks: every scenario in `scenarios/`
//! runs one trial against the real Docker engine here, and must meet its expectations — which
//! must include proof the healer did what the scenario is about (`healed`, or escalations).
//! Scenarios with a test binary of their own (e2e, network, deploy) are run there; a scenario
//! that no test runs fails [`every_scenario_in_the_library_is_run_by_a_test`].

mod common;

use std::path::{Path, PathBuf};

/// Scenarios run (and checked in more detail) by other test binaries, with where.
const RUN_ELSEWHERE: &[(&str, &str)] = &[
    ("oom-recovery", "e2e.rs"),
    ("crash-recovery", "e2e.rs"),
    ("kill-one-replica", "e2e.rs"),
    ("alert-pipeline", "e2e.rs"),
    ("alert-pipeline-outage", "monitoring_outage.rs"),
    ("network-latency", "network.rs"),
    ("bad-deploy-rollback", "deploy.rs"),
    ("dependency-outage", "deploy.rs"),
    ("swarm-bad-update", "swarm_run.rs"),
    ("swarm-bad-update-healthcheck", "swarm_run.rs"),
    ("swarm-node-loss", "swarm_run.rs"),
    ("swarm-oom", "swarm_run.rs"),
    ("swarm-partition", "swarm_run.rs"),
];

/// Scenarios this file runs, one test each.
const RUN_HERE: &[&str] = &[
    "hang",
    "log-error",
    "unknown-failure",
    "crash-loop",
    "memory-leak-preemptive",
    "pause",
    "resource-squeeze",
    "cpu-saturation",
    "latency-injection",
    "cache-bloat",
    "network-loss",
    "control-steady",
    "control-slow",
];

#[test]
fn every_scenario_in_the_library_is_run_by_a_test() {
    let dir = common::workspace().join("scenarios");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let covered =
            RUN_HERE.contains(&name.as_str()) || RUN_ELSEWHERE.iter().any(|(n, _)| *n == name);
        if !covered {
            missing.push(name);
        }
    }
    // A name in RUN_HERE is a promise: this file has a test that runs it.
    let here = include_str!("library.rs");
    for name in RUN_HERE {
        assert!(
            here.contains(&format!("meets_its_expectations(\"{name}\"")),
            "{name} is in RUN_HERE but no test here runs it"
        );
    }
    assert!(
        missing.is_empty(),
        "scenarios no test runs (add them to RUN_HERE in {}): {missing:?}",
        file!()
    );
    for (name, test) in RUN_ELSEWHERE {
        let source = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(test),
        )
        .unwrap_or_default();
        assert!(
            source.contains(&format!("\"{name}\"")),
            "{test} does not run `{name}`"
        );
    }
}

/// Runs `scenario` for one trial and checks it met every expectation (exit 0), that its
/// expectations prove the healer's part, that its faults were injected, and that nothing is
/// left behind.
/// Returns the run directory, and the temporary directory holding it.
async fn meets_its_expectations(scenario: &str, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    assert!(RUN_HERE.contains(&scenario));
    let out = tempfile::tempdir().unwrap();
    let output = common::run(
        common::sim()
            .args(["run", scenario, "--trials", "1", "--out"])
            .arg(out.path())
            .args(args),
    );
    let stdout = common::text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "sim run {scenario} failed\nstdout:\n{stdout}\nstderr:\n{}",
        common::text(&output.stderr)
    );
    let dir = common::run_dir(out.path(), scenario).expect("a run directory");
    assert!(stdout.contains("result: PASS"), "{stdout}");
    common::assert_observed_over_time(&dir);

    let result = common::result(&dir);
    let expect = &result["expect"];
    assert!(
        expect.get("healed").is_some() || expect["escalations"].as_u64().unwrap_or(0) > 0,
        "{scenario}: its expectations must say what the healer does (healed, or escalations): {expect}"
    );
    let verdicts = result["verdicts"].as_array().unwrap();
    assert!(
        !verdicts.is_empty(),
        "{scenario}: no expectation was checked"
    );
    assert!(
        verdicts.iter().all(|v| v["passed"] == true),
        "{scenario}: {verdicts:?}"
    );
    let journal = common::journal(&dir);
    // A control scenario has no fault: what it checks is that nothing acts.
    let faults = plan(scenario).faults.len();
    let injected = journal.iter().filter(|r| r["event"] == "fault_injected");
    assert_eq!(
        injected.count() > 0,
        faults > 0,
        "{scenario}: {faults} fault(s) in the plan"
    );
    let (containers, networks) = common::leftovers(&common::run_id(&dir)).await;
    assert_eq!(
        (containers, networks),
        (0, 0),
        "{scenario} left things behind"
    );
    (out, dir)
}

/// The library's scenario `name`, compiled.
fn plan(name: &str) -> sim::scenario::Plan {
    sim::scenario::load(
        &common::workspace().join(format!("scenarios/{name}.yaml")),
        &sim::scenario::Context {
            runbook_dirs: vec![common::workspace().join("healer/runbooks")],
        },
    )
    .unwrap()
}

/// `hang` starts its fault at a random time: the run journals the seed it was given, and the
/// fault starts at the time that seed gives (so a failed run can be replayed).
#[tokio::test]
async fn hang() {
    let (_out, dir) = meets_its_expectations("hang", &["--seed", "7"]).await;
    let journal = common::journal(&dir);
    let started = journal
        .iter()
        .find(|r| r["event"] == "run_started")
        .unwrap();
    assert_eq!(started["seed"], 7, "{started}");
    let plan = plan("hang");
    let wanted = plan.faults[0].start_in_trial(7, 1, 0).as_secs_f64() * 1000.0;
    let ms = |event: &str| -> f64 {
        journal.iter().find(|r| r["event"] == event).unwrap()["t_ms"]
            .as_f64()
            .unwrap()
    };
    // The fault's time counts from the start of the load, which follows the trial's start.
    let after_start = ms("fault_injected") - ms("trial_started");
    assert!(
        after_start >= wanted && after_start < wanted + 5_000.0,
        "fault at {after_start} ms after the trial started; seed 7 gives {wanted} ms after the load"
    );
}

/// The only evidence is a log line: the healer follows the logs, its incident carries the
/// excerpt, one restart heals, and no Docker event or health check opened it.
#[tokio::test]
async fn log_error() {
    let (_out, dir) = meets_its_expectations("log-error", &[]).await;
    let journal = common::journal(&dir);
    let event = |name: &'static str| journal.iter().filter(move |r| r["event"] == name);
    let detected: Vec<_> = event("detected").collect();
    assert_eq!(detected.len(), 1, "one incident: {detected:?}");
    let signal = detected[0]["signal"].as_str().unwrap();
    assert!(
        signal.starts_with("log: FATAL: database connection pool exhausted"),
        "{signal}"
    );
    let excerpt = event("log_excerpt")
        .next()
        .expect("an excerpt after the detection");
    let lines: Vec<&str> = excerpt["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    let fatal = lines
        .iter()
        .filter(|l| l.contains("pool exhausted"))
        .count();
    assert!(
        fatal >= 3,
        "the matching lines are in the excerpt: {lines:?}"
    );
    let actions: Vec<_> = event("action_started").map(|r| &r["action"]).collect();
    assert_eq!(actions, ["restart"]);
    assert_eq!(event("verified").filter(|r| r["ok"] == true).count(), 1);
    let trial = &common::result(&dir)["trials"][0];
    assert!(
        trial["ttd_ms"].as_f64().is_some(),
        "a measured TTD: {trial}"
    );
    assert!(
        trial["mttr_ms"].as_f64().is_some(),
        "a measured MTTR: {trial}"
    );
}

/// An error no runbook matches, without an advisor: one escalation carrying the log excerpt,
/// no action (`sim/tests/advisor.rs` runs it with a stub advisor, which heals it).
#[tokio::test]
async fn unknown_failure() {
    let (_out, dir) = meets_its_expectations("unknown-failure", &[]).await;
    let journal = common::journal(&dir);
    let event = |name: &'static str| journal.iter().filter(move |r| r["event"] == name);
    let detected: Vec<_> = event("detected").collect();
    assert_eq!(detected.len(), 1, "one incident: {detected:?}");
    assert_eq!(detected[0]["class"], "unknown");
    let excerpt = event("log_excerpt").next().expect("an excerpt");
    assert!(
        excerpt["lines"].as_array().unwrap().iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.contains("unrecognised state 0x7f"))),
        "{excerpt}"
    );
    let escalated: Vec<_> = event("escalated").collect();
    assert_eq!(escalated.len(), 1, "{escalated:?}");
    let reason = escalated[0]["reason"].as_str().unwrap();
    assert!(reason.contains("no advisor is configured"), "{reason}");
    assert_eq!(event("action_started").count(), 0);
    assert_eq!(event("advisor_consulted").count(), 0);
}

#[tokio::test]
async fn crash_loop() {
    meets_its_expectations("crash-loop", &[]).await;
}

/// The planned restart is drained first: out of HAProxy's rotation (its runtime API), then
/// restarted, verified, and back in; the scenario's `max_error_rate: 0%` holds users to no
/// failed request.
#[tokio::test]
async fn memory_leak_preemptive() {
    let (_out, dir) = meets_its_expectations("memory-leak-preemptive", &[]).await;
    let journal = common::journal(&dir);
    let at = |what: &dyn Fn(&serde_json::Value) -> bool| {
        journal
            .iter()
            .position(what)
            .unwrap_or_else(|| panic!("missing from the journal"))
    };
    let finished = |action: &'static str| {
        move |r: &serde_json::Value| {
            r["event"] == "action_finished" && r["action"] == action && r["ok"] == true
        }
    };
    let drained = at(&finished("drain"));
    let restart = at(&|r| r["event"] == "action_started" && r["action"] == "restart");
    let verified = at(&|r| r["event"] == "verified" && r["ok"] == true);
    let rejoined = at(&finished("rejoin"));
    assert!(
        drained < restart && restart < verified && verified < rejoined,
        "drain {drained}, restart {restart}, verified {verified}, rejoin {rejoined}"
    );
}

#[tokio::test]
async fn pause() {
    meets_its_expectations("pause", &[]).await;
}

#[tokio::test]
async fn resource_squeeze() {
    meets_its_expectations("resource-squeeze", &[]).await;
}

#[tokio::test]
async fn cpu_saturation() {
    meets_its_expectations("cpu-saturation", &[]).await;
}

#[tokio::test]
async fn latency_injection() {
    meets_its_expectations("latency-injection", &[]).await;
}

#[tokio::test]
async fn cache_bloat() {
    meets_its_expectations("cache-bloat", &[]).await;
}

/// The lossy path is shed by the balancer; the healer, whose probes reach the healthy replica,
/// takes no action (its expectations say `healed: false`).
#[tokio::test]
async fn network_loss() {
    meets_its_expectations("network-loss", &[]).await;
}

/// Controls: nothing is wrong (load only) or the target is slow but healthy. Any healer action
/// is a false positive; the scenarios expect none (`healed: false`, no escalation).
#[tokio::test]
async fn control_steady() {
    meets_its_expectations("control-steady", &[]).await;
}

#[tokio::test]
async fn control_slow() {
    meets_its_expectations("control-slow", &[]).await;
}
