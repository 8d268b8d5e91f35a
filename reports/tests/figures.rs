//! Per-trial figures replayed from compact journals, checked through one `check` helper.

mod common;

use common::*;
use journal::Event;
use reports::trial_outcomes;

/// Builds a journal from `(t_ms, trial, event)` entries, computes every trial's outcome with
/// K = `healthy_after`, and compares its full description with `expected` (one block per trial).
fn check(entries: Vec<(f64, u32, Event)>, healthy_after: u32, expected: &str) {
    let outcomes = trial_outcomes(&journal(entries), healthy_after);
    let actual: Vec<String> = outcomes.iter().map(describe).collect();
    let expected: Vec<String> = expected
        .trim()
        .split("\n\n")
        .map(|block| block.lines().map(str::trim).collect::<Vec<_>>().join("\n"))
        .collect();
    assert_eq!(actual, expected, "\nactual:\n{}\n", actual.join("\n\n"));
}

#[test]
fn oom_detect_restart_recover() {
    let mut entries = vec![(0.0, 0, run_started())];
    entries.extend(oom_trial(1, 0.0));
    entries.push((5100.0, 0, run_ended(false)));
    check(
        entries,
        3,
        "
        trial 1: success (interrupted: false)
        outage: leaky-0 ContainerDied (outage: true)
        at: fault 1000, outage 2050, detected 2150, action 2200, recovered 2600
        fault→outage 1050, ttd 100 (before outage: false), tta 50, act→recovered 400, mttr 550
        downtime 500, requests 990 ok 10 failed (rate 0.01), oom 1, actions 1, heals 1, escalations 0
        ",
    );
}

#[test]
fn healer_detects_before_outage() {
    check(
        vec![
            (0.0, 1, ready(T)),
            (100.0, 1, fault(T)),
            (200.0, 1, probe(T, true)),
            (300.0, 1, detected(T)),
            (350.0, 1, action_started(T)),
            (400.0, 1, docker(T, "die")),
            (500.0, 1, probe(T, false)),
            (700.0, 1, action_finished(T, true)),
            (800.0, 1, probe(T, true)),
            (900.0, 1, trial_ended(false)),
        ],
        1,
        "
        trial 1: success (interrupted: false)
        outage: leaky-0 ContainerDied (outage: true)
        at: fault 100, outage 400, detected 300, action 350, recovered 800
        fault→outage 300, ttd -100 (before outage: true), tta 50, act→recovered 450, mttr 400
        downtime 300, requests 0 ok 0 failed (rate -), oom 0, actions 1, heals 1, escalations 0
        ",
    );
}

#[test]
fn healer_acts_without_outage_is_success_without_mttr() {
    check(
        vec![
            (0.0, 1, ready(T)),
            (100.0, 1, fault(T)),
            (200.0, 1, probe(T, true)),
            (300.0, 1, detected(T)),
            (350.0, 1, action_started(T)),
            (360.0, 1, action_finished(T, true)),
            (400.0, 1, probe(T, true)),
            (450.0, 1, load(100, 0)),
            (500.0, 1, trial_ended(false)),
            // Teardown: the trial's container is removed after the trial ended.
            (520.0, 1, docker(T, "die")),
            (530.0, 1, probe(T, false)),
        ],
        2,
        "
        trial 1: success (interrupted: false)
        outage: none (outage: false)
        at: fault 100, outage -, detected 300, action 350, recovered -
        fault→outage -, ttd - (before outage: false), tta 50, act→recovered -, mttr -
        downtime 0, requests 100 ok 0 failed (rate 0), oom 0, actions 1, heals 1, escalations 0
        ",
    );
}

#[test]
fn outage_that_never_recovers_fails_with_reason() {
    check(
        vec![
            (0.0, 1, ready(T)),
            (100.0, 1, fault(T)),
            (1000.0, 1, probe(T, false)),
            (1200.0, 1, detected(T)),
            (1300.0, 1, action_started(T)),
            (1400.0, 1, action_finished(T, false)),
            (1500.0, 1, escalated(T)),
            (2000.0, 1, probe(T, true)),
            (2500.0, 1, probe(T, false)),
            (3000.0, 1, probe(T, false)),
            (13_400.0, 1, trial_ended(false)),
        ],
        2,
        "
        trial 1: FAILED: never recovered within the trial (12.4 s after outage start) (interrupted: false)
        outage: leaky-0 ProbeFailed (outage: true)
        at: fault 100, outage 1000, detected 1200, action 1300, recovered -
        fault→outage 900, ttd 200 (before outage: false), tta 100, act→recovered -, mttr -
        downtime 1500, requests 0 ok 0 failed (rate -), oom 0, actions 1, heals 0, escalations 1
        ",
    );
}

