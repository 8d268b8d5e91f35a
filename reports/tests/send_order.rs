//! The definitions that depend on when a probe was SENT rather than when its record was written
//! (probes are taken in send order; a failure is dated by its send, a recovery by its answer),
//! that a heal is a verified recovery, and that the MTTR's phases add up to it.

mod common;

use common::*;
use journal::Event;
use reports::{summarize, trial_outcomes, Expectations};

/// `entries` in the order a journal writes them: by record time (a probe's answer).
fn recorded(mut entries: Vec<(f64, u32, Event)>) -> Vec<(f64, u32, Event)> {
    entries.sort_by(|a, b| a.0.total_cmp(&b.0));
    entries
}

/// A probe of `T` sent at `sent_ms` that took `latency_ms`, as its record is written.
fn sent(sent_ms: f64, latency_ms: f64, ok: bool) -> (f64, u32, Event) {
    (sent_ms + latency_ms, 1, probe_took(T, ok, latency_ms))
}

#[test]
fn out_of_order_probe_records_are_taken_in_send_order() {
    // Record order: 1051 (sent 1050, failed), 1151 (sent 1150, ok), 1201 (sent 1200, ok),
    // 1400 (sent 1100, ok), 1500 (sent 1000, timed out). Read in record order the outage would
    // start at 1050 and the late timeout would break the good run; in send order it starts at
    // 1000 (the send of the probe that timed out) and the probes sent at 1100 and 1150 are the
    // K = 2 that end it: recovered at the earlier of their answers (1151), confirmed at the later
    // (1400). The failing span runs to the earliest good answer of a probe sent after the failure
    // (1151), as the recovery is dated.
    check(
        recorded(vec![
            (0.0, 1, ready(T)),
            sent(900.0, 1.0, true),
            sent(1000.0, 500.0, false),
            sent(1050.0, 1.0, false),
            sent(1100.0, 300.0, true),
            sent(1150.0, 1.0, true),
            sent(1200.0, 1.0, true),
            (2000.0, 1, trial_ended(false)),
        ]),
        2,
        "
        trial 1: success
        outage: leaky-0 ProbeFailed
        at: outage 1000, recovered 1151, confirmed 1400
        confirm 249, mttr 151
        downtime 151
        ",
    );
}

#[test]
fn probes_that_time_out_after_the_target_is_back_do_not_delay_the_recovery() {
    // The coordinated-omission case: a probe leaves every 50 ms whatever the others do. The
    // target is down from 1000 to 1600: the probes sent then time out after 500 ms, so their
    // failures are recorded up to 2050 (the one sent at 1550), among the good answers of the
    // probes sent from 1600 on. Those late timeouts were sent before the good probes, so they do
    // not break the good run: the recovery is the first good probe's answer (sent 1600, answered
    // 1601), long before the last timeout's record; K = 3 is confirmed when the third good probe
    // answered (sent 1700, answered 1701).
    let mut entries = vec![(0.0, 1, ready(T))];
    for i in 0..40 {
        let at = 500.0 + 50.0 * f64::from(i);
        let down = (1000.0..1600.0).contains(&at);
        entries.push(if down {
            sent(at, 500.0, false)
        } else {
            sent(at, 1.0, true)
        });
    }
    entries.push((2600.0, 1, trial_ended(false)));
    check(
        recorded(entries),
        3,
        "
        trial 1: success
        outage: leaky-0 ProbeFailed
        at: outage 1000, recovered 1601, confirmed 1701
        confirm 100, mttr 601
        downtime 601
        ",
    );
}

#[test]
fn good_probes_held_while_the_target_was_down_recover_when_they_were_answered() {
    // What Docker's port proxy does: the container dies at 1000 and the probe sent then is
    // refused; the probes sent from 1050 to 1300 are held until the restarted container (started
    // at 1390) serves, and all answered together at 1400. Dated by their send times they would
    // recover the target at 1050, before its container even started; it recovered at 1400, when
    // they were answered (K = 3 of them, so confirmed at the same instant).
    let mut entries = vec![
        (0.0, 1, ready(T)),
        (500.0, 1, fault(T)),
        sent(900.0, 1.0, true),
        (1000.0, 1, docker(T, "die")),
        sent(1000.0, 1.0, false),
        (1010.0, 1, detected(T)),
        (1020.0, 1, action_started(T)),
        (1390.0, 1, docker(T, "start")),
        (1395.0, 1, action_finished(T, true)),
    ];
    for i in 0..6 {
        let at = 1050.0 + 50.0 * f64::from(i);
        entries.push(sent(at, 1400.0 - at, true));
    }
    entries.extend([
        sent(1400.0, 1.0, true),
        sent(1450.0, 1.0, true),
        (1500.0, 1, verified(T, true)),
        (2000.0, 1, trial_ended(false)),
    ]);
    check(
        recorded(entries),
        3,
        "
        trial 1: success
        outage: leaky-0 ContainerDied
        at: fault 500, outage 1000, detected 1010, action 1020, finished 1395, container start 1390, recovered 1400, confirmed 1400
        fault→outage 500, ttd 10, tta 10, platform 375, start→good 5, container start→good 10, confirm 0, act→recovered 380, mttr 400
        downtime 400, actions 1, heals 1
        ",
    );
}

#[test]
fn a_probe_sent_before_the_target_was_ready_is_not_live() {
    // Recorded after `target_ready` (at 100) but sent before it (at 60): not an outage.
    check(
        vec![
            (100.0, 1, ready(T)),
            sent(60.0, 50.0, false),
            sent(150.0, 1.0, true),
            (300.0, 1, trial_ended(false)),
        ],
        1,
        "
        trial 1: success
        outage: none
        downtime 0
        ",
    );
}

