//! The command line's contract: exit codes, messages naming file:line:col, `sim list`, `sim gc`.

mod common;

use std::collections::HashMap;

use bollard::models::NetworkCreateRequest;
use common::{run, sim, text};

#[test]
fn validate_lists_every_problem_with_its_location_and_exits_2() {
    let output = run(sim().args(["validate", "sim/tests/fixtures/broken.yaml"]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    let located = stderr
        .lines()
        .filter(|l| l.starts_with("sim/tests/fixtures/broken.yaml:"))
        .count();
    assert!(located >= 5, "expected every problem located:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn validate_accepts_the_shipped_scenarios() {
    let output = run(sim().args(["validate", "scenarios/oom-recovery.yaml"]));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("oom-recovery.yaml: ok"));
}

#[test]
fn run_of_an_unknown_scenario_is_bad_input() {
    let output = run(sim().args(["run", "no-such-scenario"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("oom-recovery"),
        "lists what exists"
    );
}

#[test]
fn list_shows_the_library() {
    let output = run(sim().args(["list", "--json"]));
    assert_eq!(output.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let oom = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "oom-recovery")
        .expect("oom-recovery listed");
    assert_eq!(oom["valid"], true);
}

#[test]
fn no_docker_engine_is_an_environment_error_with_a_fix() {
    let output = run(sim()
        .args(["run", "oom-recovery"])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"));
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stderr).contains("no Docker engine answers"));
}

/// A network labelled as a run whose `sim` process is gone (a pid above the kernel's pid_max
/// default) stands for a SIGKILLed run; `sim gc` must find and remove it. Runs whose `sim` is
/// alive (another test's, running at the same time) are spared, which `owner_alive`'s unit test
/// covers.
#[tokio::test]
async fn gc_removes_what_a_killed_run_left() {
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let name = format!("sim-gc-test-{}", std::process::id());
    docker
        .create_network(NetworkCreateRequest {
            name: name.clone(),
            labels: Some(HashMap::from([
                ("sim.managed".to_owned(), "true".to_owned()),
                ("sim.run".to_owned(), name.clone()),
                ("sim.pid".to_owned(), "4194305".to_owned()),
            ])),
            ..Default::default()
        })
        .await
        .unwrap();

    let dry = run(sim().args(["gc", "--dry-run", "--json"]));
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry.stderr));
    let report: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert!(report["networks"].to_string().contains(&name), "{report}");
    assert!(
        docker.inspect_network(&name, None).await.is_ok(),
        "dry run removed it"
    );

    let output = run(sim().args(["gc"]));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains(&name));
    assert!(
        docker.inspect_network(&name, None).await.is_err(),
        "still there"
    );
}

/// `sim report` regenerates every run's reports from its journal (real recorded runs, laid out
/// as a runs root) and writes the history index.
#[test]
fn report_regenerates_runs_and_the_history_index() {
    let root = tempfile::tempdir().unwrap();
    let fixtures = common::workspace().join("reports/tests/fixtures");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(fixtures.join("."))
        .arg(root.path())
        .status()
        .unwrap();
    assert!(status.success());
    let output = run(sim().arg("report").arg("--out").arg(root.path()));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("history: "), "{stdout}");
    assert!(root.path().join("index.html").is_file());
    let reports: Vec<_> = stdout
        .lines()
        .filter(|l| l.contains("report.html"))
        .collect();
    assert!(reports.len() >= 2, "{stdout}");
    for scenario in ["oom-recovery", "crash-recovery"] {
        let dir = common::run_dir(root.path(), scenario).expect("fixture run");
        assert!(dir.join("report.html").is_file());
        assert!(dir.join("junit.xml").is_file());
    }
}

#[test]
fn validate_reports_an_alert_rule_file_with_an_error() {
    let output = run(sim().args(["validate", "sim/tests/fixtures/bad-rules.yaml"]));
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("broken.rules.yml"), "{stderr}");
    assert!(stderr.contains("invalid"), "{stderr}");
}
