//! What the healer's integration tests and its bench share: the one fake platform (signals from
//! a channel the test feeds, restarts recorded and answered as told, a rollback that gives a
//! new container), waiting on a `journal::MemorySink`, the `Run` harness around a healer, and
//! helpers for runbooks, targets and the in-process `leaky` service verification probes.

#![allow(
    dead_code,
    reason = "shared by several test binaries and the bench, each using some of it"
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
    ApprovalHandle, Healer, HealerError, Platform, PlatformError, Runbook, Scope, Signal,
    SignalKind, SourceSettings, TargetRef,
};
use journal::{Event, MemorySink};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

// ---- the fake platform -------------------------------------------------------------------

/// Where a test sends the platform's signals; dropping it ends the signal stream.
pub type Feed = mpsc::UnboundedSender<Result<Signal, PlatformError>>;

/// How the fake platform answers a restart.
#[derive(Clone, Copy)]
pub enum Restarts {
    /// At once.
    Succeed,
    /// At once, with an error.
    Fail,
    /// Never.
    Hang,
    /// After this long (tokio time), counting how many run at once.
    SucceedAfter(Duration),
}

/// Signals come from the [`Feed`] [`FakePlatform::new`] gives; every restart is recorded with
/// its grace and answered as [`Restarts`] says; every unpause is recorded and succeeds; a
/// rollback gives a new container of the same name (id `<old id>-rolled-back`); `http_endpoint` answers with one address for every target
/// (or "not published"); `targets` lists, and `find_target` finds, the targets it is given.
pub struct FakePlatform {
    signals: Mutex<Option<mpsc::UnboundedReceiver<Result<Signal, PlatformError>>>>,
    restarts: Restarts,
    endpoint: Option<SocketAddr>,
    /// What `targets()` lists at start-up.
    listed: Vec<TargetRef>,
    /// What `find_target()` finds, by name.
    known: Vec<TargetRef>,
    /// Every restart asked for, in order, with its grace.
    restarted: Mutex<Vec<(TargetRef, Duration)>>,
    /// Every unpause asked for, in order.
    unpaused: Mutex<Vec<TargetRef>>,
    running: AtomicU32,
    most_at_once: AtomicU32,
}

impl FakePlatform {
    /// Restarts succeed; no port is published; no target is listed or found.
    pub fn new() -> (FakePlatform, Feed) {
        let (feed, rx) = mpsc::unbounded_channel();
        let platform = FakePlatform {
            signals: Mutex::new(Some(rx)),
            restarts: Restarts::Succeed,
            endpoint: None,
            listed: Vec::new(),
            known: Vec::new(),
            restarted: Mutex::new(Vec::new()),
            unpaused: Mutex::new(Vec::new()),
            running: AtomicU32::new(0),
            most_at_once: AtomicU32::new(0),
        };
        (platform, feed)
    }

    pub fn with_restarts(mut self, restarts: Restarts) -> FakePlatform {
        self.restarts = restarts;
        self
    }

    /// Where every target answers; `None`: no port is published.
    pub fn with_endpoint(mut self, endpoint: Option<SocketAddr>) -> FakePlatform {
        self.endpoint = endpoint;
        self
    }

    /// The targets `targets()` lists at start-up.
    pub fn with_listed(mut self, listed: Vec<TargetRef>) -> FakePlatform {
        self.listed = listed;
        self
    }

    /// The targets `find_target()` finds by name.
    pub fn with_known(mut self, known: Vec<TargetRef>) -> FakePlatform {
        self.known = known;
        self
    }

    /// The targets restarted (asked to be), in order.
    pub fn restarted(&self) -> Vec<TargetRef> {
        let restarted = self.restarted.lock().unwrap();
        restarted.iter().map(|(target, _)| target.clone()).collect()
    }

    /// The grace of every restart, in order.
    pub fn graces(&self) -> Vec<Duration> {
        let restarted = self.restarted.lock().unwrap();
        restarted.iter().map(|(_, grace)| *grace).collect()
    }

    /// The targets unpaused (asked to be), in order.
    pub fn unpaused(&self) -> Vec<TargetRef> {
        self.unpaused.lock().unwrap().clone()
    }

    /// The most [`Restarts::SucceedAfter`] restarts that ran at once.
    pub fn most_at_once(&self) -> u32 {
        self.most_at_once.load(Ordering::SeqCst)
    }
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
        grace: Duration,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        self.restarted.lock().unwrap().push((target.clone(), grace));
        match self.restarts {
            Restarts::Succeed => future::ready(Ok(())).boxed(),
            Restarts::Fail => future::ready(Err(PlatformError::PortNotPublished {
                target: target.name.clone(),
                port: 1,
            }))
            .boxed(),
            Restarts::Hang => future::pending().boxed(),
            Restarts::SucceedAfter(took) => async move {
                let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
                self.most_at_once.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(took).await;
                self.running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
            .boxed(),
        }
    }

    fn unpause(
        &self,
        target: &TargetRef,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        self.unpaused.lock().unwrap().push(target.clone());
        future::ready(Ok(())).boxed()
    }

    fn rollback(
        &self,
        target: &TargetRef,
        _timeout: Duration,
    ) -> BoxFuture<'_, Result<TargetRef, PlatformError>> {
        let mut new = target.clone();
        new.id = format!("{}-rolled-back", target.id);
        future::ready(Ok(new)).boxed()
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
        let found = self.known.iter().find(|t| t.name == name).cloned();
        future::ready(Ok(found)).boxed()
    }
}

// ---- the sink ----------------------------------------------------------------------------

