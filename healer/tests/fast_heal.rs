//! What makes the healer fast, and what keeps fast from turning into a restart storm: a
//! runbook's restart `grace` reaches the platform; the prober's suspicious cadence, against a
//! real loopback target that is slow but healthy, takes no more actions than the old single
//! cadence, and the cooldown still holds a target that stays slow to one restart.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use healer::{Runbook, Scope, SignalKind, SourceSettings};

use common::{unlabelled, FakePlatform, Run};

fn shipped(name: &str) -> Runbook {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    Runbook::load(&dir.join(format!("{name}.yaml"))).unwrap()
}

/// A healer over the fake platform listing one target, `leaky-0`, reached at `endpoint`;
/// restarts are recorded with their grace, and they change nothing.
fn start(runbooks: Vec<Runbook>, settings: SourceSettings, endpoint: SocketAddr) -> Run {
    let (platform, feed) = FakePlatform::new();
    let platform = platform
        .with_endpoint(Some(endpoint))
        .with_listed(vec![unlabelled("leaky-0")]);
    Run::spawn(platform, feed, runbooks, Scope::default(), |healer| {
        healer.with_sources(settings)
    })
}

/// How many events of `kind` (as the journal names it) the healer recorded.
fn count(run: &Run, kind: &str) -> usize {
    run.events()
        .iter()
        .filter(|e| serde_json::to_value(e).unwrap()["event"] == kind)
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_runbooks_restart_grace_reaches_the_platform() {
    let runbook = |grace: &str| {
        let yaml = format!(
            "name: r\nclass: oom\nwhen: [{{docker_event: oom}}]\n\
             steps: [{{action: restart, timeout: 5s{grace}}}]\n\
             verify: {{within: 1s}}\ncooldown: 0s\nmax_actions: 9\nwindow: 1m\n"
        );
        Runbook::parse(&yaml, Path::new("test.yaml")).unwrap()
    };
    let closed: SocketAddr = (Ipv4Addr::LOCALHOST, 9).into();
    for (grace, want) in [
        (", grace: 0s", Duration::ZERO),
        ("", Duration::from_secs(1)),
    ] {
        let run = start(vec![runbook(grace)], SourceSettings::default(), closed);
        run.send(&unlabelled("leaky-0"), SignalKind::Oom);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(run.platform.graces(), [want]);
    }
}

/// Serves `/health` on a loopback port, the n-th answer (from 0) after `latency(n)`; counts the
/// requests.
async fn target_server(latency: fn(u64) -> Duration) -> (SocketAddr, Arc<AtomicU64>) {
    let requests = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&requests);
    let health = move || {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::time::sleep(latency(n)).await;
            "ok"
        }
    };
    let app = axum::Router::new().route("/health", axum::routing::get(health));
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, requests)
}

/// The healer with the shipped `latency` and `hang` runbooks against a target answering as
/// `latency` says, for 3 s of real time (three times the latency runbook's `for: 1s`); gives
/// the restarts and the requests the target served (probes, and verification's if it acted).
async fn watch_for_three_seconds(
    settings: SourceSettings,
    latency: fn(u64) -> Duration,
) -> (usize, u64) {
    let (endpoint, requests) = target_server(latency).await;
    let run = start(
        vec![shipped("latency"), shipped("hang")],
        settings,
        endpoint,
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(&run, "escalated"), 0);
    (run.platform.graces().len(), requests.load(Ordering::SeqCst))
}

/// The prober as it was: one cadence, 1 s, whatever it sees.
fn one_cadence() -> SourceSettings {
    SourceSettings {
        probe_interval: Duration::from_secs(1),
        suspicious_probe_interval: Duration::from_secs(1),
        suspicious_after_start: Duration::ZERO,
        ..SourceSettings::default()
    }
}

// Real time from here: the probes go to a real socket.

#[tokio::test]
async fn a_slow_but_healthy_target_gets_faster_probes_and_no_more_actions() {
    // Every answer 150 ms: under the runbook's 200, but late by the suspicious cadence's 50.
    let steady: fn(u64) -> Duration = |_| Duration::from_millis(150);
    // Every other answer 230 ms: slow by the runbook's own threshold (and in time for the
    // probe's 250 ms timeout), never for 1 s on end.
    let flapping: fn(u64) -> Duration =
        |n| Duration::from_millis(if n % 2 == 0 { 230 } else { 20 });
    let (steady_before, steady_after, flapping_before, flapping_after) = tokio::join!(
        watch_for_three_seconds(one_cadence(), steady),
        watch_for_three_seconds(SourceSettings::default(), steady),
        watch_for_three_seconds(one_cadence(), flapping),
        watch_for_three_seconds(SourceSettings::default(), flapping),
    );
    for (before, after) in [
        (steady_before, steady_after),
        (flapping_before, flapping_after),
    ] {
        assert_eq!((before.0, after.0), (0, 0), "restarts before and after");
        // The suspicious cadence was on: several times the probes.
        assert!(
            after.1 >= 3 * before.1,
            "probes: {} then {}",
            before.1,
            after.1
        );
    }
}

#[tokio::test]
async fn a_target_that_stays_slow_is_restarted_once_then_held_by_the_cooldown() {
    // Slow by the runbook's 200 ms threshold, in time for the probe's 250 ms timeout.
    let slow: fn(u64) -> Duration = |_| Duration::from_millis(220);
    let (after, before) = tokio::join!(
        watch_for_three_seconds(SourceSettings::default(), slow),
        watch_for_three_seconds(one_cadence(), slow),
    );
    // Fired after 1 s of slow probes; verified (slow answers are answers); the runbook's
    // 1 min cooldown suppresses every detection after it, however fast the probes come.
    assert_eq!((before.0, after.0), (1, 1), "restarts before and after");
}