/// `oom_trial` with its verification replaced by a failed one.
fn unverified_oom_trial(trial: u32, offset: f64) -> Vec<(f64, u32, Event)> {
    oom_trial(trial, offset)
        .into_iter()
        .map(|(t, n, e)| match e {
            Event::Verified { .. } => (t, n, verified(T, false)),
            e => (t, n, e),
        })
        .collect()
}

#[test]
fn heals_count_only_verified_recoveries() {
    let mut entries = oom_trial(1, 0.0);
    entries.extend(unverified_oom_trial(2, 10_000.0));
    let expect = Expectations {
        healed: Some(true),
        ..Expectations::default()
    };
    let summary = summarize(&journal(entries), 3, &expect);
    let [one, two] = &summary.trials[..] else {
        panic!("two trials: {:?}", summary.trials)
    };
    assert_eq!((one.actions, one.heals, one.unverified), (1, 1, 0));
    assert_eq!((two.actions, two.heals, two.unverified), (1, 0, 1));
    // Trial 2 recovered: the failed verification is a note, not a failure.
    assert!(two.success, "{two:?}");
    assert_eq!(
        two.notes,
        ["runbook restart: verification failed after 31 attempt(s) in 15.000s"]
    );
    assert_eq!(
        (summary.aggregate.heals, summary.aggregate.unverified),
        (1, 1)
    );
    let verdict = &summary.verdicts[0];
    assert!(!verdict.passed, "{verdict:?}");
    assert_eq!(
        verdict.detail,
        "trial 2: no verified heal (1 action(s), 1 unverified remediation(s))"
    );
    let table = summary.render_table();
    assert!(
        table.contains(
            "  trial 2 (note): runbook restart: verification failed after 31 attempt(s) in 15.000s\n"
        ),
        "{table}"
    );
}

#[test]
fn an_outage_that_never_recovers_gives_its_failed_verification_as_the_reason() {
    let entries = vec![
        (0.0, 1, ready(T)),
        (100.0, 1, probe(T, false)),
        (200.0, 1, detected(T)),
        (300.0, 1, action_started(T)),
        (650.0, 1, action_finished(T, true)),
        (15_700.0, 1, verified(T, false)),
        (16_000.0, 1, trial_ended(false)),
    ];
    let outcome = &trial_outcomes(&journal(entries), 3)[0];
    assert!(!outcome.success);
    assert_eq!(
        outcome.failure_reason.as_deref(),
        Some(
            "never recovered within the trial (15.9 s after outage start); \
             runbook restart: verification failed after 31 attempt(s) in 15.000s"
        )
    );
    assert!(outcome.notes.is_empty());
}

#[test]
fn the_phases_add_up_to_the_mttr() {
    let mut entries = oom_trial(1, 0.0);
    entries.extend(oom_trial(2, 10_000.0));
    // Trial 3: the healer detects and restarts before users see the outage (TTD < 0), and the
    // platform call returns after the first good answer (start → good < 0). With K = 1 the
    // recovery is that answer and its own confirmation (confirm 0).
    entries.extend([
        (20_000.0, 3, ready(T)),
        (20_100.0, 3, fault(T)),
        (20_300.0, 3, detected(T)),
        (20_310.0, 3, action_started(T)),
        (20_400.0, 3, docker(T, "die")),
        (20_500.0, 3, probe(T, false)),
        (20_550.0, 3, docker(T, "start")),
        (20_600.0, 3, probe(T, true)),
        (20_700.0, 3, action_finished(T, true)),
        (20_800.0, 3, verified(T, true)),
        (21_000.0, 3, trial_ended(false)),
    ]);
    let summary = summarize(&journal(entries), 1, &Expectations::default());
    for t in &summary.trials {
        let phases = [
            t.ttd_ms,
            t.tta_ms,
            t.platform_call_ms,
            t.finished_to_recovered_ms,
        ];
        let sum: f64 = phases.iter().map(|p| p.expect("every phase exists")).sum();
        assert_eq!(Some(sum), t.mttr_ms, "trial {}: {phases:?}", t.trial);
        assert_eq!(
            t.container_start_to_recovered_ms,
            Some(t.recovered_at_ms.unwrap() - t.container_started_at_ms.unwrap())
        );
        assert_eq!(
            t.confirmation_ms,
            Some(t.confirmed_at_ms.unwrap() - t.recovered_at_ms.unwrap())
        );
    }
    let three = &summary.trials[2];
    assert_eq!(
        (three.ttd_ms, three.tta_ms, three.platform_call_ms),
        (Some(-100.0), Some(10.0), Some(390.0))
    );
    // The good probe answered at 20 600: from the death at 20 400, the start at 20 550 and the
    // platform call's return at 20 700.
    assert_eq!(three.finished_to_recovered_ms, Some(-100.0));
    assert_eq!(three.container_start_to_recovered_ms, Some(50.0));
    assert_eq!(three.mttr_ms, Some(200.0));
    let a = &summary.aggregate;
    // Nearest-rank p50 of three values: the second smallest.
    assert_eq!(
        (a.ttd_p50_ms, a.tta_p50_ms, a.platform_call_p50_ms),
        (Some(100.0), Some(50.0), Some(350.0))
    );
    assert_eq!(a.finished_to_recovered_p50_ms, Some(50.0));
    assert_eq!(a.container_start_to_recovered_p50_ms, Some(40.0));
    assert_eq!(a.confirmation_p50_ms, Some(0.0));
}