#[test]
fn downtime_sums_two_failing_spans() {
    check(
        vec![
            (0.0, 1, ready(T)),
            (100.0, 1, probe(T, false)),
            (200.0, 1, probe(T, false)),
            (300.0, 1, probe(T, true)),
            (400.0, 1, probe(T, true)),
            (500.0, 1, probe(T, false)),
            (650.0, 1, probe(T, true)),
            (700.0, 1, trial_ended(false)),
        ],
        1,
        "
        trial 1: success (interrupted: false)
        outage: leaky-0 ProbeFailed (outage: true)
        at: fault -, outage 100, detected -, action -, recovered 300
        fault→outage -, ttd - (before outage: false), tta -, act→recovered -, mttr 200
        downtime 350, requests 0 ok 0 failed (rate -), oom 0, actions 0, heals 0, escalations 0
        ",
    );
}

#[test]
fn probes_and_deaths_before_target_ready_are_ignored() {
    check(
        vec![
            (0.0, 1, probe(T, false)),
            (50.0, 1, docker(T, "die")),
            (100.0, 1, probe(T, false)),
            (150.0, 1, probe("other", false)),
            (200.0, 1, ready(T)),
            (300.0, 1, probe(T, true)),
            (400.0, 1, probe(T, false)),
            (500.0, 1, probe(T, true)),
            (600.0, 1, trial_ended(false)),
        ],
        1,
        "
        trial 1: success (interrupted: false)
        outage: leaky-0 ProbeFailed (outage: true)
        at: fault -, outage 400, detected -, action -, recovered 500
        fault→outage -, ttd - (before outage: false), tta -, act→recovered -, mttr 100
        downtime 100, requests 0 ok 0 failed (rate -), oom 0, actions 0, heals 0, escalations 0
        ",
    );
}

#[test]
fn recovery_needs_k_consecutive_ok_probes_and_starts_at_the_first() {
    // bad, then good-bad-good-good-good: with K = 3 recovery is the 3rd-from-last probe (400).
    check(
        vec![
            (0.0, 1, ready(T)),
            (100.0, 1, probe(T, false)),
            (200.0, 1, probe(T, true)),
            (300.0, 1, probe(T, false)),
            (400.0, 1, probe(T, true)),
            (500.0, 1, probe(T, true)),
            (600.0, 1, probe(T, true)),
            (700.0, 1, trial_ended(false)),
        ],
        3,
        "
        trial 1: success (interrupted: false)
        outage: leaky-0 ProbeFailed (outage: true)
        at: fault -, outage 100, detected -, action -, recovered 400
        fault→outage -, ttd - (before outage: false), tta -, act→recovered -, mttr 300
        downtime 200, requests 0 ok 0 failed (rate -), oom 0, actions 0, heals 0, escalations 0
        ",
    );
}

#[test]
fn ok_probes_of_another_target_do_not_end_the_outage() {
    check(
        vec![
            (0.0, 1, ready(T)),
            (0.0, 1, ready("other")),
            (100.0, 1, probe(T, false)),
            (150.0, 1, probe("other", false)),
            (200.0, 1, probe("other", true)),
            (250.0, 1, probe(T, false)),
            (300.0, 1, probe(T, true)),
            (400.0, 1, trial_ended(false)),
        ],
        1,
        "
        trial 1: success (interrupted: false)
        outage: leaky-0 ProbeFailed (outage: true)
        at: fault -, outage 100, detected -, action -, recovered 300
        fault→outage -, ttd - (before outage: false), tta -, act→recovered -, mttr 200
        downtime 200, requests 0 ok 0 failed (rate -), oom 0, actions 0, heals 0, escalations 0
        ",
    );
}

