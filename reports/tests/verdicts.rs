//! Run summaries: aggregates and expectation verdicts, checked through one `check` helper.

mod common;

use std::time::Duration;

use common::*;
use journal::Event;
use reports::{summarize, Expectations, RunSummary};

/// Summarizes the journal built from `entries` with K = 3 and compares its verdicts with
/// `expected` as `(expectation, passed, detail)`; returns the summary for further checks.
fn check(
    entries: Vec<(f64, u32, Event)>,
    expect: Expectations,
    expected: &[(&str, bool, &str)],
) -> RunSummary {
    let summary = summarize(&journal(entries), 3, &expect);
    let actual: Vec<(&str, bool, &str)> = summary
        .verdicts
        .iter()
        .map(|v| (v.expectation.as_str(), v.passed, v.detail.as_str()))
        .collect();
    assert_eq!(actual, expected);
    summary
}

fn all(recovered_within_ms: u64, max_error_rate: f64, min_success_rate: f64) -> Expectations {
    Expectations {
        recovered_within: Some(Duration::from_millis(recovered_within_ms)),
        max_error_rate: Some(max_error_rate),
        min_success_rate: Some(min_success_rate),
        ..Expectations::default()
    }
}

/// Trials 1 and 2 of `oom_trial` (MTTR 550 ms, 10 failed of 1000 requests each), then a run end.
fn two_good_trials() -> Vec<(f64, u32, Event)> {
    let mut entries = vec![(0.0, 0, run_started())];
    entries.extend(oom_trial(1, 0.0));
    entries.extend(oom_trial(2, 10_000.0));
    entries.push((20_000.0, 0, run_ended(false)));
    entries
}

/// A trial whose outage starts at 1000 and never recovers; the trial ends at 6000.
fn never_recovering_trial(trial: u32, offset: f64) -> Vec<(f64, u32, Event)> {
    vec![
        (offset, trial, ready(T)),
        (offset + 1000.0, trial, probe(T, false)),
        (offset + 2000.0, trial, probe(T, false)),
        (offset + 5000.0, trial, load(0, 1000)),
        (offset + 6000.0, trial, trial_ended(false)),
    ]
}

#[test]
fn verdicts_pass() {
    let summary = check(
        two_good_trials(),
        all(1000, 0.02, 1.0),
        &[
            (
                "recovered_within 1s",
                true,
                "max MTTR 0.550s over 2 outage(s) <= 1s",
            ),
            (
                "max_error_rate 2%",
                true,
                "error rate 1% (20 failed of 2000 requests) <= 2%",
            ),
            (
                "min_success_rate 100%",
                true,
                "2 of 2 trials successful (100%) >= 100%",
            ),
        ],
    );
    assert!(summary.passed());
    assert!(!summary.interrupted);
}

#[test]
fn verdicts_fail() {
    let mut entries = two_good_trials();
    entries.extend(never_recovering_trial(3, 30_000.0));
    let summary = check(
        entries,
        all(500, 0.005, 0.9),
        &[
            (
                "recovered_within 0.5s",
                false,
                "trial 1 MTTR 0.550s > 0.5s; trial 2 MTTR 0.550s > 0.5s; trial 3 never recovered",
            ),
            (
                "max_error_rate 0.5%",
                false,
                "error rate 34% (1020 failed of 3000 requests) > 0.5%",
            ),
            (
                "min_success_rate 90%",
                false,
                "2 of 3 trials successful (66.6667%) < 90%; \
                 trial 3: never recovered within the trial (5.0 s after outage start)",
            ),
        ],
    );
    assert!(!summary.passed());
}

#[test]
fn a_never_recovered_outage_fails_recovered_within_however_generous() {
    let summary = check(
        never_recovering_trial(1, 0.0),
        Expectations {
            recovered_within: Some(Duration::from_secs(3600)),
            ..Expectations::default()
        },
        &[("recovered_within 3600s", false, "trial 1 never recovered")],
    );
    assert!(!summary.passed());
}

#[test]
fn no_outage_passes_recovered_within_and_no_requests_fails_max_error_rate() {
    check(
        vec![
            (0.0, 1, ready(T)),
            (100.0, 1, probe(T, true)),
            (200.0, 1, trial_ended(false)),
        ],
        all(1000, 0.5, 1.0),
        &[
            (
                "recovered_within 1s",
                true,
                "no outage in 1 trial(s): nothing to recover",
            ),
            (
                "max_error_rate 50%",
                false,
                "no requests were recorded (no load results in the journal)",
            ),
            (
                "min_success_rate 100%",
                true,
                "1 of 1 trials successful (100%) >= 100%",
            ),
        ],
    );
}

#[test]
fn an_interrupted_run_fails_every_verdict() {
    let mut entries = two_good_trials();
    entries.pop();
    entries.push((20_000.0, 0, run_ended(true)));
    let summary = check(
        entries,
        all(1000, 0.02, 1.0),
        &[
            ("recovered_within 1s", false, "run interrupted"),
            ("max_error_rate 2%", false, "run interrupted"),
            ("min_success_rate 100%", false, "run interrupted"),
        ],
    );
    assert!(summary.interrupted);
    assert!(!summary.passed());
}

