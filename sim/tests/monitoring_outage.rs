//! `alert-pipeline-outage` against the real Docker engine: Alertmanager is stopped under load,
//! then the target hangs. The embedded healer journals `source_lost`, heals the hang through
//! restart-on-down-alert's `fallback` on its own probes (no alert can arrive meanwhile),
//! verifies it, gets Alertmanager back, and the run leaves nothing behind.

mod common;

use common::{assert_nothing_left, assert_one_outage_healed, journal, result, run_scenario};
use serde_json::Value;

#[tokio::test]
async fn alertmanager_stopped_under_load_is_journalled_and_the_hang_is_healed_by_the_fallback() {
    let out = tempfile::tempdir().unwrap();
    let (stdout, dir) = run_scenario(out.path(), "alert-pipeline-outage", 1);
    let records = journal(&dir);
    let find = |what: &str, from: usize, pick: &dyn Fn(&Value) -> bool| {
        records[from..]
            .iter()
            .position(pick)
            .map(|i| from + i)
            .unwrap_or_else(|| panic!("no {what} after record {from}:\n{stdout}\n{records:#?}"))
    };
    let event = |r: &Value, name: &str| r["event"] == name;

    let stopped = find("monitoring outage", 0, &|r| {
        event(r, "fault_injected") && r["fault"] == "monitoring-outage"
    });
    assert_eq!(
        records[stopped]["detail"],
        "docker stop of the run's alertmanager"
    );
    let lost = find("source_lost", stopped, &|r| event(r, "source_lost"));
    assert_eq!(records[lost]["source"], "alertmanager", "{}", records[lost]);
    assert_eq!(
        records[lost]["fallback"], "runbook restart-on-down-alert on `probe_failures: 3`",
        "{}",
        records[lost]
    );
    let hang = find("hang", 0, &|r| {
        event(r, "fault_injected") && r["fault"] == "hang"
    });
    let detected = find("detection", hang.max(lost), &|r| event(r, "detected"));
    let signal = records[detected]["signal"].as_str().unwrap();
    assert!(signal.starts_with("probe failed"), "{signal}");
    let incident = records[detected]["incident"].as_str().unwrap();
    let selected = find("runbook selection", detected, &|r| {
        event(r, "runbook_selected") && r["incident"] == incident
    });
    assert_eq!(records[selected]["runbook"], "restart-on-down-alert");
    let reason = records[selected]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("the alert source is lost, so `fallback` is live: 3 failed probes"),
        "{reason}"
    );
    let verified = find("verification", selected, &|r| {
        event(r, "verified") && r["incident"] == incident
    });
    assert_eq!(records[verified]["ok"], true, "{}", records[verified]);
    // The fallback healed it: no alert reached sim's webhook before the heal was verified.
    assert!(
        !records[..verified].iter().any(|r| event(r, "alert")),
        "{records:#?}"
    );
    let restored = find("source_restored", lost, &|r| event(r, "source_restored"));
    assert_eq!(records[restored]["source"], "alertmanager");
    assert!(records[restored]["down_ms"].as_f64().unwrap() > 0.0);

    assert_one_outage_healed(&result(&dir)["trials"][0]);
    assert_nothing_left(&dir).await;
}
