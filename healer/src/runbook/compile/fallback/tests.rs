//! `fallback:` in runbooks: the shipped alert runbook's, the problems a fallback can have (each
//! at its place), the sources it starts, and that it fires only while the alert source is lost.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::alert_source::{fallback_of, AlertSourceStatus};
use crate::detect::Detectors;
use crate::runbook::{Runbook, RunbookError};
use crate::signal::SignalKind;
use crate::sources::Needs;
use crate::triggers::probe_failures::ProbeFailures;
use crate::triggers::Trigger;

const SHIPPED: &str = include_str!("../../../../runbooks/restart-on-down-alert.yaml");

/// The shipped alert runbook with its `fallback` section replaced by `fallback` (YAML lines,
/// or nothing), and its `when` by `when`.
fn with(when: &str, fallback: &str) -> String {
    let shipped_when = "when:\n  - alert: LeakyDown           # Alertmanager's webhook; the target comes from the alert's labels\n";
    let shipped_fallback = "fallback:                      # live only while Prometheus or Alertmanager does not answer\n  - probe_failures: 3          # the healer's own probes: no alert can arrive meanwhile\n";
    assert!(SHIPPED.contains(shipped_when), "fixture drifted: when");
    assert!(
        SHIPPED.contains(shipped_fallback),
        "fixture drifted: fallback"
    );
    SHIPPED
        .replacen(shipped_when, when, 1)
        .replacen(shipped_fallback, fallback, 1)
}

fn parse(yaml: &str) -> Result<Runbook, RunbookError> {
    Runbook::parse(yaml, Path::new("rb.yaml"))
}

fn problems(yaml: &str) -> Vec<String> {
    parse(yaml)
        .unwrap_err()
        .0
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn probe(ok: bool) -> SignalKind {
    SignalKind::Probe {
        ok,
        latency: Duration::from_millis(250),
    }
}

#[test]
fn the_shipped_alert_runbook_falls_back_on_three_failed_probes_and_starts_the_prober() {
    let runbook = parse(SHIPPED).unwrap();
    let three = Trigger::ProbeFailures(ProbeFailures {
        count: 3.try_into().unwrap(),
    });
    assert_eq!(runbook.fallback, [three]);
    let runbooks = [Arc::new(runbook)];
    assert_eq!(
        fallback_of(&runbooks),
        "runbook restart-on-down-alert on `probe_failures: 3`"
    );
    // The probes already run when the source is lost: the fallback is a need.
    assert!(Needs::of(&runbooks).probe);
    let without = parse(&with("when:\n  - alert: LeakyDown\n", "")).unwrap();
    let without = [Arc::new(without)];
    assert!(!Needs::of(&without).probe);
    assert_eq!(
        fallback_of(&without),
        "no fallback for restart-on-down-alert: it waits for alerts"
    );
}

#[test]
fn a_fallback_needs_an_alert_in_when_and_the_healers_own_signals() {
    let no_alert = with(
        "when:\n  - docker_event: oom\n",
        "fallback:\n  - probe_failures: 3\n",
    );
    assert_eq!(
        problems(&no_alert),
        [
            "rb.yaml:6:1: fallback: a fallback stands in for alerts while the alert source is \
             lost, and `when` has no `alert` entry\n  fix: add an `alert:` entry to `when`, or \
             move these entries into `when`"
        ]
    );
    let bad_entries = with(
        "when:\n  - alert: LeakyDown\n  - probe_failures: 3\n",
        "fallback:\n  - alert: LeakyDown\n  - probe_failure: 3\n  - probe_failures: 3\n  \
         - probe_failures: 0\n",
    );
    assert_eq!(
        problems(&bad_entries),
        [
            "rb.yaml:8:5: fallback[0].alert: an alert cannot stand in for alerts: none arrives \
             while the alert source is lost\n  fix: use one of the healer's own signals, e.g. \
             `probe_failures: 3`",
            "rb.yaml:9:5: fallback[1].probe_failure: unknown field `probe_failure`, expected one \
             of: docker_event, exit_code, health, probe_failures, alert, labels, threshold, \
             above, for, trend, reaches, within, samples, anomaly, z, warmup, log_match, count\n  \
             fix: did you mean `probe_failures`?",
            "rb.yaml:9:5: fallback[1]: a `fallback` entry needs exactly one of: docker_event, \
             health, probe_failures, alert, threshold, trend, anomaly, log_match",
            "rb.yaml:10:5: fallback[2]: `probe_failures: 3` is already in `when`, where it is \
             always live\n  fix: remove it from `fallback`",
            "rb.yaml:11:5: fallback[3].probe_failures: expected a whole number of at least 1, \
             got `0`",
        ]
    );
    let empty = with("when:\n  - alert: LeakyDown\n", "fallback: []\n");
    assert_eq!(
        problems(&empty),
        [
            "rb.yaml:6:1: fallback: needs at least one entry\n  fix: add e.g. `fallback: \
          [{probe_failures: 3}]`, or leave `fallback` out"
        ]
    );
}

#[test]
fn a_fallback_fires_only_while_the_alert_source_is_lost() {
    let runbooks = [Arc::new(parse(SHIPPED).unwrap())];
    let status = AlertSourceStatus::default();
    let mut detectors = Detectors::new(status.clone());
    let now = Instant::now();
    let three_failures = |detectors: &mut Detectors| {
        (0..3)
            .flat_map(|_| detectors.observe("t", &probe(false), now, &runbooks))
            .collect::<Vec<_>>()
    };
    assert!(three_failures(&mut detectors).is_empty(), "source up");
    status.part_lost();
    let fired = three_failures(&mut detectors);
    assert_eq!(fired.len(), 1);
    assert_eq!(
        fired[0].reason,
        "the alert source is lost, so `fallback` is live: 3 failed probes in a row"
    );
    // The series is whole: a good probe while lost starts the count over.
    detectors.observe("t", &probe(false), now, &runbooks);
    detectors.observe("t", &probe(true), now, &runbooks);
    assert!(detectors
        .observe("t", &probe(false), now, &runbooks)
        .is_empty());
    status.part_restored();
    assert!(three_failures(&mut detectors).is_empty(), "source restored");
}