#[test]
fn an_interrupted_run_fails_even_without_expectations() {
    let mut entries = oom_trial(1, 0.0);
    entries.pop();
    entries.push((5000.0, 1, trial_ended(true)));
    let summary = check(entries, Expectations::default(), &[]);
    assert!(summary.interrupted);
    assert!(!summary.passed());

    let summary = check(two_good_trials(), Expectations::default(), &[]);
    assert!(summary.passed());
}

#[test]
fn run_error_rate_sums_every_trials_load() {
    let mut entries = oom_trial(1, 0.0);
    entries.extend(never_recovering_trial(2, 10_000.0));
    let summary = check(entries, Expectations::default(), &[]);
    let a = &summary.aggregate;
    assert_eq!((a.requests_ok, a.requests_failed), (990, 1010));
    assert_eq!(a.error_rate, Some(1010.0 / 2000.0));
    assert_eq!(summary.trials[0].error_rate, Some(0.01));
    assert_eq!(summary.trials[1].error_rate, Some(1.0));
}

#[test]
fn aggregates_use_nearest_rank_over_recovered_outages() {
    // MTTRs 550 (trial 1: from a death to a good answer), 200 and 900 (trials 2, 3: from a
    // failed probe's send, `PROBE_MS` before its record, to a good answer); trial 4 never
    // recovers, trial 5 has no outage.
    let mut entries = oom_trial(1, 0.0);
    for (trial, offset, mttr) in [(2, 10_000.0, 200.0), (3, 20_000.0, 900.0)] {
        entries.extend([
            (offset, trial, ready(T)),
            (offset + 100.0, trial, probe(T, false)),
            (offset + 100.0 - PROBE_MS + mttr, trial, probe(T, true)),
            (offset + 200.0 + mttr, trial, probe(T, true)),
            (offset + 300.0 + mttr, trial, probe(T, true)),
            (offset + 2000.0, trial, trial_ended(false)),
        ]);
    }
    entries.extend(never_recovering_trial(4, 30_000.0));
    entries.extend([
        (40_000.0, 5, ready(T)),
        (40_100.0, 5, probe(T, true)),
        (40_200.0, 5, trial_ended(false)),
    ]);
    let summary = check(entries, Expectations::default(), &[]);
    let a = &summary.aggregate;
    assert_eq!((a.trials, a.successful_trials), (5, 4));
    assert_eq!((a.trials_with_outage, a.recovered_trials), (4, 3));
    assert_eq!(a.success_rate, Some(0.8));
    assert_eq!(a.mttr_p50_ms, Some(550.0));
    assert_eq!(a.mttr_p95_ms, Some(900.0));
    assert_eq!(a.mttr_max_ms, Some(900.0));
    assert_eq!(a.ttd_p50_ms, Some(100.0));
    assert_eq!(a.tta_p50_ms, Some(50.0));
    assert_eq!(
        (a.oom_kills, a.actions, a.heals, a.unverified, a.escalations),
        (1, 1, 1, 0, 0)
    );
    // Only trial 1 was healed: the phase p50s are its own.
    assert_eq!(
        (a.platform_call_p50_ms, a.finished_to_recovered_p50_ms),
        (Some(350.0), Some(50.0))
    );
    // Trial 1's span runs from the failed probe's send (2098) to the next good answer (2600).
    assert_eq!(a.downtime_ms, (500.0 + PROBE_MS) + 200.0 + 900.0 + 1000.0);
}

#[test]
fn oom_kill_and_escalation_counts_are_checked() {
    let expect = Expectations {
        max_oom_kills: Some(0),
        escalations: Some(1),
        ..Expectations::default()
    };
    // Each `oom_trial` has one OOM kill and no escalation.
    check(
        two_good_trials(),
        expect,
        &[
            (
                "max_oom_kills 0",
                false,
                "2 OOM kill(s) over 2 trial(s) > 0",
            ),
            (
                "escalations 1",
                false,
                "trial 1 escalated 0 time(s); trial 2 escalated 0 time(s); expected exactly 1",
            ),
        ],
    );
}

/// The kernel may report several `oom` events for one kill: an OOM kill is a container's death
/// after an `oom` (or an `oom` the trial ended on), counted once per death.
#[test]
fn an_oom_kill_is_counted_once_however_many_oom_events_it_gave() {
    let mut entries = oom_trial(1, 0.0);
    // Trial 1's one kill reported three times, then a second kill of the restarted container.
    entries.insert(6, (2001.0, 1, docker(T, "oom")));
    entries.insert(7, (2002.0, 1, docker(T, "oom")));
    let end = entries.len() - 1;
    entries.insert(end, (4000.0, 1, docker(T, "oom")));
    entries.insert(end + 1, (4010.0, 1, docker(T, "die")));
    // Trial 2: the trial ends on an `oom` whose death it did not see.
    let mut second = oom_trial(2, 10_000.0);
    let die = second
        .iter()
        .position(|(_, _, e)| matches!(e, Event::Docker { action, .. } if action == "die"))
        .unwrap();
    second.remove(die);
    entries.extend(second);
    let summary = check(entries, Expectations::default(), &[]);
    let kills: Vec<u32> = summary.trials.iter().map(|t| t.oom_kills).collect();
    assert_eq!(kills, vec![2, 1]);
    assert_eq!(summary.aggregate.oom_kills, 3);
}
