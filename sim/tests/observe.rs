//! `--observe-up-to` end to end against the real Docker engine, through the `sim` binary: a hung
//! target that autoheal restarts only after the load's planned 12 s is measured to its
//! recovery, the load running until then, and the trial ends at that recovery, not at the bound.

mod common;

use common::{journal, leftovers, run, run_dir, run_id, sim, text};

#[tokio::test]
async fn a_trial_keeps_its_load_running_past_its_duration_until_the_outage_recovers() {
    let out = tempfile::tempdir().unwrap();
    // A HEALTHCHECK every 4s, 3 failures (each hung check takes the probe's 2s timeout):
    // autoheal restarts the target hung at 2..5s some 19..25s into the load, 7s or more after
    // its 12s end (measured here: 17.0s MTTR after a hang at 3.7s).
    let output = run(sim()
        .args([
            "run",
            "hang",
            "--strategy",
            "autoheal",
            "--autoheal-interval",
            "4s",
            "--autoheal-retries",
            "3",
            "--autoheal-poll",
            "1s",
            "--observe-up-to",
            "60s",
            "--trials",
            "1",
            "--out",
        ])
        .arg(out.path()));
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    // It ran to its end: exit 1 only for `healed: true`, which autoheal (no verification) misses.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let dir = run_dir(out.path(), "hang").expect("a run directory");
    let records = journal(&dir);
    assert_eq!(
        records[0]["setup"]["observe_up_to_ms"], 60_000.0,
        "the bound is not journalled\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let time = |what: &dyn Fn(&serde_json::Value) -> bool, name: &str| {
        records
            .iter()
            .find(|r| what(r))
            .and_then(|r| r["t_ms"].as_f64())
            .unwrap_or_else(|| panic!("no {name}\nstdout:\n{stdout}\nstderr:\n{stderr}"))
    };
    let ready = time(&|r| r["event"] == "target_ready", "target_ready");
    let restarted = time(
        &|r| r["event"] == "action_finished" && r["runbook"] == "autoheal",
        "autoheal restart",
    );
    let load_ended = time(&|r| r["event"] == "load", "load record");
    let trial_ended = time(&|r| r["event"] == "trial_ended", "trial_ended");
    assert!(
        restarted - ready > 12_000.0,
        "the restart came {:.1}s into the load, within its 12s: this test proves nothing",
        (restarted - ready) / 1000.0
    );

    // Measured to its end: recovered, with an MTTR, from result.json.
    let result = common::result(&dir);
    let trial = &result["trials"][0];
    assert_eq!(trial["outage"], true, "{trial}");
    let recovered = trial["recovered_at_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("not recovered: {trial}\nstdout:\n{stdout}"));
    let mttr = trial["mttr_ms"].as_f64().expect("an MTTR");
    assert!(recovered > restarted && mttr > 0.0, "{trial}");

    // The load kept running until the recovery (its requests counted in windows all along),
    // and stopped soon after it, well before the 60s bound.
    assert!(
        load_ended > recovered && load_ended < recovered + 2_000.0,
        "the load ended {:.1}s after the recovery",
        (load_ended - recovered) / 1000.0
    );
    assert!(
        trial_ended - ready < 12_000.0 + 30_000.0,
        "ran to the bound"
    );
    let windows_after_duration = records
        .iter()
        .filter(|r| r["event"] == "load_window")
        .filter(|r| r["t_ms"].as_f64().unwrap() > ready + 12_500.0)
        .count();
    assert!(
        windows_after_duration as f64 >= (recovered - ready - 12_500.0) / 250.0 - 2.0,
        "only {windows_after_duration} load windows after the load's planned end"
    );
    common::assert_observed_over_time(&dir);
    assert_eq!(
        leftovers(&run_id(&dir)).await,
        (0, 0),
        "left Docker objects"
    );
}
