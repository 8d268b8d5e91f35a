//! The scoring figures every strategy gets: false positives (actions on targets that had shown
//! nothing wrong) and how an agent used the Agent API, replayed from compact journals.

mod common;

use common::*;
use journal::Event;
use reports::{summarize, trial_outcomes, Expectations};

const OTHER: &str = "leaky-1";

fn agent_call(status: u16) -> Event {
    Event::AgentCall {
        caller: "agent".into(),
        method: "POST".into(),
        path: "/v1/targets/leaky-0/actions".into(),
        status,
        target: Some(T.into()),
        action: Some("restart".into()),
        duration_ms: 1.0,
    }
}

#[test]
fn an_action_on_a_target_that_kept_serving_without_a_fault_is_a_false_positive() {
    check(
        vec![
            (0.0, 1, ready(T)),
            (0.0, 1, ready(OTHER)),
            (100.0, 1, probe(T, true)),
            (100.0, 1, probe(OTHER, true)),
            (200.0, 1, detected(OTHER)),
            (250.0, 1, action_started(OTHER)),
            (300.0, 1, action_finished(OTHER, true)),
            (400.0, 1, trial_ended(false)),
        ],
        1,
        "
        trial 1: success
        outage: none
        at: detected 200, action 250, finished 300
        tta 50, platform 50
        downtime 0, actions 1, unverified 1, false positives 1
        ",
    );
}

#[test]
fn actions_on_a_faulty_failing_or_dead_target_are_not_false_positives() {
    // Preemptive: the fault's target, acted on before users saw anything.
    let preemptive = vec![
        (0.0, 1, ready(T)),
        (100.0, 1, fault(T)),
        (200.0, 1, action_started(T)),
    ];
    // The fault was elsewhere (a dependency), but the target's probes failed before the action.
    let failing = vec![
        (0.0, 2, ready(T)),
        (100.0, 2, fault("dependency")),
        (200.0, 2, probe_took(T, false, 50.0)),
        (210.0, 2, action_started(T)),
    ];
    // No fault at all, but the target died while live.
    let dead = vec![
        (0.0, 3, ready(T)),
        (100.0, 3, docker(T, "die")),
        (200.0, 3, action_started(T)),
    ];
    // A death before the target was ready is not trouble: it was still being set up.
    let dead_before_ready = vec![
        (0.0, 4, docker(T, "die")),
        (50.0, 4, ready(T)),
        (200.0, 4, action_started(T)),
    ];
    let records = journal([preemptive, failing, dead, dead_before_ready].concat());
    let false_positives: Vec<u32> = trial_outcomes(&records, 1)
        .iter()
        .map(|t| t.false_positives)
        .collect();
    assert_eq!(false_positives, [0, 0, 0, 1]);
}

#[test]
fn agent_calls_are_counted_with_refusals_and_errors_apart() {
    let mut entries = vec![(0.0, 1, ready(T))];
    for (i, status) in [200, 200, 403, 401, 404, 400, 413, 429, 500, 403]
        .into_iter()
        .enumerate()
    {
        entries.push((10.0 + i as f64, 1, agent_call(status)));
    }
    entries.push((100.0, 1, trial_ended(false)));
    let t = &trial_outcomes(&journal(entries), 1)[0];
    assert_eq!((t.agent_calls, t.refused_calls, t.api_errors), (10, 2, 6));
    assert_eq!(t.false_positives, 0, "calls alone are not actions");
}

#[test]
fn in_a_control_scenario_every_action_is_a_false_positive() {
    // Slow but healthy: a benign latency fault, and a healer that restarted the target anyway.
    let entries = vec![
        (0.0, 1, ready(T)),
        (100.0, 1, fault(T)),
        (200.0, 1, probe(T, true)),
        (300.0, 1, detected(T)),
        (350.0, 1, action_started(T)),
        (400.0, 1, action_finished(T, true)),
        (500.0, 1, trial_ended(false)),
    ];
    let control = Expectations {
        healed: Some(false),
        ..Expectations::default()
    };
    let summary = summarize(&journal(entries.clone()), 1, &control);
    assert_eq!(summary.trials[0].false_positives, 1);
    assert_eq!(summary.aggregate.false_positives, 1);
    assert!(!summary.passed(), "healed: false fails on the action");
    // The same trial where a heal is wanted: an action on the fault's target is no false one.
    let summary = summarize(&journal(entries), 1, &Expectations::default());
    assert_eq!(summary.aggregate.false_positives, 0);
}
