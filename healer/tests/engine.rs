//! The engine's incidents against a fake platform and a collecting sink: restart, verify,
//! cooldown, action limit, retries and escalation, shutdown and a failing signal stream.
//! Verification probes a real in-process `leaky` service, or a closed port.

mod common;

use std::time::Duration;

use healer::{PlatformError, SignalKind};
use journal::Event;

use common::{
    closed_port, is_escalated, is_suppressed, is_verified, leaky, runbook, target, Restarts, Run,
    SELECTED,
};

#[tokio::test]
async fn oom_restarts_once_verifies_and_suppresses_the_following_die() {
    let run = Run::start(
        &runbook("5s", 5, "5s"),
        Restarts::Succeed,
        Some(leaky().await),
    );
    let leaky0 = target("leaky-0", "r1");
    run.send(&leaky0, SignalKind::Oom);
    run.send(
        &leaky0,
        SignalKind::Died {
            exit_code: Some(137),
        },
    );
    run.send(&leaky0, SignalKind::Started);
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 1);
    assert_eq!(
        events,
        [
            "detected leaky-0-oom-1 leaky-0 oom on oom".to_owned(),
            format!("selected leaky-0-oom-1 {SELECTED}"),
            "suppressed leaky-0 die (exit 137): incident already open".to_owned(),
            "started leaky-0-oom-1 restart".to_owned(),
            "finished leaky-0-oom-1 restart ok=true error=None".to_owned(),
            "verified leaky-0-oom-1 ok=true".to_owned(),
            "closed leaky-0-oom-1 ok=true".to_owned(),
        ]
    );
}

#[tokio::test]
async fn incidents_of_different_targets_run_side_by_side() {
    let run = Run::start(
        &runbook("5s", 5, "5s"),
        Restarts::Succeed,
        Some(leaky().await),
    );
    run.send(&target("leaky-0", "r1"), SignalKind::Oom);
    run.send(&target("leaky-1", "r1"), SignalKind::Oom);
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 2);
    for incident in ["leaky-0-oom-1", "leaky-1-oom-2"] {
        assert!(
            events.contains(&format!("verified {incident} ok=true")),
            "{events:#?}"
        );
    }
    assert!(
        !events.iter().any(|e| e.starts_with("suppressed")),
        "{events:#?}"
    );
}

/// Real sockets and paused time do not mix, so the clock is paused only while nothing is in
/// flight, to jump past the cooldown.
#[tokio::test]
async fn cooldown_suppresses_a_second_oom_and_allows_one_after_it() {
    let run = Run::start(
        &runbook("5s", 5, "5s"),
        Restarts::Succeed,
        Some(leaky().await),
    );
    let leaky0 = target("leaky-0", "r1");
    run.send(&leaky0, SignalKind::Oom);
    run.wait_for(1, is_verified).await;
    run.send(&leaky0, SignalKind::Oom);
    run.wait_for(1, is_suppressed).await;

    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(6)).await;
    tokio::time::resume();
    run.send(&leaky0, SignalKind::Oom);
    run.wait_for(2, is_verified).await;

    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 2);
    assert_eq!(
        events,
        [
            "detected leaky-0-oom-1 leaky-0 oom on oom".to_owned(),
            format!("selected leaky-0-oom-1 {SELECTED}"),
            "started leaky-0-oom-1 restart".to_owned(),
            "finished leaky-0-oom-1 restart ok=true error=None".to_owned(),
            "verified leaky-0-oom-1 ok=true".to_owned(),
            "closed leaky-0-oom-1 ok=true".to_owned(),
            "suppressed leaky-0 oom: cooldown".to_owned(),
            "detected leaky-0-oom-2 leaky-0 oom on oom".to_owned(),
            format!("selected leaky-0-oom-2 {SELECTED}"),
            "started leaky-0-oom-2 restart".to_owned(),
            "finished leaky-0-oom-2 restart ok=true error=None".to_owned(),
            "verified leaky-0-oom-2 ok=true".to_owned(),
            "closed leaky-0-oom-2 ok=true".to_owned(),
        ]
    );
}

#[tokio::test]
async fn action_limit_escalates_once_then_stops_acting_until_the_window_passes() {
    let run = Run::start(
        &runbook("0s", 2, "5s"),
        Restarts::Succeed,
        Some(leaky().await),
    );
    let leaky0 = target("leaky-0", "r1");
    for verified in 1..=2 {
        run.send(&leaky0, SignalKind::Oom);
        run.wait_for(verified, is_verified).await;
    }
    run.send(&leaky0, SignalKind::Oom);
    run.wait_for(1, is_escalated).await;
    run.send(&leaky0, SignalKind::Oom);
    run.wait_for(1, is_suppressed).await;
    assert_eq!(run.restarts(), 2);

    // The window is 10 minutes from the first remediation.
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(600)).await;
    tokio::time::resume();
    run.send(&leaky0, SignalKind::Oom);
    run.wait_for(3, is_verified).await;

    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 3);
    let decisions: Vec<&String> = events
        .iter()
        .filter(|e| {
            e.starts_with("escalated") || e.starts_with("suppressed") || e.starts_with("detected")
        })
        .collect();
    assert_eq!(
        decisions,
        [
            "detected leaky-0-oom-1 leaky-0 oom on oom",
            "detected leaky-0-oom-2 leaky-0 oom on oom",
            "detected leaky-0-oom-3 leaky-0 oom on oom",
            "escalated leaky-0-oom-3: max_actions reached",
            "suppressed leaky-0 oom: max_actions reached",
            "detected leaky-0-oom-4 leaky-0 oom on oom",
        ]
    );
}

