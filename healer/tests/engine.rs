//! The engine against a fake platform (in-memory signals, counted restarts) and a collecting
//! sink; verification probes a real in-process `leaky` service, or a closed port.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{self, BoxFuture};
use futures_util::stream::{self, BoxStream};
use futures_util::{FutureExt, StreamExt};
use healer::{
    Alert, Healer, HealerError, Platform, PlatformError, Runbook, Scope, Signal, SignalKind,
    SourceSettings, TargetRef,
};
use journal::{Event, Sink};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

// ---- fakes -------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Restarts {
    Succeed,
    Fail,
    Hang,
}

/// Signals come from a channel the test feeds; restarts are counted; `http_endpoint` answers
/// with a fixed address (or "not published").
struct FakePlatform {
    signals: Mutex<Option<mpsc::UnboundedReceiver<Result<Signal, PlatformError>>>>,
    restarts: AtomicU32,
    behaviour: Restarts,
    endpoint: Option<SocketAddr>,
    /// What `targets()` lists at start-up.
    listed: Vec<TargetRef>,
}

impl Platform for FakePlatform {
    fn signals(&self, _scope: &Scope) -> BoxStream<'static, Result<Signal, PlatformError>> {
        let rx = self
            .signals
            .lock()
            .unwrap()
            .take()
            .expect("signals() called once");
        stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed()
    }

    fn restart(
        &self,
        target: &TargetRef,
        _grace: Duration,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        self.restarts.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Restarts::Succeed => future::ready(Ok(())).boxed(),
            Restarts::Fail => future::ready(Err(PlatformError::PortNotPublished {
                target: target.name.clone(),
                port: 1,
            }))
            .boxed(),
            Restarts::Hang => future::pending().boxed(),
        }
    }

    fn http_endpoint(
        &self,
        target: &TargetRef,
        port: u16,
    ) -> BoxFuture<'_, Result<SocketAddr, PlatformError>> {
        let result = self.endpoint.ok_or(PlatformError::PortNotPublished {
            target: target.name.clone(),
            port,
        });
        future::ready(result).boxed()
    }

    fn targets(&self, _scope: &Scope) -> BoxFuture<'_, Result<Vec<TargetRef>, PlatformError>> {
        future::ready(Ok(self.listed.clone())).boxed()
    }

    fn find_target(
        &self,
        _scope: &Scope,
        name: &str,
    ) -> BoxFuture<'_, Result<Option<TargetRef>, PlatformError>> {
        let found = (name == "leaky-0").then(|| target("leaky-0", "r1"));
        future::ready(Ok(found)).boxed()
    }
}

/// Keeps every event; tests wait on it for what they expect.
struct Collect(watch::Sender<Vec<Event>>);

impl Sink for Collect {
    fn record(&self, event: Event) {
        self.0.send_modify(|events| events.push(event));
    }
}

// ---- harness -----------------------------------------------------------------------------

struct Run {
    signals: Option<mpsc::UnboundedSender<Result<Signal, PlatformError>>>,
    /// The healer's external signals (alerts).
    external: Option<mpsc::Sender<Signal>>,
    platform: Arc<FakePlatform>,
    sink: Arc<Collect>,
    stop: Option<oneshot::Sender<()>>,
    healer: JoinHandle<Result<(), HealerError>>,
}

impl Run {
    fn start(runbook: &str, behaviour: Restarts, endpoint: Option<SocketAddr>) -> Run {
        Run::start_with(
            runbook,
            behaviour,
            endpoint,
            Vec::new(),
            SourceSettings::default(),
        )
    }

