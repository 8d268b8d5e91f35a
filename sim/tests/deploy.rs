//! End to end against the real Docker engine, through the `sim` binary: a bad deploy of one
//! replica behind HAProxy is rolled back by the embedded healer's `bad-deploy` runbook; a stopped
//! dependency is started again by `restart-dependency`, and the target is left alone.

mod common;

use common::{assert_nothing_left, assert_one_outage_healed, journal, result, run_scenario};

#[tokio::test]
async fn a_bad_deploy_is_rolled_back_and_the_replica_recovers() {
    let out = tempfile::tempdir().unwrap();
    let (stdout, dir) = run_scenario(out.path(), "bad-deploy-rollback", 1);
    assert!(stdout.contains("result: PASS"), "{stdout}");

    let records = journal(&dir);
    let has = |event: &str, pred: &dyn Fn(&serde_json::Value) -> bool| {
        records.iter().any(|r| r["event"] == event && pred(r))
    };
    assert!(has("fault_injected", &|r| r["fault"] == "bad-deploy"
        && r["target"] == "leaky-0"));
    assert!(has("detected", &|r| r["class"] == "bad_deploy"));
    assert!(has("action_finished", &|r| r["action"] == "rollback"
        && r["ok"] == true));
    assert!(has("verified", &|r| r["runbook"] == "bad-deploy"
        && r["ok"] == true));
    assert!(!has("escalated", &|_| true), "nothing escalated");
    // The replica went down (its health failed) and came back, by the independent prober.
    let deployed = records
        .iter()
        .position(|r| r["event"] == "fault_injected")
        .unwrap();
    let probes = |ok: bool| {
        records[deployed..]
            .iter()
            .position(|r| r["event"] == "probe" && r["target"] == "leaky-0" && r["ok"] == ok)
    };
    let failed = probes(false).expect("the deployed replica failed a probe");
    let rolled_back = records
        .iter()
        .position(|r| r["event"] == "action_finished" && r["action"] == "rollback")
        .unwrap();
    assert!(
        records[rolled_back..]
            .iter()
            .any(|r| r["event"] == "probe" && r["target"] == "leaky-0" && r["ok"] == true),
        "leaky-0 never answered after the rollback"
    );
    assert!(deployed + failed < rolled_back);

    let trial = &result(&dir)["trials"][0];
    assert_one_outage_healed(trial);
    assert_nothing_left(&dir).await;
}

#[tokio::test]
async fn a_stopped_dependency_is_restarted_and_the_target_is_not() {
    let out = tempfile::tempdir().unwrap();
    let (stdout, dir) = run_scenario(out.path(), "dependency-outage", 1);
    assert!(stdout.contains("result: PASS"), "{stdout}");

    let records = journal(&dir);
    let find = |pred: &dyn Fn(&serde_json::Value) -> bool| records.iter().find(|r| pred(r));
    let stopped = find(&|r| r["event"] == "fault_injected" && r["fault"] == "dependency-outage")
        .expect("the dependency was stopped");
    assert_eq!(stopped["target"], "db");
    let restarted = find(&|r| {
        r["event"] == "action_finished" && r["action"] == "restart" && r["target"] == "db"
    })
    .expect("the healer restarted the dependency");
    assert_eq!(restarted["ok"], true, "{restarted}");
    assert!(
        find(&|r| r["event"] == "verified" && r["target"] == "db" && r["ok"] == true).is_some()
    );
    // By the healer, well before the fault's 8 s window would have ended it.
    let after_ms = restarted["t_ms"].as_f64().unwrap() - stopped["t_ms"].as_f64().unwrap();
    assert!(after_ms < 8000.0, "restarted {after_ms} ms after the stop");
    // Until the trial ended (its cleanup then removes every container), the target was neither
    // restarted nor stopped: no action on it, no death.
    let ended = records
        .iter()
        .position(|r| r["event"] == "trial_ended")
        .unwrap();
    let before_end = &records[..ended];
    assert!(
        !before_end
            .iter()
            .any(|r| r["event"] == "action_started" && r["target"] == "leaky-0"),
        "the healer acted on the target"
    );
    assert!(
        !before_end
            .iter()
            .any(|r| r["event"] == "docker" && r["target"] == "leaky-0" && r["action"] == "die"),
        "the target died"
    );

    let trial = &result(&dir)["trials"][0];
    assert_eq!(trial["outage"], true, "{trial}");
    assert_eq!(trial["outage_target"], "leaky-0", "{trial}");
    assert!(trial["mttr_ms"].as_f64().unwrap() < 4000.0, "{trial}");
    assert_eq!(trial["escalations"], 0, "{trial}");
    assert_nothing_left(&dir).await;
}
