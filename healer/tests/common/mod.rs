//! What the engine tests share: a fake platform (in-memory signals, counted restarts), a
//! collecting sink, the `Run` harness around a healer, and helpers for runbooks, targets and
//! the in-process `leaky` service verification probes.

#![allow(
    dead_code,
    reason = "shared by several test binaries, each using some of it"
)]

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
    Healer, HealerError, Platform, PlatformError, Runbook, Scope, Signal, SignalKind,
    SourceSettings, TargetRef,
};
use journal::{Event, Sink};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

// ---- fakes -------------------------------------------------------------------------------

#[derive(Clone, Copy)]
pub enum Restarts {
    Succeed,
    Fail,
    Hang,
}

/// Signals come from a channel the test feeds; restarts are counted; `http_endpoint` answers
/// with a fixed address (or "not published").
pub struct FakePlatform {
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
pub struct Collect(pub watch::Sender<Vec<Event>>);

impl Sink for Collect {
    fn record(&self, event: Event) {
        self.0.send_modify(|events| events.push(event));
    }
}

// ---- harness -----------------------------------------------------------------------------

pub struct Run {
    pub signals: Option<mpsc::UnboundedSender<Result<Signal, PlatformError>>>,
    /// The healer's external signals (alerts).
    pub external: Option<mpsc::Sender<Signal>>,
    pub platform: Arc<FakePlatform>,
    pub sink: Arc<Collect>,
    pub stop: Option<oneshot::Sender<()>>,
    pub healer: JoinHandle<Result<(), HealerError>>,
}

impl Run {
    pub fn start(runbook: &str, behaviour: Restarts, endpoint: Option<SocketAddr>) -> Run {
        Run::start_with(
            runbook,
            behaviour,
            endpoint,
            Vec::new(),
            SourceSettings::default(),
        )
    }

    pub fn start_with(
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

    pub fn send(&self, target: &TargetRef, kind: SignalKind) {
        let signal = Signal {
            target: target.clone(),
            kind,
            at: Instant::now(),
        };
        self.signals.as_ref().unwrap().send(Ok(signal)).unwrap();
    }

    /// Waits until `count` events satisfy `pick`.
    pub async fn wait_for(&self, count: usize, pick: impl Fn(&Event) -> bool) {
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

    pub fn restarts(&self) -> u32 {
        self.platform.restarts.load(Ordering::SeqCst)
    }

    /// Ends the signal stream, waits for the healer to finish its incidents and return, and
    /// gives the number of restarts and the summarized events.
    pub async fn finish(mut self) -> (u32, Vec<String>) {
        self.signals = None;
        self.external = None;
        let result = tokio::time::timeout(Duration::from_secs(30), &mut self.healer).await;
        result
            .expect("healer returns when its signals end")
            .unwrap()
            .unwrap();
        (self.restarts(), self.summary())
    }

    pub fn summary(&self) -> Vec<String> {
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

pub fn runbook(cooldown: &str, max_actions: u32, within: &str) -> String {
    format!(
        "name: restart-on-oom\nclass: oom\nwhen:\n  - docker_event: oom\nsteps:\n  - action: restart\n    timeout: 10s\n    retries: 1\n\
         verify:\n  within: {within}\ncooldown: {cooldown}\nmax_actions: {max_actions}\nwindow: 10m\n"
    )
}

pub fn target(name: &str, run: &str) -> TargetRef {
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
pub async fn leaky() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(leaky::serve(leaky::Config::default(), listener));
    addr
}

/// A loopback port nothing listens on.
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap()
}

pub fn is_verified(event: &Event) -> bool {
    matches!(event, Event::Verified { .. })
}

pub fn is_suppressed(event: &Event) -> bool {
    matches!(event, Event::Suppressed { .. })
}

pub fn is_escalated(event: &Event) -> bool {
    matches!(event, Event::Escalated { .. })
}

pub const SELECTED: &str = "restart-on-oom: `when: docker_event: oom` matches oom; class oom with \
     confidence 0.95 (the kernel OOM-killed the target: oom (0.95))";