    fn start_with(
        runbook: &str,
        behaviour: Restarts,
        endpoint: Option<SocketAddr>,
        listed: Vec<TargetRef>,
        sources: SourceSettings,
    ) -> Run {
        let (tx, rx) = mpsc::unbounded_channel();
        let platform = Arc::new(FakePlatform {
            signals: Mutex::new(Some(rx)),
            restarts: AtomicU32::new(0),
            behaviour,
            endpoint,
            listed,
        });
        let sink = Arc::new(Collect(watch::Sender::new(Vec::new())));
        let runbook = Runbook::parse(runbook, Path::new("test.yaml")).unwrap();
        let scope = Scope {
            labels: BTreeMap::from([("sim.run".to_owned(), "r1".to_owned())]),
        };
        let (external, external_rx) = mpsc::channel(64);
        let healer = Healer::new(platform.clone(), vec![runbook], scope, sink.clone())
            .with_external_signals(external_rx)
            .with_sources(sources);
        let (stop, stopped) = oneshot::channel::<()>();
        let healer = tokio::spawn(healer.run(async {
            let _ = stopped.await;
        }));
        Run {
            signals: Some(tx),
            external: Some(external),
            platform,
            sink,
            stop: Some(stop),
            healer,
        }
    }

    fn send(&self, target: &TargetRef, kind: SignalKind) {
        let signal = Signal {
            target: target.clone(),
            kind,
            at: Instant::now(),
        };
        self.signals.as_ref().unwrap().send(Ok(signal)).unwrap();
    }

    /// Waits until `count` events satisfy `pick`.
    async fn wait_for(&self, count: usize, pick: impl Fn(&Event) -> bool) {
        let mut events = self.sink.0.subscribe();
        let waited = tokio::time::timeout(
            Duration::from_secs(20),
            events.wait_for(|events| events.iter().filter(|e| pick(e)).count() >= count),
        )
        .await;
        assert!(
            waited.is_ok(),
            "timed out; events so far: {:#?}",
            self.sink.0.borrow()
        );
    }

    fn restarts(&self) -> u32 {
        self.platform.restarts.load(Ordering::SeqCst)
    }

    /// Ends the signal stream, waits for the healer to finish its incidents and return, and
    /// gives the number of restarts and the summarized events.
    async fn finish(mut self) -> (u32, Vec<String>) {
        self.signals = None;
        self.external = None;
        let result = tokio::time::timeout(Duration::from_secs(30), &mut self.healer).await;
        result
            .expect("healer returns when its signals end")
            .unwrap()
            .unwrap();
        (self.restarts(), self.summary())
    }

    fn summary(&self) -> Vec<String> {
        self.sink.0.borrow().iter().map(summarize).collect()
    }
}

/// One line per event without timings, so sequences can be compared exactly.
fn summarize(event: &Event) -> String {
    match event {
        Event::Detected {
            target,
            incident,
            class,
            signal,
            ..
        } => format!("detected {incident} {target} {class} on {signal}"),
        Event::RunbookSelected {
            incident,
            runbook,
            reason,
            ..
        } => format!("selected {incident} {runbook}: {reason}"),
        Event::Suppressed {
            target,
            signal,
            reason,
        } => {
            // Drop the "(… left of …)" detail of cooldowns: it is a duration.
            let reason = reason.split(" (").next().unwrap_or(reason);
            format!("suppressed {target} {signal}: {reason}")
        }
        Event::ActionStarted {
            incident, action, ..
        } => format!("started {incident} {action}"),
        Event::ActionFinished {
            incident,
            action,
            ok,
            error,
            ..
        } => {
            format!("finished {incident} {action} ok={ok} error={error:?}")
        }
        Event::Verified { incident, ok, .. } => format!("verified {incident} ok={ok}"),
        Event::Escalated {
            incident, reason, ..
        } => {
            let reason = reason.split(':').next().unwrap_or(reason);
            format!("escalated {incident}: {reason}")
        }
        Event::IncidentClosed { incident, ok, .. } => format!("closed {incident} ok={ok}"),
        Event::ActionSkipped {
            incident,
            action,
            reason,
            ..
        } => format!("skipped {incident} {action}: {reason}"),
        Event::AwaitingApproval { incident, .. } => format!("awaiting approval {incident}"),
        Event::Approved { incident, .. } => format!("approved {incident}"),
        Event::Resolved {
            incident, reason, ..
        } => format!("resolved {incident}: {reason}"),
        other => panic!("the healer recorded an event it should not: {other:?}"),
    }
}

