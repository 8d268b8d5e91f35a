//! Tests of the compile step: scenarios compiled from YAML text, checking the plan they give or
//! the located problems they report. Fault tests live in [`faults`], the compose target's in
//! [`compose`], the strategy's in [`strategy`].

use std::fs;
use std::time::Duration;

use specfile::Problems;

use super::compile;
use crate::faults::kinds::{CpuBurn, Crash, Hang, Kill, Latency};
use crate::scenario::plan::{
    Balancer, FaultKind, HealthPlan, Leak, LoadPlan, Plan, TargetImage, TargetPlan,
};
use crate::scenario::spec::ScenarioSpec;
use crate::scenario::Context;

mod advisor;
mod compose;
mod faults;
mod probe_timeout;
mod strategy;
mod swarm;

/// A scratch directory holding a runbook dir with `restart-on-oom.yaml`.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("runbooks")).unwrap();
        fs::write(dir.path().join("runbooks/restart-on-oom.yaml"), "name: x\n").unwrap();
        Scratch { dir }
    }

    fn ctx(&self) -> Context {
        Context {
            runbook_dirs: vec![self.dir.path().join("runbooks")],
        }
    }

    fn compile(&self, text: &str) -> Result<Plan, Problems> {
        self.compile_as("demo.yaml", text)
    }

    fn compile_as(&self, file: &str, text: &str) -> Result<Plan, Problems> {
        let source = self.dir.path().join(file);
        let (spec, map) = specfile::parse::<ScenarioSpec>(&source, text)?;
        compile(spec, map, &source, &self.ctx())
    }

    /// The problems compiling `text`, as (line, field, message) — the message in full so
    /// a test can check its words.
    fn problems(&self, text: &str) -> Vec<(usize, String, String)> {
        let problems = self.compile(text).expect_err("should not compile").0;
        problems
            .into_iter()
            .map(|p| (p.line, p.field, p.message))
            .collect()
    }
}

const MINIMAL: &str = "target: { image: leaky }\nload: { duration: 10s }\n";

