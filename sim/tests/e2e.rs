//! End to end against the real Docker engine, through the `sim` binary: the library's scenarios
//! break the leaky target under load, the embedded healer heals it, and the figures come out of
//! the journal.

mod common;

use common::{journal, leftovers, run, run_dir, run_id, sim, text};

#[tokio::test]
async fn oom_recovery_heals_every_oom_kill_and_leaves_nothing_behind() {
    let out = tempfile::tempdir().unwrap();
    let output = run(sim()
        .args(["run", "oom-recovery", "--trials", "3", "--out"])
        .arg(out.path()));
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "sim run failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("MTTR"), "{stdout}");
    assert!(stdout.contains("result: PASS"), "{stdout}");

    let dir = run_dir(out.path(), "oom-recovery").expect("a run directory");
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    assert_eq!(result["schema_version"], 1);
    assert_eq!(result["summary"]["passed"], true);
    let trials = result["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 3);
    for trial in trials {
        // A heal really happened: the target was OOM-killed, the healer acted, the prober saw
        // the outage end.
        assert_eq!(trial["outage"], true, "{trial}");
        assert!(trial["oom_kills"].as_u64().unwrap() >= 1, "{trial}");
        assert!(trial["heals"].as_u64().unwrap() >= 1, "{trial}");
        let mttr = trial["mttr_ms"].as_f64().expect("recovered");
        assert!(mttr > 0.0, "{trial}");
        assert!(trial["ttd_ms"].as_f64().is_some(), "{trial}");
        assert!(trial["tta_ms"].as_f64().unwrap() >= 0.0, "{trial}");
    }

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

    assert_eq!(
        leftovers(&run_id(&dir)).await,
        (0, 0),
        "the run left Docker objects"
    );
}

/// A crash (exit code 3) is healed by the restart-on-crash runbook: the journal shows the `die`
/// with its exit code, the runbook chosen, and the outage's end.
#[tokio::test]
async fn crash_recovery_restarts_the_exited_container() {
    let out = tempfile::tempdir().unwrap();
    let output = run(sim()
        .args(["run", "crash-recovery", "--trials", "1", "--out"])
        .arg(out.path()));
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let dir = run_dir(out.path(), "crash-recovery").expect("a run directory");
    let records = journal(&dir);
    assert!(records
        .iter()
        .any(|r| r["event"] == "docker" && r["action"] == "die" && r["exit_code"] == 3));
    assert!(records
        .iter()
        .any(|r| r["event"] == "runbook_selected" && r["runbook"] == "restart-on-crash"));
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap()).unwrap();
    let trial = &result["trials"][0];
    assert_eq!(trial["outage"], true, "{trial}");
    assert_eq!(trial["heals"], 1, "{trial}");
    assert!(trial["mttr_ms"].as_f64().unwrap() > 0.0, "{trial}");
    assert_eq!(
        leftovers(&run_id(&dir)).await,
        (0, 0),
        "the run left Docker objects"
    );
}