fn runbook(cooldown: &str, max_actions: u32, within: &str) -> String {
    format!(
        "name: restart-on-oom\nclass: oom\nwhen:\n  - docker_event: oom\nsteps:\n  - action: restart\n    timeout: 10s\n    retries: 1\n\
         verify:\n  within: {within}\ncooldown: {cooldown}\nmax_actions: {max_actions}\nwindow: 10m\n"
    )
}

fn target(name: &str, run: &str) -> TargetRef {
    TargetRef {
        id: format!("id-{name}"),
        name: name.to_owned(),
        labels: BTreeMap::from([
            ("sim.run".to_owned(), run.to_owned()),
            ("sim.target".to_owned(), name.to_owned()),
        ]),
    }
}

/// A real leaky service on a loopback port, answering `/health` with 200.
async fn leaky() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(leaky::serve(leaky::Config::default(), listener));
    addr
}

/// A loopback port nothing listens on.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap()
}

fn is_verified(event: &Event) -> bool {
    matches!(event, Event::Verified { .. })
}

fn is_suppressed(event: &Event) -> bool {
    matches!(event, Event::Suppressed { .. })
}

fn is_escalated(event: &Event) -> bool {
    matches!(event, Event::Escalated { .. })
}

const SELECTED: &str = "restart-on-oom: `when: docker_event: oom` matches oom; class oom with \
     confidence 0.95 (the kernel OOM-killed the target: oom (0.95))";