#[test]
fn die_before_first_failed_probe_starts_the_outage() {
    check(
        vec![
            (0.0, 1, ready(T)),
            (100.0, 1, fault(T)),
            (150.0, 1, probe(T, true)),
            (200.0, 1, docker(T, "die")),
            (450.0, 1, probe(T, false)),
            (700.0, 1, probe(T, true)),
            (800.0, 1, trial_ended(false)),
        ],
        1,
        "
        trial 1: success (interrupted: false)
        outage: leaky-0 ContainerDied (outage: true)
        at: fault 100, outage 200, detected -, action -, recovered 700
        fault→outage 100, ttd - (before outage: false), tta -, act→recovered -, mttr 500
        downtime 250, requests 0 ok 0 failed (rate -), oom 0, actions 0, heals 0, escalations 0
        ",
    );
}

#[test]
fn detection_before_the_fault_is_not_counted() {
    check(
        vec![
            (0.0, 1, ready(T)),
            (50.0, 1, detected(T)),
            (100.0, 1, fault(T)),
            (200.0, 1, probe(T, false)),
            (300.0, 1, detected(T)),
            (400.0, 1, probe(T, true)),
            (500.0, 1, trial_ended(false)),
        ],
        1,
        "
        trial 1: success (interrupted: false)
        outage: leaky-0 ProbeFailed (outage: true)
        at: fault 100, outage 200, detected 300, action -, recovered 400
        fault→outage 100, ttd 100 (before outage: false), tta -, act→recovered -, mttr 200
        downtime 200, requests 0 ok 0 failed (rate -), oom 0, actions 0, heals 0, escalations 0
        ",
    );
}

#[test]
fn interrupted_and_cut_off_trials_fail() {
    let mut entries = oom_trial(1, 0.0);
    entries.pop();
    entries.push((5000.0, 1, trial_ended(true)));
    entries.extend(oom_trial(2, 10_000.0));
    entries.pop(); // trial 2 has no trial_ended: the run was cut off
    check(
        entries,
        3,
        "
        trial 1: FAILED: trial interrupted (interrupted: true)
        outage: leaky-0 ContainerDied (outage: true)
        at: fault 1000, outage 2050, detected 2150, action 2200, recovered 2600
        fault→outage 1050, ttd 100 (before outage: false), tta 50, act→recovered 400, mttr 550
        downtime 500, requests 990 ok 10 failed (rate 0.01), oom 1, actions 1, heals 1, escalations 0

        trial 2: FAILED: trial has no trial_ended record (the run was cut off) (interrupted: true)
        outage: leaky-0 ContainerDied (outage: true)
        at: fault 11000, outage 12050, detected 12150, action 12200, recovered 12600
        fault→outage 1050, ttd 100 (before outage: false), tta 50, act→recovered 400, mttr 550
        downtime 500, requests 990 ok 10 failed (rate 0.01), oom 1, actions 1, heals 1, escalations 0
        ",
    );
}

/// Through an alerting pipeline: the alert's own firing time (`startsAt`, wall clock) lands on
/// the journal's clock, and the pipeline's stages are split out.
#[test]
fn alert_pipeline_stages_are_split_from_the_alerts_firing_time() {
    // unix_ms = 1_700_000_000_000 + t_ms in these journals, so startsAt 2_000 ms after the
    // epoch base is t = 2000 on the journal's clock.
    let alert = Event::Alert {
        name: "LeakyDown".into(),
        target: T.into(),
        firing: true,
        fingerprint: "f".into(),
        starts_at_unix_ms: Some(1_700_000_002_000),
    };
    let outcomes = trial_outcomes(
        &journal(vec![
            (0.0, 1, ready(T)),
            (1000.0, 1, fault(T)),
            (1500.0, 1, probe(T, false)),
            (3000.0, 1, alert),
            (3001.0, 1, detected(T)),
            (3002.0, 1, action_started(T)),
            (3500.0, 1, probe(T, true)),
            (4000.0, 1, trial_ended(false)),
        ]),
        1,
    );
    let t = &outcomes[0];
    assert_eq!(t.alert_firing_at_ms, Some(2000.0));
    assert_eq!(t.alert_received_at_ms, Some(3000.0));
    assert_eq!(t.fault_to_firing_ms, Some(1000.0));
    assert_eq!(t.firing_to_webhook_ms, Some(1000.0));
    assert_eq!(t.webhook_to_action_ms, Some(2.0));
    assert_eq!(t.mttr_ms, Some(2000.0));
}
