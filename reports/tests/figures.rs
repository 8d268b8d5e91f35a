//! Per-trial figures replayed from compact journals, checked through one `check` helper. Every
//! probe of these journals answered `PROBE_MS` (2 ms) after it was sent, so an outage started by a
//! failed probe starts 2 ms before that probe's record (its send time), while a recovery, and the
//! end of a downtime span, is a good probe's record (its answer).

mod common;

use common::*;
use journal::Event;
use reports::trial_outcomes;

#[test]
fn oom_detect_restart_recover() {
    let mut entries = vec![(0.0, 0, run_started())];
    entries.extend(oom_trial(1, 0.0));
    entries.push((5100.0, 0, run_ended(false)));
    check(
        entries,
        3,
        "
        trial 1: success
        outage: leaky-0 ContainerDied
        at: fault 1000, outage 2050, detected 2150, action 2200, finished 2550, container start 2560, recovered 2600, confirmed 3600
        fault→outage 1050, ttd 100, tta 50, platform 350, start→good 50, container start→good 40, confirm 1000, act→recovered 400, mttr 550
        downtime 502, requests 990 ok 10 failed (rate 0.01), oom 1, actions 1, heals 1
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
            (850.0, 1, verified(T, true)),
            (900.0, 1, trial_ended(false)),
        ],
        1,
        "
        trial 1: success
        outage: leaky-0 ContainerDied
        at: fault 100, outage 400, detected 300, action 350, finished 700, recovered 800, confirmed 800
        fault→outage 300, ttd -100 (healer first), tta 50, platform 350, start→good 100, confirm 0, act→recovered 450, mttr 400
        downtime 302, actions 1, heals 1
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
            (370.0, 1, verified(T, true)),
            (400.0, 1, probe(T, true)),
            (450.0, 1, load(100, 0)),
            (500.0, 1, trial_ended(false)),
            // Teardown: the trial's container is removed after the trial ended.
            (520.0, 1, docker(T, "die")),
            (530.0, 1, probe(T, false)),
        ],
        2,
        "
        trial 1: success
        outage: none
        at: fault 100, detected 300, action 350, finished 360
        tta 50, platform 10
        downtime 0, requests 100 ok 0 failed (rate 0), actions 1, heals 1
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
        trial 1: FAILED: never recovered within the trial (12.4 s after outage start); runbook restart was not verified: its restart step failed (restart failed)
        outage: leaky-0 ProbeFailed
        at: fault 100, outage 998, detected 1200, action 1300, finished 1400
        fault→outage 898, ttd 202, tta 100, platform 100
        downtime 1502, actions 1, unverified 1, escalations 1
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
        trial 1: success
        outage: leaky-0 ProbeFailed
        at: outage 98, recovered 300, confirmed 300
        confirm 0, mttr 202
        downtime 354
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
        trial 1: success
        outage: leaky-0 ProbeFailed
        at: outage 398, recovered 500, confirmed 500
        confirm 0, mttr 102
        downtime 102
        ",
    );
}

#[test]
fn recovery_needs_k_consecutive_ok_probes_and_starts_at_the_first() {
    // bad, then good-bad-good-good-good: with K = 3 recovery is when the 3rd-from-last probe
    // answered (400, the earliest answer of the three), confirmed when the last one answered
    // (600). Each failing span ends at the next good answer: 98 → 200 and 298 → 400.
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
        trial 1: success
        outage: leaky-0 ProbeFailed
        at: outage 98, recovered 400, confirmed 600
        confirm 200, mttr 302
        downtime 204
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
        trial 1: success
        outage: leaky-0 ProbeFailed
        at: outage 98, recovered 300, confirmed 300
        confirm 0, mttr 202
        downtime 202
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
        trial 1: success
        outage: leaky-0 ContainerDied
        at: fault 100, outage 200, recovered 700, confirmed 700
        fault→outage 100, confirm 0, mttr 500
        downtime 252
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
        trial 1: success
        outage: leaky-0 ProbeFailed
        at: fault 100, outage 198, detected 300, recovered 400, confirmed 400
        fault→outage 98, ttd 102, confirm 0, mttr 202
        downtime 202
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
        trial 1: FAILED: trial interrupted (interrupted)
        outage: leaky-0 ContainerDied
        at: fault 1000, outage 2050, detected 2150, action 2200, finished 2550, container start 2560, recovered 2600, confirmed 3600
        fault→outage 1050, ttd 100, tta 50, platform 350, start→good 50, container start→good 40, confirm 1000, act→recovered 400, mttr 550
        downtime 502, requests 990 ok 10 failed (rate 0.01), oom 1, actions 1, heals 1

        trial 2: FAILED: trial has no trial_ended record (the run was cut off) (interrupted)
        outage: leaky-0 ContainerDied
        at: fault 11000, outage 12050, detected 12150, action 12200, finished 12550, container start 12560, recovered 12600, confirmed 13600
        fault→outage 1050, ttd 100, tta 50, platform 350, start→good 50, container start→good 40, confirm 1000, act→recovered 400, mttr 550
        downtime 502, requests 990 ok 10 failed (rate 0.01), oom 1, actions 1, heals 1
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
    // The failed probe was sent at 1498 (its record − PROBE_MS); the good one answered at 3500.
    assert_eq!(t.mttr_ms, Some(2000.0 + PROBE_MS));
}