// ---- tests -------------------------------------------------------------------------------

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
    let events = sink.0.borrow();
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
async fn signals_out_of_scope_are_ignored() {
    let run = Run::start(&runbook("5s", 5, "5s"), Restarts::Succeed, None);
    run.send(&target("other-run", "r2"), SignalKind::Oom);
    let mut unlabelled = target("unlabelled", "r1");
    unlabelled.labels.clear();
    run.send(
        &unlabelled,
        SignalKind::Died {
            exit_code: Some(137),
        },
    );
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 0);
    assert_eq!(events, Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn faults_no_runbook_handles_are_suppressed_and_other_signals_ignored() {
    let run = Run::start(&runbook("5s", 5, "5s"), Restarts::Succeed, None);
    let leaky0 = target("leaky-0", "r1");
    run.send(&leaky0, SignalKind::Health { healthy: false });
    run.send(&leaky0, SignalKind::Health { healthy: true });
    run.send(&leaky0, SignalKind::Started);
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 0);
    assert_eq!(
        events,
        ["suppressed leaky-0 health_status: unhealthy: no runbook handles health_status: unhealthy"]
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

fn alert(name: &str, firing: bool, target_label: &str) -> Signal {
    let alert = Alert {
        name: name.to_owned(),
        firing,
        labels: BTreeMap::from([
            ("alertname".to_owned(), name.to_owned()),
            ("container".to_owned(), target_label.to_owned()),
        ]),
        fingerprint: format!("fp-{name}-{target_label}"),
    };
    let target_name = alert.target_name().unwrap().to_owned();
    Signal {
        target: TargetRef {
            id: String::new(),
            name: target_name,
            labels: BTreeMap::new(),
        },
        kind: SignalKind::Alert(alert),
        at: Instant::now(),
    }
}

fn alert_runbook() -> String {
    runbook("5s", 5, "5s").replace("docker_event: oom", "alert: HighMemory")
}

#[tokio::test]
async fn a_storm_of_one_thousand_duplicate_alerts_is_one_incident_and_one_action() {
    let run = Run::start(&alert_runbook(), Restarts::Succeed, Some(leaky().await));
    let external = run.external.clone().unwrap();
    for _ in 0..1000 {
        external
            .send(alert("HighMemory", true, "leaky-0"))
            .await
            .unwrap();
    }
    drop(external);
    run.wait_for(1, is_verified).await;
    run.wait_for(999, is_suppressed).await;
    let (restarts, summary) = run.finish().await;
    assert_eq!(restarts, 1);
    let detected: Vec<&String> = summary
        .iter()
        .filter(|l| l.starts_with("detected"))
        .collect();
    assert_eq!(
        detected,
        ["detected leaky-0-oom-1 leaky-0 oom on alert HighMemory firing"]
    );
    assert_eq!(
        summary.iter().filter(|l| l.starts_with("started")).count(),
        1
    );
    assert_eq!(
        summary
            .iter()
            .filter(|l| l.starts_with("suppressed"))
            .count(),
        999
    );
}

#[tokio::test]
async fn alerts_for_unknown_targets_and_resolved_alerts_act_on_nothing() {
    let run = Run::start(&alert_runbook(), Restarts::Succeed, Some(leaky().await));
    let external = run.external.clone().unwrap();
    external
        .send(alert("HighMemory", true, "nobody"))
        .await
        .unwrap();
    external
        .send(alert("HighMemory", false, "leaky-0"))
        .await
        .unwrap();
    external
        .send(alert("Other", true, "leaky-0"))
        .await
        .unwrap();
    drop(external);
    run.wait_for(2, is_suppressed).await;
    let (restarts, summary) = run.finish().await;
    assert_eq!(restarts, 0);
    assert_eq!(
        summary,
        [
            "suppressed nobody alert HighMemory firing: no target in scope has this name",
            "suppressed leaky-0 alert Other firing: no runbook handles alert Other firing",
        ]
    );
}

#[test]
fn alerts_name_their_target_by_container_then_name_then_instance() {
    let with = |labels: &[(&str, &str)]| Alert {
        name: "A".into(),
        firing: true,
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        fingerprint: "f".into(),
    };
    let both = with(&[("container", "c"), ("name", "n"), ("instance", "i:80")]);
    assert_eq!(both.target_name(), Some("c"));
    assert_eq!(
        with(&[("name", "n"), ("instance", "i:80")]).target_name(),
        Some("n")
    );
    assert_eq!(
        with(&[("instance", "host:9100")]).target_name(),
        Some("host")
    );
    assert_eq!(with(&[("instance", "host")]).target_name(), Some("host"));
    assert_eq!(with(&[]).target_name(), None);
}

#[tokio::test]
async fn the_healers_own_prober_finds_a_listed_target_that_stopped_answering_and_restarts_it() {
    let runbook = "name: restart-on-hang\nclass: hang\nwhen:\n  - probe_failures: 3\nsteps:\n  - action: restart\n    timeout: 5s\n\
                   verify:\n  http_path: /health\n  within: 200ms\ncooldown: 1h\nmax_actions: 5\nwindow: 10m\n";
    let sources = SourceSettings {
        probe_interval: Duration::from_millis(20),
        ..SourceSettings::default()
    };
    // Nothing listens on the port: every probe fails, no signal comes from the platform.
    let run = Run::start_with(
        runbook,
        Restarts::Succeed,
        Some(closed_port()),
        vec![target("leaky-0", "r1")],
        sources,
    );
    run.wait_for(1, is_escalated).await;
    assert_eq!(run.restarts(), 1);
    let summary = run.summary();
    assert!(
        summary[0].starts_with("detected leaky-0-hang-1 leaky-0 hang on probe failed after"),
        "{summary:#?}"
    );
    assert_eq!(
        summary[1],
        "selected leaky-0-hang-1 restart-on-hang: 3 failed probes in a row; class hang with confidence \
         0.70 (the target does not answer and was not seen dying: hang (0.70))"
    );
}

#[tokio::test(start_paused = true)]
async fn a_runbook_acts_only_on_the_targets_its_labels_select() {
    let for_dependencies =
        runbook("5s", 5, "5s").replace("cooldown:", "targets:\n  role: dependency\ncooldown:");
    let run = Run::start(&for_dependencies, Restarts::Succeed, None);
    run.send(&target("leaky-0", "r1"), SignalKind::Oom);
    let mut db = target("db", "r1");
    db.labels.insert("role".to_owned(), "dependency".to_owned());
    run.send(&db, SignalKind::Oom);
    let (restarts, events) = run.finish().await;
    assert_eq!(restarts, 1, "{events:#?}");
    assert_eq!(
        events[0], "suppressed leaky-0 oom: no runbook handles oom",
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("started db-oom-1 restart")),
        "{events:#?}"
    );
}
