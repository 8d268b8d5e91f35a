//! The engine: consume signals, keep per-target incident state and guardrails (one open
//! incident, cooldown, action limit), and run incidents concurrently.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;

use futures_util::{stream, StreamExt};
use journal::{Event, Sink};
use tokio::sync::mpsc;
use tokio::task::{Id as TaskId, JoinSet};
use tokio::time::Instant;

use crate::detect::Detectors;
use crate::incident::Incident;
use crate::platform::{Platform, PlatformError, Scope};
use crate::runbook::Runbook;
use crate::signal::{Signal, TargetRef};

/// The self-healing engine. Build it with [`Healer::new`], then drive it with [`Healer::run`].
///
/// For each fault signal about a target in scope it records its decision to the sink:
/// `Suppressed` (an incident is already open for the target, no runbook handles the fault, the
/// target is in cooldown, or the action limit was already escalated), or `Detected` followed by
/// `Escalated` (action limit reached: `max_actions` remediations within `window`), or
/// `Detected`, `RunbookSelected`, then from the incident's own task `ActionStarted` /
/// `ActionFinished` per attempt, `Verified`, and `Escalated` if a step or the verification
/// failed. Signals that are not faults (`Started`, healthy) and targets out of scope are
/// ignored without a record.
pub struct Healer {
    platform: Arc<dyn Platform>,
    runbooks: Vec<Arc<Runbook>>,
    scope: Scope,
    sink: Arc<dyn Sink>,
    external: Option<mpsc::Receiver<Signal>>,
}

/// Why [`Healer::run`] stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealerError {
    /// The platform's signal stream failed; the healer cannot see faults any more.
    #[error("the healer lost its signals: {0}")]
    Signals(#[source] PlatformError),
    /// The HTTP client for verification could not be built.
    #[error("cannot build the verification HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

impl Healer {
    /// A healer acting on targets in `scope` through `platform`, using `runbooks` (the first
    /// matching one handles a fault), recording its decisions to `sink`.
    pub fn new(
        platform: Arc<dyn Platform>,
        runbooks: Vec<Runbook>,
        scope: Scope,
        sink: Arc<dyn Sink>,
    ) -> Healer {
        Healer {
            platform,
            runbooks: runbooks.into_iter().map(Arc::new).collect(),
            scope,
            sink,
            external: None,
        }
    }

    /// Also handles signals sent on `rx` (alerts from Alertmanager, a prober's results…),
    /// merged with the platform's. A signal whose `target.id` is empty names its target only by
    /// `target.name`; the healer resolves it with [`Platform::find_target`] in its scope and
    /// drops it (with a `Suppressed` record) when no target has that name. For alerts, see
    /// [`Alert::target_name`](crate::Alert::target_name) for which label names the target.
    pub fn with_external_signals(mut self, rx: mpsc::Receiver<Signal>) -> Healer {
        self.external = Some(rx);
        self
    }

    /// Handles signals until `shutdown` completes or the signal stream ends. On shutdown, open
    /// incidents are aborted; when the stream ends, they are allowed to finish first.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), HealerError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(HealerError::HttpClient)?;
        let mut signals = self.platform.signals(&self.scope);
        if let Some(external) = self.external.take() {
            let platform = Arc::clone(&self.platform);
            let scope = self.scope.clone();
            let sink = Arc::clone(&self.sink);
            let external = stream::unfold(external, |mut rx| async move {
                rx.recv().await.map(|signal| (signal, rx))
            })
            .then(move |signal| {
                let platform = Arc::clone(&platform);
                let scope = scope.clone();
                let sink = Arc::clone(&sink);
                async move { resolve(platform.as_ref(), &scope, sink.as_ref(), signal).await }
            })
            .filter_map(|signal| async move { signal.map(Ok) });
            signals = stream::select(signals, external).boxed();
        }
        let mut triage = Triage {
            healer: &self,
            client,
            targets: HashMap::new(),
            detectors: Detectors::default(),
            incidents: JoinSet::new(),
            incident_targets: HashMap::new(),
            next_incident: 1,
        };
        tokio::pin!(shutdown);
        let mut signals_open = true;
        let result = loop {
            if !signals_open && triage.incidents.is_empty() {
                break Ok(());
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break Ok(()),
                Some(done) = triage.incidents.join_next_with_id() => triage.incident_closed(done),
                next = signals.next(), if signals_open => match next {
                    Some(Ok(signal)) => triage.on_signal(signal),
                    Some(Err(error)) => break Err(HealerError::Signals(error)),
                    None => {
                        tracing::info!("signal stream ended; finishing open incidents");
                        signals_open = false;
                    }
                },
            }
        };
        triage.incidents.shutdown().await;
        result
    }
}

