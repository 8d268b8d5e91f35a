//! End to end against the real Docker engine, through the `sim` binary: the library's scenarios
//! break the leaky target under load, the embedded healer heals it, and the figures come out of
//! the journal.

mod common;

use common::{assert_nothing_left, assert_one_outage_healed, journal, result, run_scenario};

#[tokio::test]
async fn oom_recovery_heals_every_oom_kill_and_leaves_nothing_behind() {
    let out = tempfile::tempdir().unwrap();
    let (stdout, dir) = run_scenario(out.path(), "oom-recovery", 3);
    assert!(stdout.contains("MTTR"), "{stdout}");
    assert!(stdout.contains("result: PASS"), "{stdout}");

    let result = result(&dir);
    assert_eq!(result["schema_version"], 2);
    assert_eq!(result["summary"]["passed"], true);
    let trials = result["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 3);
    let mut oom_kills = 0;
    for trial in trials {
        // A heal really happened: the target went down, the healer acted, the prober saw the
        // outage end. (The kernel may thrash instead of killing at once; the hang runbook then
        // restarts it, so the OOM kill is counted over the run, not per trial.)
        assert_eq!(trial["outage"], true, "{trial}");
        assert!(trial["heals"].as_u64().unwrap() >= 1, "{trial}");
        let mttr = trial["mttr_ms"].as_f64().expect("recovered");
        assert!(mttr > 0.0, "{trial}");
        assert!(trial["ttd_ms"].as_f64().is_some(), "{trial}");
        assert!(trial["tta_ms"].as_f64().unwrap() >= 0.0, "{trial}");
        // The instrument cannot see a recovery before the container started again.
        let outage_start = trial["outage_start_ms"].as_f64().unwrap();
        let started = journal(&dir).into_iter().find(|r| {
            r["trial"] == trial["trial"]
                && r["event"] == "docker"
                && r["action"] == "start"
                && r["t_ms"].as_f64().unwrap() > outage_start
        });
        let started = started.expect("the container started again")["t_ms"]
            .as_f64()
            .unwrap();
        assert!(
            trial["recovered_at_ms"].as_f64().unwrap() >= started,
            "{trial}"
        );
        oom_kills += trial["oom_kills"].as_u64().unwrap();
    }
    assert!(oom_kills >= 1, "no OOM kill in the whole run");

    let records = journal(&dir);
    let has = |event: &str, pred: &dyn Fn(&serde_json::Value) -> bool| {
        records.iter().any(|r| r["event"] == event && pred(r))
    };
    assert!(has("docker", &|r| r["action"] == "oom"));
    assert!(has("action_started", &|r| r["action"] == "restart"));
    assert!(has("verified", &|r| r["ok"] == true));
    assert!(has("fault_injected", &|r| r["fault"] == "memory-leak"));
    assert!(has("load", &|r| r["requests_ok"].as_u64().unwrap() > 0));
    assert_eq!(records.last().unwrap()["event"], "run_ended");
    for report in ["report.html", "junit.xml", "summary.md"] {
        assert!(dir.join(report).is_file(), "{report} missing");
    }
    assert!(
        stdout.contains("report:  "),
        "sim run says where the report is"
    );

    // The journal is the whole record: `sim report` on a directory holding only the journal
    // gives the run's figures back exactly.
    let alone = tempfile::tempdir().unwrap();
    let copy = alone
        .path()
        .join("oom-recovery")
        .join(dir.file_name().unwrap());
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(dir.join("journal.jsonl"), copy.join("journal.jsonl")).unwrap();
    let output = common::run(
        common::sim()
            .arg("report")
            .arg(&copy)
            .arg("--out")
            .arg(alone.path()),
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        common::text(&output.stderr)
    );
    let rebuilt = common::result(&copy);
    for part in ["summary", "trials", "verdicts", "expect"] {
        assert_eq!(
            rebuilt[part], result[part],
            "{part} differs when rebuilt from the journal"
        );
    }

    assert_nothing_left(&dir).await;
}

/// A crash (exit code 3) is healed by the restart-on-crash runbook: the journal shows the `die`
/// with its exit code, the runbook chosen, and the outage's end.
#[tokio::test]
async fn crash_recovery_restarts_the_exited_container() {
    let out = tempfile::tempdir().unwrap();
    let (_, dir) = run_scenario(out.path(), "crash-recovery", 1);
    let records = journal(&dir);
    assert!(records
        .iter()
        .any(|r| r["event"] == "docker" && r["action"] == "die" && r["exit_code"] == 3));
    assert!(records
        .iter()
        .any(|r| r["event"] == "runbook_selected" && r["runbook"] == "restart-on-crash"));
    let result = result(&dir);
    let trial = &result["trials"][0];
    assert_one_outage_healed(trial);
    assert_nothing_left(&dir).await;
}

/// Three replicas behind HAProxy: one is SIGKILLed, the healer restarts it, and the balancer
/// keeps users away from it meanwhile (the scenario's 1% error budget holds).
#[tokio::test]
async fn kill_one_replica_is_healed_behind_the_balancer() {
    let out = tempfile::tempdir().unwrap();
    let (stdout, dir) = run_scenario(out.path(), "kill-one-replica", 1);
    assert!(stdout.contains("max_error_rate 1%"), "{stdout}");
    let records = journal(&dir);
    assert!(records
        .iter()
        .any(|r| r["event"] == "fault_injected" && r["target"] == "leaky-1"));
    assert!(records
        .iter()
        .any(|r| r["event"] == "action_started" && r["target"] == "leaky-1"));
    let trial = &result(&dir)["trials"][0];
    assert_eq!(trial["outage_target"], "leaky-1", "{trial}");
    assert_eq!(trial["heals"], 1, "{trial}");
    assert!(trial["requests_ok"].as_u64().unwrap() > 100, "{trial}");
    assert_nothing_left(&dir).await;
}

/// A hung target, invisible to Docker's events, is healed through the real alerting pipeline:
/// Prometheus scrapes it, a user-style rule fires, Alertmanager's v4 webhook reaches the
/// healer, which restarts it; the result splits out what the pipeline costs.
#[tokio::test]
async fn alert_pipeline_heals_a_hang_through_prometheus_and_alertmanager() {
    let out = tempfile::tempdir().unwrap();
    let (stdout, dir) = run_scenario(out.path(), "alert-pipeline", 1);
    assert!(stdout.contains("alerting p50"), "{stdout}");
    let records = journal(&dir);
    assert!(records
        .iter()
        .any(|r| r["event"] == "alert" && r["name"] == "LeakyDown" && r["firing"] == true));
    assert!(records
        .iter()
        .any(|r| r["event"] == "runbook_selected" && r["runbook"] == "restart-on-down-alert"));
    let trial = &result(&dir)["trials"][0];
    assert_eq!(trial["heals"], 1, "{trial}");
    for figure in [
        "fault_to_firing_ms",
        "firing_to_webhook_ms",
        "webhook_to_action_ms",
    ] {
        assert!(trial[figure].as_f64().unwrap() >= 0.0, "{figure}: {trial}");
    }
    assert!(trial["mttr_ms"].as_f64().unwrap() > 0.0, "{trial}");
    assert_nothing_left(&dir).await;
}

/// The suite can fail: a scenario paired with a deliberately wrong runbook (it handles exit
/// code 3; an OOM kill exits 137) makes `sim run --all` exit 1 and say which expectation failed.
#[test]
fn the_suite_fails_with_a_clear_reason_when_a_runbook_is_wrong() {
    let out = tempfile::tempdir().unwrap();
    let output = common::run(
        common::sim()
            .args([
                "run",
                "--all",
                "--scenarios-dir",
                "sim/tests/fixtures/wrong-suite",
                "--out",
            ])
            .arg(out.path()),
    );
    let stdout = common::text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        common::text(&output.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("oom-with-wrong-runbook"))
        .unwrap_or_else(|| panic!("no suite line:\n{stdout}"));
    assert!(line.contains("FAIL"), "{line}");
    assert!(line.contains("recovered_within"), "{line}");
    assert!(line.contains("never recovered"), "{line}");
}
