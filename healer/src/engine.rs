//! The engine: consume signals, keep per-target incident state and guardrails (one open
//! incident, cooldown, action limit), and run incidents concurrently.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;

use journal::{Event, Sink};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::{AbortHandle, Id as TaskId, JoinSet};
use tokio::time::Instant;

use crate::advisor::Advisor;
use crate::alert_source::{AlertSource, AlertWatch};
use crate::classify::History;
use crate::detect::Detectors;
use crate::excerpt::LogWindow;
use crate::guardrails::{ApprovalHandle, Guardrails};
use crate::knowledge::KnowledgeBase;
use crate::platform::{Platform, PlatformError, Scope};
use crate::rotation::Rotation;
use crate::runbook::Runbook;
use crate::signal::{Alert, Signal, SignalKind, TargetRef};
use crate::sources::{Needs, SourceSettings, Sources};

mod advise;
mod external;
mod rank;
mod resync;
mod start;

use advise::{Advised, Fallback};
use rank::{rank, Candidate};
use resync::{fallback, Next, PlatformSignals};
use start::Start;

/// The self-healing engine. Build it with [`Healer::new`], then drive it with [`Healer::run`].
///
/// For each fault signal about a target in scope it records its decision to the sink:
/// `Suppressed` (an incident is already open for the target, no runbook handles the fault, the
/// target is in cooldown, or the action limit was already escalated), or `Detected` (with the
/// class's confidence and why; then `LogExcerpt`, the target's last log lines, when its logs
/// are followed and it wrote any) followed by `Escalated` (action limit reached: `max_actions`
/// remediations within `window`), or `Detected`, `RunbookSelected` (with the ranking when
/// several runbooks matched), then from the incident's own task: `ActionSkipped` per step and
/// no action in dry run; the `notify` steps, `ActionSkipped` for the others and `Escalated`
/// below the confidence threshold; `AwaitingApproval` then `Approved` or `Escalated` in
/// approval mode; else `ActionStarted` / `ActionFinished` per attempt, `Verified`, and
/// `Escalated` if a step or the verification failed, and finally `IncidentClosed` (which the
/// knowledge base learns from). With an advisor ([`Healer::with_advisor`]), evidence no
/// runbook handles, and a match below the confidence guardrail, is `Detected` (then
/// `LogExcerpt`), then `AdvisorConsulted` once it answered, then `RunbookSelected` and the
/// steps as above when it named a runbook that may act, else `Escalated` (or, for a
/// low-confidence match, its notify-only incident); without one, a log line at an error level
/// that no `log_match` counts is `Detected` as `unknown`, then `LogExcerpt` and `Escalated`.
/// A resolved alert that opened a still running incident cancels
/// it with `Resolved`. Signals that are not faults (`Started`, healthy, samples) and targets
/// out of scope are ignored without a record. A lost platform stream is `SourceLost`, and
/// `SourceRestored` once a new one answers, before the deaths it missed are handled as above.
pub struct Healer {
    platform: Arc<dyn Platform>,
    runbooks: Vec<Arc<Runbook>>,
    scope: Scope,
    sink: Arc<dyn Sink>,
    external: Option<mpsc::Receiver<Signal>>,
    sources: SourceSettings,
    guardrails: Arc<Guardrails>,
    approvals: ApprovalHandle,
    knowledge: KnowledgeBase,
    rotation: Option<Arc<dyn Rotation>>,
    advisor: Option<Arc<Advisor>>,
    alert_source: Option<AlertSource>,
}