/// Fills in the target of a signal that names it only by name; `None` (after recording why)
/// when no target in scope has that name or the platform cannot tell.
async fn resolve(
    platform: &dyn Platform,
    scope: &Scope,
    sink: &dyn Sink,
    mut signal: Signal,
) -> Option<Signal> {
    if !signal.target.id.is_empty() {
        return Some(signal);
    }
    let suppress = |reason: String| {
        tracing::info!(target_name = %signal.target.name, %reason, "signal dropped");
        sink.record(Event::Suppressed {
            target: signal.target.name.clone(),
            signal: signal.kind.to_string(),
            reason,
        });
    };
    match platform.find_target(scope, &signal.target.name).await {
        Ok(Some(target)) => {
            signal.target = TargetRef {
                labels: target.labels,
                id: target.id,
                name: target.name,
            };
            Some(signal)
        }
        Ok(None) => {
            suppress("no target in scope has this name".to_owned());
            None
        }
        Err(error) => {
            suppress(format!("cannot resolve the target: {error}"));
            None
        }
    }
}

/// Per-target memory between signals.
#[derive(Debug, Default)]
struct TargetState {
    /// The open incident's id.
    open: Option<String>,
    /// Faults before this instant are suppressed.
    cooldown_until: Option<Instant>,
    /// After an incident closes, how long the cooldown lasts (from its runbook).
    cooldown: std::time::Duration,
    /// Start times of recent remediations, oldest first.
    remediations: VecDeque<Instant>,
    /// The action limit was hit and escalated; later faults are suppressed until it clears.
    limit_escalated: bool,
}

/// The engine's mutable state during [`Healer::run`].
struct Triage<'a> {
    healer: &'a Healer,
    client: reqwest::Client,
    /// Keyed by target id.
    targets: HashMap<String, TargetState>,
    detectors: Detectors,
    incidents: JoinSet<()>,
    /// Which target each incident task serves, to close it even if the task panicked.
    incident_targets: HashMap<TaskId, String>,
    next_incident: u64,
}

impl Triage<'_> {
    fn on_signal(&mut self, signal: Signal) {
        let Signal { target, kind, at } = signal;
        if !self.healer.scope.contains(&target) {
            tracing::debug!(target_name = %target.name, %kind, "signal out of scope");
            return;
        }
        let detection = self
            .detectors
            .observe(&target.id, &kind, at, &self.healer.runbooks);
        if detection.is_none() && !kind.is_fault() {
            tracing::trace!(target_name = %target.name, %kind, "nothing detected");
            return;
        }
        let sink = &self.healer.sink;
        let suppress = |reason: String| {
            tracing::info!(target_name = %target.name, %kind, %reason, "suppressed");
            sink.record(Event::Suppressed {
                target: target.name.clone(),
                signal: kind.to_string(),
                reason,
            });
        };
        let state = self.targets.entry(target.id.clone()).or_default();
        if let Some(open) = &state.open {
            return suppress(format!("incident already open ({open})"));
        }
        let Some(detection) = detection else {
            return suppress(format!("no runbook handles {kind}"));
        };
        if let Some(until) = state.cooldown_until.filter(|until| at < *until) {
            return suppress(format!(
                "cooldown ({:?} left of {:?})",
                until - at,
                state.cooldown
            ));
        }
        let runbook = detection.runbook;
        while state
            .remediations
            .front()
            .is_some_and(|started| at.duration_since(*started) >= runbook.window)
        {
            state.remediations.pop_front();
        }
        let limited = state.remediations.len() >= runbook.max_actions.get() as usize;
        if limited && state.limit_escalated {
            return suppress(format!(
                "max_actions reached ({} in {:?}); already escalated",
                runbook.max_actions, runbook.window
            ));
        }
        state.limit_escalated = limited;

        let incident = format!("{}-{}-{}", target.name, runbook.class, self.next_incident);
        self.next_incident += 1;
        tracing::info!(%incident, %kind, runbook = %runbook.name, "incident detected");
        sink.record(Event::Detected {
            target: target.name.clone(),
            incident: incident.clone(),
            class: runbook.class.clone(),
            signal: kind.to_string(),
        });
        if limited {
            let reason = format!(
                "max_actions reached: {} remediations within {:?}; not acting",
                runbook.max_actions, runbook.window
            );
            tracing::warn!(%incident, %reason, "escalated");
            sink.record(Event::Escalated {
                target: target.name.clone(),
                incident,
                reason,
            });
            return;
        }
        sink.record(Event::RunbookSelected {
            target: target.name.clone(),
            incident: incident.clone(),
            runbook: runbook.name.clone(),
            reason: format!(
                "{}; class {} with confidence {:.2}",
                detection.reason, runbook.class, runbook.confidence
            ),
        });
        state.open = Some(incident.clone());
        state.cooldown = runbook.cooldown;
        state.remediations.push_back(at);
        let task = Incident {
            id: incident,
            target: target.clone(),
            runbook,
            platform: Arc::clone(&self.healer.platform),
            sink: Arc::clone(sink),
            client: self.client.clone(),
        };
        let handle = self.incidents.spawn(task.handle());
        self.incident_targets.insert(handle.id(), target.id);
    }

    fn incident_closed(&mut self, done: Result<(TaskId, ()), tokio::task::JoinError>) {
        let task = match done {
            Ok((task, ())) => task,
            Err(error) => {
                tracing::error!(%error, "incident task failed");
                error.id()
            }
        };
        let Some(target) = self.incident_targets.remove(&task) else {
            return;
        };
        if let Some(state) = self.targets.get_mut(&target) {
            state.open = None;
            state.cooldown_until = Some(Instant::now() + state.cooldown);
        }
    }
}