#[tokio::test]
async fn failed_verification_escalates() {
    let run = Run::start(
        &runbook("5s", 5, "300ms"),
        Restarts::Succeed,
        Some(closed_port()),
    );
    run.send(&target("leaky-0", "r1"), SignalKind::Oom);
    let sink = run.sink.clone();
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 1);
    assert_eq!(
        events[3..],
        [
            "finished leaky-0-oom-1 restart ok=true error=None",
            "verified leaky-0-oom-1 ok=false",
            "escalated leaky-0-oom-1: verification failed",
            "closed leaky-0-oom-1 ok=false",
        ]
    );
    let events = sink.events();
    let verified = events.iter().find_map(|event| match event {
        Event::Verified {
            attempts,
            duration_ms,
            ..
        } => Some((*attempts, *duration_ms)),
        _ => None,
    });
    let (attempts, duration_ms) = verified.unwrap();
    // A probe every 50 ms until the deadline: 6 on schedule, fewer on a loaded machine.
    assert!(
        (2..=7).contains(&attempts),
        "probes go on until `within` passes: {attempts}"
    );
    assert!(duration_ms >= 300.0, "{duration_ms}");
    let reason = events.iter().find_map(|event| match event {
        Event::Escalated { reason, .. } => Some(reason.as_str()),
        _ => None,
    });
    assert!(
        reason.unwrap().contains("from /health within 300ms"),
        "the default health path was asked: {reason:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn failed_restarts_are_retried_then_escalated() {
    let run = Run::start(&runbook("5s", 5, "5s"), Restarts::Fail, None);
    run.send(&target("leaky-0", "r1"), SignalKind::Oom);
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 2, "one attempt plus `retries: 1`");
    let failed = "finished leaky-0-oom-1 restart ok=false \
                  error=Some(\"leaky-0 does not publish port 1/tcp on this host\")";
    assert_eq!(
        events[2..],
        [
            "started leaky-0-oom-1 restart",
            failed,
            "started leaky-0-oom-1 restart",
            failed,
            "escalated leaky-0-oom-1: restart failed 2 time(s); last error",
            "closed leaky-0-oom-1 ok=false",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_aborts_open_incidents() {
    let mut run = Run::start(&runbook("5s", 5, "5s"), Restarts::Hang, None);
    run.send(&target("leaky-0", "r1"), SignalKind::Oom);
    run.wait_for(1, |e| matches!(e, Event::ActionStarted { .. }))
        .await;
    run.stop.take().unwrap().send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(3600), &mut run.healer).await;
    assert!(result
        .expect("shutdown does not wait for the hung restart")
        .unwrap()
        .is_ok());
    assert!(!run.summary().iter().any(|e| e.starts_with("finished")));
}

#[tokio::test(start_paused = true)]
async fn a_failing_signal_stream_stops_the_healer_with_an_error() {
    let mut run = Run::start(&runbook("5s", 5, "5s"), Restarts::Succeed, None);
    let error = PlatformError::Signals {
        source: "connection reset".into(),
    };
    run.signals.as_ref().unwrap().send(Err(error)).unwrap();
    let result = (&mut run.healer).await.unwrap();
    let message = result.unwrap_err().to_string();
    assert_eq!(
        message,
        "the healer lost its signals: the platform's signal stream failed: connection reset"
    );
}

#[tokio::test]
async fn an_unpause_step_resumes_the_target_without_restarting_it() {
    let runbook = "name: unpause-frozen\nclass: hang\nwhen:\n  - health: unhealthy\nsteps:\n  \
                   - { action: unpause, timeout: 5s }\n\
                   verify:\n  within: 5s\ncooldown: 5s\nmax_actions: 5\nwindow: 10m\n";
    let run = Run::start(runbook, Restarts::Succeed, Some(leaky().await));
    let leaky0 = target("leaky-0", "r1");
    run.send(&leaky0, SignalKind::Health { healthy: false });
    run.wait_for(1, is_verified).await;
    assert_eq!(run.platform.unpaused(), [leaky0]);
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 0);
    let incident = "leaky-0-hang-1";
    assert_eq!(
        events[2..],
        [
            format!("started {incident} unpause"),
            format!("finished {incident} unpause ok=true error=None"),
            format!("verified {incident} ok=true"),
            format!("closed {incident} ok=true"),
        ]
    );
}