/// Why [`Healer::run`] stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealerError {
    /// The platform's signal stream failed for good (any error but a lost connection, which
    /// the healer reconnects); it cannot see faults any more.
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
            sources: SourceSettings::default(),
            guardrails: Arc::new(Guardrails::default()),
            approvals: ApprovalHandle::default(),
            knowledge: KnowledgeBase::in_memory(),
            rotation: None,
            advisor: None,
            alert_source: None,
        }
    }

    /// Consults `advisor` about evidence no runbook's `when` matches (a fault signal, or a log
    /// line at an error level no `log_match` counts) and about matches below the confidence
    /// guardrail; acts only on a runbook of this healer's library its answer names, through
    /// the same guardrails (see [`Advisor`]). With an advisor the healer follows every target's
    /// logs, for the evidence. Default: none (unmatched fault signals are suppressed, unmatched
    /// error lines escalated with the excerpt).
    pub fn with_advisor(mut self, advisor: Advisor) -> Healer {
        self.advisor = Some(Arc::new(advisor));
        self
    }

    /// Checks that alerts can still arrive through `source` (Prometheus, Alertmanager): while
    /// a part of it is lost, the runbooks' `fallback` triggers are live; `SourceLost` and
    /// `SourceRestored` say when (see [`AlertSource`]). Default: none (fallbacks never fire).
    pub fn with_alert_source(mut self, source: AlertSource) -> Healer {
        self.alert_source = Some(source);
        self
    }

    /// The load balancer's rotation `drain` steps take targets out of (default: none; a
    /// `drain` step then does nothing).
    pub fn with_rotation(mut self, rotation: Arc<dyn Rotation>) -> Healer {
        self.rotation = Some(rotation);
        self
    }

    /// Operator-wide guardrails (default: [`Guardrails::default`], the safe ones).
    pub fn with_guardrails(mut self, guardrails: Guardrails) -> Healer {
        self.guardrails = Arc::new(guardrails);
        self
    }

    /// Learns from, and ranks runbooks with, `knowledge` (default: an empty in-memory base).
    pub fn with_knowledge(mut self, knowledge: KnowledgeBase) -> Healer {
        self.knowledge = knowledge;
        self
    }

    /// Approves incidents waiting in approval mode ([`Guardrails::require_approval`]).
    pub fn approvals(&self) -> ApprovalHandle {
        self.approvals.clone()
    }

    /// How the healer's own sources (prober, stats, scraper) sample targets. They start, per
    /// target in scope, only when some runbook's `when` needs them: on the targets the
    /// platform lists at start-up, and on every target a signal names later.
    pub fn with_sources(mut self, settings: SourceSettings) -> Healer {
        self.sources = settings;
        self
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

    /// Handles signals until `shutdown` completes, or until the platform's signal stream and
    /// the external signals have ended. On shutdown, open incidents are aborted; when the
    /// signals end, they are allowed to finish first. A platform that went away for now (a
    /// Docker daemon restart) is no end: the healer asks for its signals again until it
    /// answers, then looks for targets that died meanwhile (see `engine/resync`).
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), HealerError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(HealerError::HttpClient)?;
        let mut needs = Needs::of(&self.runbooks);
        // The advisor's evidence: the target's last log lines.
        needs.logs |= self.advisor.is_some();
        let mut external = self.external.take().map(|rx| {
            let (platform, sink) = (Arc::clone(&self.platform), Arc::clone(&self.sink));
            external::resolved(platform, self.scope.clone(), sink, rx)
        });
        let mut signals = PlatformSignals::new(
            Arc::clone(&self.platform),
            self.scope.clone(),
            Arc::clone(&self.sink),
            fallback(&needs, external.is_some()),
        );
        let listed: Vec<TargetRef> = match self.platform.targets(&self.scope).await {
            Ok(targets) => targets
                .into_iter()
                .filter(|target| self.scope.contains(target))
                .collect(),
            Err(error) => {
                tracing::warn!(%error, "cannot list the targets in scope");
                Vec::new()
            }
        };
        signals.listed(&listed);
        let (sources, mut sourced) = if needs.any() {
            let (mut sources, rx) = Sources::new(
                needs,
                self.sources.clone(),
                Arc::clone(&self.platform),
                client.clone(),
            );
            listed.iter().for_each(|target| sources.watch(target));
            (Some(sources), Some(rx))
        } else {
            (None, None)
        };
        // Stops its checks when dropped, as `run` returns.
        let alert_watch = AlertWatch::start(
            self.alert_source.as_ref(),
            &self.runbooks,
            &client,
            &self.sink,
        );
        let mut triage = Triage {
            healer: &self,
            client,
            targets: HashMap::new(),
            detectors: Detectors::new(alert_watch.status()),
            incidents: JoinSet::new(),
            advising: JoinSet::new(),
            advising_targets: HashMap::new(),
            open: HashMap::new(),
            alert_incidents: HashMap::new(),
            next_incident: 1,
            sources,
            permits: Arc::new(Semaphore::new(self.guardrails.max_concurrent)),
        };
        tokio::pin!(shutdown);
        let result = loop {
            let signals_open = signals.open() || external.is_some();
            if !signals_open && triage.incidents.is_empty() && triage.advising.is_empty() {
                break Ok(());
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break Ok(()),
                Some(done) = triage.incidents.join_next_with_id() => triage.incident_closed(done),
                Some(done) = triage.advising.join_next_with_id() => triage.advice_done(done),
                Some(signal) = recv(&mut sourced), if signals_open => triage.on_signal(signal),
                next = signals.next(&triage.targets), if signals.open() => match next {
                    Next::Signal(signal) => triage.on_signal(signal),
                    Next::Restored(resync) => triage.resync(resync),
                    Next::Failed(error) => break Err(HealerError::Signals(error)),
                    Next::Ended => tracing::info!("the platform's signal stream ended"),
                },
                next = external::next(&mut external), if external.is_some() => match next {
                    Some(signal) => triage.on_signal(signal),
                    None => external = None,
                },
            }
        };
        triage.advising.shutdown().await;
        triage.incidents.shutdown().await;
        result
    }
}