/// Waits until `count` events recorded in `sink` satisfy `pick`, looking every 10 ms; fails
/// the test, showing every event so far, if they are not there `within`.
pub async fn wait_for(
    sink: &MemorySink,
    within: Duration,
    count: usize,
    pick: impl Fn(&Event) -> bool,
) {
    let enough = || sink.events().iter().filter(|e| pick(e)).count() >= count;
    let waited = tokio::time::timeout(within, async {
        while !enough() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "timed out; events so far: {:#?}",
        sink.events()
    );
}

// ---- harness -----------------------------------------------------------------------------

/// A running healer over a [`FakePlatform`], recording to a [`MemorySink`]. Dropping it
/// aborts the healer.
pub struct Run {
    pub signals: Option<Feed>,
    /// The healer's external signals (alerts).
    pub external: Option<mpsc::Sender<Signal>>,
    pub platform: Arc<FakePlatform>,
    pub sink: Arc<MemorySink>,
    pub approvals: ApprovalHandle,
    pub stop: Option<oneshot::Sender<()>>,
    pub healer: JoinHandle<Result<(), HealerError>>,
}

impl Run {
    /// The engine tests' healer: `runbook`, in the scope `sim.run=r1`, where `leaky-0` (of run
    /// `r1`) can be found by name.
    pub fn start(runbook: &str, restarts: Restarts, endpoint: Option<SocketAddr>) -> Run {
        Run::start_with(
            runbook,
            restarts,
            endpoint,
            Vec::new(),
            SourceSettings::default(),
        )
    }

    /// [`Run::start`], with `listed` targets at start-up and the healer's own sources set.
    pub fn start_with(
        runbook: &str,
        restarts: Restarts,
        endpoint: Option<SocketAddr>,
        listed: Vec<TargetRef>,
        sources: SourceSettings,
    ) -> Run {
        let (platform, feed) = FakePlatform::new();
        let platform = platform
            .with_restarts(restarts)
            .with_endpoint(endpoint)
            .with_listed(listed)
            .with_known(vec![target("leaky-0", "r1")]);
        let runbook = Runbook::parse(runbook, Path::new("test.yaml")).unwrap();
        let scope = Scope {
            labels: BTreeMap::from([("sim.run".to_owned(), "r1".to_owned())]),
        };
        Run::spawn(platform, feed, vec![runbook], scope, |healer| {
            healer.with_sources(sources)
        })
    }

    /// Any healer over `platform`: `configure` sets its sources, guardrails, knowledge…
    pub fn spawn(
        platform: FakePlatform,
        feed: Feed,
        runbooks: Vec<Runbook>,
        scope: Scope,
        configure: impl FnOnce(Healer) -> Healer,
    ) -> Run {
        let platform = Arc::new(platform);
        let sink = Arc::new(MemorySink::default());
        let (external, external_rx) = mpsc::channel(64);
        let healer = Healer::new(platform.clone(), runbooks, scope, sink.clone())
            .with_external_signals(external_rx);
        let healer = configure(healer);
        let approvals = healer.approvals();
        let (stop, stopped) = oneshot::channel::<()>();
        let healer = tokio::spawn(healer.run(async {
            let _ = stopped.await;
        }));
        Run {
            signals: Some(feed),
            external: Some(external),
            platform,
            sink,
            approvals,
            stop: Some(stop),
            healer,
        }
    }

    pub fn send(&self, target: &TargetRef, kind: SignalKind) {
        let signal = signal(target, kind);
        self.signals.as_ref().unwrap().send(Ok(signal)).unwrap();
    }

    /// Waits until `count` events satisfy `pick`.
    pub async fn wait_for(&self, count: usize, pick: impl Fn(&Event) -> bool) {
        wait_for(&self.sink, Duration::from_secs(20), count, pick).await;
    }

    /// Lets (virtual, in paused time) `secs` seconds pass while the healer works; gives every
    /// event so far.
    pub async fn after(&self, secs: u64) -> Vec<Event> {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        self.events()
    }

    pub fn events(&self) -> Vec<Event> {
        self.sink.events()
    }

    /// How many restarts the healer asked for.
    pub fn restarts(&self) -> u32 {
        self.platform.restarted().len() as u32
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
        self.events().iter().map(summarize).collect()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.healer.abort();
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
        Event::LogExcerpt {
            incident, lines, ..
        } => format!("excerpt {incident}: {}", lines.join(" | ")),
        Event::AdvisorConsulted {
            incident,
            decision,
            reason,
            ..
        } => format!("advised {incident} {decision}: {reason}"),
        other => panic!("the healer recorded an event it should not: {other:?}"),
    }
}

// ---- helpers -----------------------------------------------------------------------------

pub fn runbook(cooldown: &str, max_actions: u32, within: &str) -> String {
    format!(
        "name: restart-on-oom\nclass: oom\nwhen:\n  - docker_event: oom\nsteps:\n  - action: restart\n    timeout: 10s\n    retries: 1\n\
         verify:\n  within: {within}\ncooldown: {cooldown}\nmax_actions: {max_actions}\nwindow: 10m\n"
    )
}

/// `name` of run `run`, labelled as the simulator labels its targets.
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

/// `name` without labels (in the default scope, which holds every target).
pub fn unlabelled(name: &str) -> TargetRef {
    TargetRef {
        id: format!("id-{name}"),
        name: name.to_owned(),
        labels: BTreeMap::new(),
    }
}

/// A signal about `target`, now.
pub fn signal(target: &TargetRef, kind: SignalKind) -> Signal {
    Signal {
        target: target.clone(),
        kind,
        at: Instant::now(),
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

pub fn is_detected(event: &Event) -> bool {
    matches!(event, Event::Detected { .. })
}

pub fn is_action_started(event: &Event) -> bool {
    matches!(event, Event::ActionStarted { .. })
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
