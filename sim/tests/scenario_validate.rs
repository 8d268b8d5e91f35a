//! `sim::scenario::load` on real files: a deliberately broken fixture reports every problem at
//! once, each at its line:col with its field; the shipped `oom-recovery` scenario compiles.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sim::scenario::{self, Context, FaultKind, Leak, TargetImage};

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A runbook directory holding `restart-on-oom.yaml`, so runbook names resolve without
/// depending on the healer crate's files.
fn runbook_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["restart-on-oom", "hang"] {
        fs::write(dir.path().join(format!("{name}.yaml")), "# stand-in\n").unwrap();
    }
    dir
}

/// Every problem in `sim/tests/fixtures/broken.yaml`: (line, col, field, words in the message).
const BROKEN: &[(usize, usize, &str, &str)] = &[
    (
        3,
        1,
        "name",
        "`not-broken` does not match the file name `broken.yaml`",
    ),
    (4, 1, "trials", "must be between 1 and 1000, got 0"),
    (
        8,
        3,
        "target.memroy",
        "unknown field `memroy`, expected one of: name, image",
    ),
    (
        10,
        5,
        "target.health.interval",
        "the prober must sample often enough for MTTR",
    ),
    (
        13,
        3,
        "load.timeout",
        "invalid duration \"2 seconds\": expected e.g. 30s",
    ),
    (
        16,
        5,
        "faults[0].at",
        "the fault starts at 12s, but the load lasts only 10s",
    ),
    (
        18,
        5,
        "faults[0].amount",
        "give exactly one of rate, amount, per_request",
    ),
    (
        19,
        5,
        "faults[1].kind",
        "unknown fault kind `explode`, expected one of: memory-leak",
    ),
    (22, 5, "faults[2].at", "invalid duration \"3x\""),
    (
        23,
        5,
        "faults[2].replica",
        "replica 2 does not exist: the target has 2",
    ),
    (
        25,
        14,
        "healer.runbooks[0]",
        "runbook `no-such-runbook` not found; looked for",
    ),
    (
        27,
        3,
        "expect.max_error_rate",
        "invalid percentage \"5\": it must end in %",
    ),
];

#[test]
fn every_problem_in_the_broken_fixture_is_reported_at_its_place() {
    let runbooks = runbook_dir();
    let ctx = Context {
        runbook_dirs: vec![runbooks.path().to_owned()],
    };
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken.yaml");
    let problems = scenario::load(&file, &ctx)
        .expect_err("broken.yaml must not compile")
        .0;

    let got: Vec<(usize, usize, &str)> = problems
        .iter()
        .map(|p| (p.line, p.col, p.field.as_str()))
        .collect();
    let want: Vec<(usize, usize, &str)> = BROKEN.iter().map(|(l, c, f, _)| (*l, *c, *f)).collect();
    assert_eq!(got, want);
    for (problem, (_, _, _, words)) in problems.iter().zip(BROKEN) {
        assert!(
            problem.message.contains(words),
            "{problem}\n  does not say: {words}"
        );
        assert_eq!(problem.file, file);
    }
    let looked = runbooks.path().join("no-such-runbook.yaml");
    assert!(problems[10].message.contains(&looked.display().to_string()));
    assert_eq!(
        problems[0].fix.as_deref(),
        Some("rename the file or the name")
    );
    let text = scenario::load(&file, &ctx).unwrap_err().to_string();
    assert!(
        text.ends_with(&format!("{} problems", BROKEN.len())),
        "{text}"
    );
}

#[test]
fn oom_recovery_compiles_to_the_documented_plan() {
    let runbooks = runbook_dir();
    let ctx = Context {
        runbook_dirs: vec![runbooks.path().to_owned()],
    };
    let file = repo_file("scenarios/oom-recovery.yaml");
    let plan = scenario::load(&file, &ctx).unwrap_or_else(|problems| panic!("{problems}"));

    assert_eq!(plan.name, "oom-recovery");
    assert_eq!(plan.trials, 3);
    assert_eq!(plan.target.image, TargetImage::Leaky);
    assert_eq!(plan.target.memory_bytes, Some(64 << 20));
    assert_eq!(plan.target.nano_cpus, Some(1_000_000_000));
    assert_eq!(plan.target.env["LEAKY_WORK_ITERATIONS"], "2000");
    assert_eq!(plan.load.duration, Duration::from_secs(12));
    assert_eq!(plan.faults.len(), 1);
    assert_eq!(plan.faults[0].at, Duration::from_secs(3));
    assert_eq!(
        plan.faults[0].kind,
        FaultKind::MemoryLeak(Leak::Rate {
            bytes_per_sec: 64 << 20
        })
    );
    assert_eq!(
        plan.runbooks,
        [
            runbooks.path().join("restart-on-oom.yaml"),
            runbooks.path().join("hang.yaml")
        ]
    );
    assert_eq!(plan.expect.recovered_within, Some(Duration::from_secs(10)));
    assert_eq!(plan.expect.max_error_rate, Some(0.20));
    assert_eq!(plan.expect.min_success_rate, Some(1.0));
}

#[test]
fn every_shipped_scenario_compiles_with_the_shipped_runbooks() {
    let ctx = Context {
        runbook_dirs: vec![repo_file("healer/runbooks")],
    };
    let listed = scenario::list(&repo_file("scenarios"), &ctx);
    assert!(listed.iter().any(|(name, ..)| name == "oom-recovery"));
    for (name, _, plan) in listed {
        if let Err(problems) = plan {
            panic!("scenarios/{name}.yaml:\n{problems}");
        }
    }
}