/// Asserts that `text` has exactly one problem, at `field` on `line`, whose message
/// contains `words`.
fn check(text: &str, line: usize, field: &str, words: &str) {
    let problems = Scratch::new().problems(text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let (got_line, got_field, message) = &problems[0];
    assert_eq!((*got_line, got_field.as_str()), (line, field), "{message}");
    assert!(message.contains(words), "{message:?} lacks {words:?}");
}

#[test]
fn a_minimal_scenario_gets_every_default() {
    let plan = Scratch::new().compile(MINIMAL).unwrap();
    assert_eq!(plan.name, "demo");
    assert_eq!(plan.description, "");
    assert_eq!(plan.trials, 1);
    assert_eq!(plan.settle, Duration::from_secs(3));
    assert_eq!(
        plan.target,
        TargetPlan {
            name: "leaky".into(),
            image: TargetImage::Leaky,
            replicas: 1,
            port: 8080,
            memory_bytes: None,
            nano_cpus: None,
            env: Default::default(),
            health: HealthPlan {
                path: "/health".into(),
                interval: Duration::from_millis(50),
                timeout: Duration::from_millis(500),
                healthy_after: 3,
            },
            healthcheck: false,
            startup_timeout: Duration::from_secs(20),
            balancer: Balancer::None,
        }
    );
    assert_eq!(
        plan.load,
        LoadPlan {
            users: 4,
            duration: Duration::from_secs(10),
            path: "/".into(),
            timeout: Duration::from_secs(2),
            max_rps: None,
            via: None,
        }
    );
    assert!(plan.faults.is_empty());
    assert!(plan.runbooks.is_empty());
    assert_eq!(plan.expect, reports::Expectations::default());
}

#[test]
fn every_field_given_reaches_the_plan() {
    let scratch = Scratch::new();
    let text = "\
name: demo
description: all of it
trials: 5
settle: 1s
target:
  image: registry:5000/team/app:1.2
  replicas: 3
  port: 9000
  memory: 64MiB
  cpus: 1.5
  env: { A: 2000, B: x }
  startup_timeout: 5s
  health: { path: /up, interval: 200ms, timeout: 1s, healthy_after: 2 }
load: { users: 8, duration: 12s, path: /work, timeout: 1s, max_rps: 200 }
faults:
  - { kind: memory-leak, at: 1s, rate: 32MiB/s }
  - { kind: memory-leak, at: 1s, amount: 10MB, duration: 2s, replica: 2 }
  - { kind: memory-leak, at: 1s, per_request: 1KiB }
  - { kind: cpu-burn, at: 2s, threads: 2, duration: 5s }
  - { kind: latency, at: 0s, fixed: 200ms, jitter: 50ms }
  - { kind: latency, at: 0s, fixed: 1s }
  - { kind: hang, at: 3s, duration: 1s }
  - { kind: crash, at: 4s, exit_code: 3 }
  - { kind: crash, at: 4s }
  - { kind: kill, at: 5s, replica: 0 }
  - { kind: cpu-burn, at: 2s }
healer:
  runbooks: [restart-on-oom, runbooks/restart-on-oom.yaml]
expect: { recovered_within: 10s, max_error_rate: 5%, min_success_rate: 100% }
";
    let plan = scratch.compile(text).unwrap();
    assert_eq!(plan.description, "all of it");
    assert_eq!((plan.trials, plan.settle), (5, Duration::from_secs(1)));
    let t = &plan.target;
    assert_eq!(t.name, "app");
    assert_eq!(
        t.image,
        TargetImage::Local("registry:5000/team/app:1.2".into())
    );
    assert_eq!((t.replicas, t.port), (3, 9000));
    assert_eq!(t.balancer, Balancer::Haproxy);
    assert_eq!(t.memory_bytes, Some(64 << 20));
    assert_eq!(t.nano_cpus, Some(1_500_000_000));
    assert_eq!(t.env["A"], "2000");
    assert_eq!(t.env["B"], "x");
    assert_eq!(t.startup_timeout, Duration::from_secs(5));
    assert_eq!(
        t.health,
        HealthPlan {
            path: "/up".into(),
            interval: Duration::from_millis(200),
            timeout: Duration::from_secs(1),
            healthy_after: 2,
        }
    );
    assert_eq!(
        plan.load,
        LoadPlan {
            users: 8,
            duration: Duration::from_secs(12),
            path: "/work".into(),
            timeout: Duration::from_secs(1),
            max_rps: Some(200),
            via: None,
        }
    );
    let kinds: Vec<FaultKind> = plan.faults.iter().map(|f| f.kind.clone()).collect();
    let ms = Duration::from_millis;
    assert_eq!(
        kinds,
        [
            FaultKind::MemoryLeak(Leak::Rate {
                bytes_per_sec: 32 << 20
            }),
            FaultKind::MemoryLeak(Leak::Amount { bytes: 10_000_000 }),
            FaultKind::MemoryLeak(Leak::PerRequest { bytes: 1024 }),
            FaultKind::CpuBurn(CpuBurn { threads: 2 }),
            FaultKind::Latency(Latency {
                fixed: ms(200),
                jitter: ms(50)
            }),
            FaultKind::Latency(Latency {
                fixed: ms(1000),
                jitter: Duration::ZERO
            }),
            FaultKind::Hang(Hang),
            FaultKind::Crash(Crash { exit_code: 3 }),
            FaultKind::Crash(Crash { exit_code: 1 }),
            FaultKind::Kill(Kill),
            FaultKind::CpuBurn(CpuBurn { threads: 1 }),
        ]
    );
    let f = &plan.faults[1];
    assert_eq!(
        (f.at, f.duration, f.replica),
        (ms(1000), Some(ms(2000)), Some(2))
    );
    assert_eq!(
        (plan.faults[0].duration, plan.faults[0].replica),
        (None, None)
    );
    let runbook = scratch.dir.path().join("runbooks/restart-on-oom.yaml");
    assert_eq!(plan.runbooks, [runbook.clone(), runbook]);
    assert_eq!(
        plan.expect,
        reports::Expectations {
            recovered_within: Some(Duration::from_secs(10)),
            max_error_rate: Some(0.05),
            min_success_rate: Some(1.0),
            ..Default::default()
        }
    );
}

#[test]
fn the_name_must_match_the_file() {
    let text = format!("name: other\n{MINIMAL}");
    let problems = Scratch::new().compile(&text).unwrap_err().0;
    assert_eq!(problems.len(), 1);
    assert_eq!((problems[0].line, problems[0].field.as_str()), (1, "name"));
    assert!(problems[0]
        .message
        .contains("`other` does not match the file name `demo.yaml`"));
    assert_eq!(
        problems[0].fix.as_deref(),
        Some("rename the file or the name")
    );
}

#[test]
fn trials_are_one_to_a_thousand() {
    check(
        &format!("trials: 0\n{MINIMAL}"),
        1,
        "trials",
        "between 1 and 1000, got 0",
    );
    check(&format!("trials: 1001\n{MINIMAL}"), 1, "trials", "got 1001");
    assert!(Scratch::new()
        .compile(&format!("trials: 1000\n{MINIMAL}"))
        .is_ok());
}

#[test]
fn target_and_load_are_required() {
    let problems = Scratch::new().problems("name: demo\n");
    let fields: Vec<&str> = problems.iter().map(|(_, f, _)| f.as_str()).collect();
    assert_eq!(fields, ["target.image", "load.duration"]);
    assert!(problems.iter().all(|(_, _, m)| m == "is required"));
}

#[test]
fn unknown_fields_are_reported_in_every_section() {
    let text = "\
colour: red
target: { image: leaky, imgae: x }
load: { duration: 10s, userz: 3 }
faults: [{ kind: hang, at: 1s, wobble: 1 }]
healer: { runbook: [] }
expect: { mttr: 1s }
";
    let problems = Scratch::new().problems(text);
    let fields: Vec<&str> = problems.iter().map(|(_, f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "colour",
            "target.imgae",
            "load.userz",
            "faults[0].wobble",
            "healer.runbook",
            "expect.mttr"
        ]
    );
    assert!(problems[0]
        .2
        .contains("expected one of: name, description, trials"));
    assert!(problems[3]
        .2
        .ends_with("expected one of: kind, at, duration, replica"));
}

#[test]
fn bad_values_are_all_reported() {
    let text = "\
settle: soon
target:
  image: leaky
  memory: 64M
  startup_timeout: 0s
  health: { interval: 2s, timeout: x, healthy_after: 0 }
load: { duration: 10s, timeout: 0, users: 0, max_rps: 0, path: nowhere }
expect: { recovered_within: 1 minute, max_error_rate: 5, min_success_rate: 120% }
";
    let problems = Scratch::new().problems(text);
    let got: Vec<(usize, &str)> = problems.iter().map(|(l, f, _)| (*l, f.as_str())).collect();
    assert_eq!(
        got,
        [
            (1, "settle"),
            (4, "target.memory"),
            (5, "target.startup_timeout"),
            (6, "target.health.interval"),
            (6, "target.health.timeout"),
            (6, "target.health.healthy_after"),
            (7, "load.timeout"),
            (7, "load.users"),
            (7, "load.max_rps"),
            (7, "load.path"),
            (8, "expect.recovered_within"),
            (8, "expect.max_error_rate"),
            (8, "expect.min_success_rate"),
        ]
    );
    assert!(problems[3]
        .2
        .contains("the prober must sample often enough for MTTR"));
}

#[test]
fn health_interval_may_be_up_to_a_second() {
    let text = "target: { image: leaky, health: { interval: 1s } }\nload: { duration: 10s }\n";
    assert!(Scratch::new().compile(text).is_ok());
    let text = "target: { image: leaky, health: { interval: 1001ms } }\nload: { duration: 10s }\n";
    check(text, 1, "target.health.interval", "too long");
}

#[test]
fn replicas_are_one_to_sixteen() {
    let text = "target: { image: leaky, replicas: 17 }\nload: { duration: 10s }\n";
    check(text, 1, "target.replicas", "between 1 and 16, got 17");
}

#[test]
fn memory_below_docker_minimum_is_refused() {
    let text = "target: { image: leaky, memory: 5MiB }\nload: { duration: 10s }\n";
    check(text, 1, "target.memory", "below the 6MiB");
}

#[test]
fn cpus_must_be_a_sensible_share() {
    let text = "target: { image: leaky, cpus: 0 }\nload: { duration: 10s }\n";
    check(text, 1, "target.cpus", "between 0.01 and 1024 CPUs, got 0");
}

#[test]
fn missing_runbooks_say_where_they_were_looked_for() {
    let scratch = Scratch::new();
    let text = format!("{MINIMAL}healer:\n  runbooks: [restart-on-oom, nope, missing/x.yaml]\n");
    let problems = scratch.problems(&text);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    let (line, field, message) = &problems[0];
    assert_eq!((*line, field.as_str()), (4, "healer.runbooks[1]"));
    let looked = scratch.dir.path().join("runbooks/nope.yaml");
    assert!(
        message.contains(&format!("looked for {}", looked.display())),
        "{message}"
    );
    assert_eq!(problems[1].1, "healer.runbooks[2]");
    assert!(problems[1].2.contains("missing/x.yaml not found"));
}

#[test]
fn without_runbook_dirs_a_name_cannot_be_found() {
    let scratch = Scratch::new();
    let source = scratch.dir.path().join("demo.yaml");
    let text = format!("{MINIMAL}healer: {{ runbooks: [restart-on-oom] }}\n");
    let (spec, map) = specfile::parse::<ScenarioSpec>(&source, &text).unwrap();
    let problems = compile(spec, map, &source, &Context::default())
        .unwrap_err()
        .0;
    assert!(problems[0]
        .message
        .contains("no runbook directories are configured"));
}

#[test]
fn a_docker_health_check_is_for_the_built_in_target_only() {
    let scratch = Scratch::new();
    let text = "target: { image: leaky, healthcheck: true }\nload: { duration: 10s }\n";
    assert!(scratch.compile(text).unwrap().target.healthcheck);
    check(
        "target: { image: app:1, healthcheck: true }\nload: { duration: 10s }\n",
        1,
        "target.healthcheck",
        "only the built-in target's image has",
    );
}