/// The next signal of the healer's own sources; never, when there are none.
async fn recv(sourced: &mut Option<mpsc::Receiver<Signal>>) -> Option<Signal> {
    match sourced {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Records that the healer ignored `kind` about `target`, and why.
fn record_suppressed(sink: &dyn Sink, target: &str, kind: &SignalKind, reason: String) {
    tracing::info!(target_name = %target, %kind, %reason, "suppressed");
    sink.record(Event::Suppressed {
        target: target.to_owned(),
        signal: kind.to_string(),
        reason,
    });
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
    /// The target's recent life, for classification.
    history: History,
    /// Its last log lines since it started, for an incident's excerpt.
    logs: LogWindow,
    /// Evidence no runbook handles is suppressed until then (it was just escalated).
    unmatched_until: Option<Instant>,
    /// The last incident closed and failed (a resync does not hold to its cooldown).
    last_failed: bool,
}

/// An incident whose task runs.
struct Open {
    /// The key of the target's state.
    target_key: String,
    target_name: String,
    incident: String,
    class: String,
    runbook: String,
    started: Instant,
    abort: AbortHandle,
}

/// The engine's mutable state during [`Healer::run`].
struct Triage<'a> {
    healer: &'a Healer,
    client: reqwest::Client,
    /// Keyed by target name, so a recreated (or rolled back) container, which has a new id,
    /// keeps its incident, cooldown and action limit.
    targets: HashMap<String, TargetState>,
    detectors: Detectors,
    incidents: JoinSet<Option<bool>>,
    /// Incidents waiting for the advisor's answer.
    advising: JoinSet<Advised>,
    /// Each advising task's target key, to free the target even if the task panicked.
    advising_targets: HashMap<TaskId, String>,
    /// Each incident task's incident, to close it even if the task panicked.
    open: HashMap<TaskId, Open>,
    /// Fingerprint of the alert that opened an incident → its task.
    alert_incidents: HashMap<String, TaskId>,
    next_incident: u64,
    /// The healer's own sources, when some runbook needs them.
    sources: Option<Sources>,
    /// Limits how many actions run at once.
    permits: Arc<Semaphore>,
}

impl Triage<'_> {
    fn on_signal(&mut self, signal: Signal) {
        let Signal { target, kind, at } = signal;
        if !self.healer.scope.contains(&target) {
            tracing::debug!(target_name = %target.name, %kind, "signal out of scope");
            return;
        }
        if let Some(sources) = &mut self.sources {
            match kind {
                SignalKind::Removed => sources.forget(&target.id),
                SignalKind::Died { .. } => {}
                SignalKind::Started => sources.started(&target),
                _ => sources.watch(&target),
            }
        }
        if let SignalKind::Alert(alert) = &kind {
            if !alert.firing {
                return self.on_resolved(&target, alert);
            }
        }
        let state = self.targets.entry(target.name.clone()).or_default();
        state.history.observe(&kind, at);
        match &kind {
            SignalKind::Log { line } => state.logs.push(line),
            SignalKind::Started => state.logs.clear(),
            _ => {}
        }
        let mut detections = self
            .detectors
            .observe(&target.id, &kind, at, &self.healer.runbooks);
        detections.retain(|detection| detection.runbook.targets.contains(&target));
        if detections.is_empty() {
            if kind.is_fault() || self.unmatched_log(&kind) {
                return self.on_unmatched(target, &kind, at);
            }
            tracing::trace!(target_name = %target.name, %kind, "nothing detected");
            return;
        }
        let sink = &self.healer.sink;
        let suppress = |reason: String| record_suppressed(&**sink, &target.name, &kind, reason);
        let state = self.targets.entry(target.name.clone()).or_default();
        if let Some(open) = &state.open {
            return suppress(format!("incident already open ({open})"));
        }
        let Some((candidate, ranking)) = rank(
            detections,
            &kind,
            &state.history,
            at,
            &self.healer.knowledge,
        ) else {
            return suppress(format!("no runbook handles {kind}"));
        };
        if let Some(until) = state.cooldown_until.filter(|until| at < *until) {
            return suppress(format!(
                "cooldown ({:?} left of {:?})",
                until - at,
                state.cooldown
            ));
        }
        let Candidate {
            detection,
            classification,
            ..
        } = candidate;
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
            class: classification.class.clone(),
            signal: kind.to_string(),
            confidence: Some(classification.confidence),
            classified_because: Some(classification.reason.clone()),
        });
        let excerpt = state.logs.excerpt();
        if !excerpt.is_empty() {
            sink.record(Event::LogExcerpt {
                target: target.name.clone(),
                incident: incident.clone(),
                lines: excerpt.clone(),
            });
        }
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
        let reason = format!(
            "{}; class {} with confidence {:.2}{ranking}",
            detection.reason, classification.class, classification.confidence
        );
        let alert = match &kind {
            SignalKind::Alert(alert) => Some(alert.fingerprint.clone()),
            _ => None,
        };
        if self.healer.advisor.is_some()
            && classification.confidence < self.healer.guardrails.min_confidence
        {
            let fallback = Fallback {
                runbook,
                class: classification.class,
                confidence: classification.confidence,
                reason,
            };
            return self.ask(Advised {
                target,
                signal: kind.to_string(),
                alert,
                incident,
                excerpt,
                fallback: Some(fallback),
                consultation: None,
            });
        }
        sink.record(Event::RunbookSelected {
            target: target.name.clone(),
            incident: incident.clone(),
            runbook: runbook.name.clone(),
            reason,
        });
        self.start(Start {
            target,
            alert,
            incident,
            runbook,
            class: classification.class,
            confidence: classification.confidence,
            excerpt,
            at,
        });
    }

    /// A resolved alert closes the incident it opened, if that incident still runs: its
    /// remaining steps are cancelled and a `Resolved` is recorded. Otherwise it changes nothing.
    fn on_resolved(&mut self, target: &TargetRef, alert: &Alert) {
        let Some(task) = self.alert_incidents.remove(&alert.fingerprint) else {
            tracing::debug!(target_name = %target.name, alert = %alert.name, "resolved alert opened no running incident");
            return;
        };
        let Some(open) = self.open.remove(&task) else {
            return;
        };
        open.abort.abort();
        tracing::info!(incident = %open.incident, alert = %alert.name, "alert resolved; incident closed");
        self.healer.sink.record(Event::Resolved {
            target: open.target_name.clone(),
            incident: open.incident.clone(),
            reason: format!("alert {} resolved", alert.name),
        });
        self.close(&open);
    }

    fn incident_closed(&mut self, done: Result<(TaskId, Option<bool>), tokio::task::JoinError>) {
        let (task, outcome) = match done {
            Ok((task, outcome)) => (task, outcome),
            Err(error) => {
                if !error.is_cancelled() {
                    tracing::error!(%error, "incident task failed");
                }
                (error.id(), None)
            }
        };
        self.alert_incidents.retain(|_, t| *t != task);
        let Some(open) = self.open.remove(&task) else {
            return;
        };
        if let Some(ok) = outcome {
            let took = open.started.elapsed();
            if let Err(error) = self
                .healer
                .knowledge
                .record(&open.class, &open.runbook, ok, took)
            {
                tracing::warn!(%error, "cannot save what the healer learnt");
            }
            self.healer.sink.record(Event::IncidentClosed {
                target: open.target_name.clone(),
                incident: open.incident.clone(),
                class: open.class.clone(),
                runbook: open.runbook.clone(),
                ok,
                duration_ms: crate::incident::millis(took),
            });
        }
        self.close(&open);
        if let Some(state) = self.targets.get_mut(&open.target_key) {
            state.last_failed = outcome == Some(false);
        }
    }

    fn close(&mut self, open: &Open) {
        if let Some(state) = self.targets.get_mut(&open.target_key) {
            state.open = None;
            state.cooldown_until = Some(Instant::now() + state.cooldown);
        }
    }
}
