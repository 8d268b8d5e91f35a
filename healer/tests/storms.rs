//! Storms and flapping under one healer, against the fake platform: 50 targets crashing at once
//! are all healed, one restart each, never more at once than the max-concurrent guardrail
//! allows; a target that is healthy for 2 s and down for 1 s, over and over, is restarted at
//! most `max_actions` times and escalated once, not restarted forever.
//!
//! Verification probes a real in-process `leaky` service, and real sockets do not mix with
//! paused time: the clock is paused only between signals, once the healer has settled, to
//! jump to the next one.

mod common;

use std::path::Path;
use std::time::Duration;

use healer::{Guardrails, Runbook, Scope, SignalKind};
use journal::Event;

use common::{leaky, target, unlabelled, FakePlatform, Restarts, Run};

/// A shipped runbook's text.
fn shipped(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("runbooks/{name}.yaml"));
    std::fs::read_to_string(path).unwrap()
}

/// Lets `secs` (virtual) seconds pass with nothing in flight.
async fn jump(secs: u64) {
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(secs)).await;
    tokio::time::resume();
}

/// How the healer ended its handling of a signal: an incident closed, the signal suppressed,
/// or the action limit escalated without an incident.
fn settled(event: &Event) -> bool {
    match event {
        Event::IncidentClosed { .. } | Event::Suppressed { .. } => true,
        Event::Escalated { reason, .. } => reason.starts_with("max_actions reached"),
        _ => false,
    }
}

fn count(events: &[Event], pick: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|e| pick(e)).count()
}

/// For each shipped runbook that restarts a dying container, with how many restarts it
/// allows in its window: 60 s of flapping (down at 0 s, up at 1 s, down again at 3 s…).
#[tokio::test]
async fn a_flapping_target_is_escalated_once_not_restarted_forever() {
    for (runbook, max_actions) in [("crash-loop", 3), ("restart-on-crash", 5)] {
        let run = Run::start(&shipped(runbook), Restarts::Succeed, Some(leaky().await));
        let leaky0 = target("leaky-0", "r1");
        for flap in 1..=20 {
            run.send(&leaky0, SignalKind::Died { exit_code: Some(1) });
            run.wait_for(flap, settled).await;
            jump(1).await;
            run.send(&leaky0, SignalKind::Started);
            jump(2).await;
        }
        let sink = run.sink.clone();
        let (restarts, _) = run.finish().await;
        let events = sink.events();
        assert_eq!(restarts, max_actions, "{runbook}: {events:#?}");
        let escalations: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::Escalated { reason, .. } => Some(reason.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(escalations.len(), 1, "{runbook}: {escalations:?}");
        assert!(
            escalations[0].starts_with("max_actions reached"),
            "{runbook}: {escalations:?}"
        );
        let verified = count(&events, |e| matches!(e, Event::Verified { ok: true, .. }));
        assert_eq!(
            verified, max_actions as usize,
            "{runbook}: every restart worked"
        );
        // From the escalation on, every flap is only suppressed.
        let escalated = events
            .iter()
            .position(|e| matches!(e, Event::Escalated { .. }));
        let after = &events[escalated.unwrap() + 1..];
        assert!(
            !after.is_empty(),
            "{runbook}: flaps went on after the escalation"
        );
        assert!(
            after.iter().all(|e| matches!(e,
                Event::Suppressed { reason, .. } if reason.contains("already escalated"))),
            "{runbook}: {after:#?}"
        );
    }
}

#[tokio::test]
async fn a_storm_of_crashes_is_healed_within_the_concurrency_limit() {
    const TARGETS: usize = 50;
    const AT_ONCE: usize = 3;
    let (platform, feed) = FakePlatform::new();
    let platform = platform
        .with_restarts(Restarts::SucceedAfter(Duration::from_millis(20)))
        .with_endpoint(Some(leaky().await));
    let runbook = Runbook::parse(&shipped("restart-on-crash"), Path::new("test.yaml")).unwrap();
    let run = Run::spawn(platform, feed, vec![runbook], Scope::default(), |healer| {
        healer.with_guardrails(Guardrails::default().max_concurrent(AT_ONCE))
    });
    let targets: Vec<_> = (0..TARGETS)
        .map(|i| unlabelled(&format!("leaky-{i}")))
        .collect();
    for target in &targets {
        run.send(
            target,
            SignalKind::Died {
                exit_code: Some(137),
            },
        );
    }
    run.wait_for(TARGETS, |e| matches!(e, Event::IncidentClosed { .. }))
        .await;
    let platform = run.platform.clone();
    let sink = run.sink.clone();
    let (restarts, _) = run.finish().await;
    let events = sink.events();
    assert_eq!(restarts as usize, TARGETS, "one restart per target");
    let mut restarted: Vec<String> = platform.restarted().into_iter().map(|t| t.name).collect();
    restarted.sort();
    restarted.dedup();
    assert_eq!(restarted.len(), TARGETS, "every target was restarted");
    assert_eq!(
        platform.most_at_once() as usize,
        AT_ONCE,
        "the limit held, and was reached"
    );
    let healed = count(&events, |e| {
        matches!(e, Event::IncidentClosed { ok: true, .. })
    });
    assert_eq!(healed, TARGETS, "every target was healed");
    assert_eq!(count(&events, |e| matches!(e, Event::Escalated { .. })), 0);
}
