//! The platform's signal stream, kept through a platform restart (a Docker daemon restarting),
//! and the resync after it.
//!
//! What the end of a stream from [`Platform::signals`] means to the engine:
//! - **It ends**: the platform has no more signals (a finite platform: the fakes of the tests).
//!   The engine finishes its open incidents and stops.
//! - **`Err(PlatformError::Connect)`**: the platform went away for now (Docker's stream says so
//!   when the daemon stops or the connection breaks). The engine records `SourceLost` once, goes
//!   on with what does not come from the stream (its own probes, alerts from outside), and calls
//!   `signals` again, [`FIRST_RETRY`] after the loss, the wait doubling after each failed
//!   attempt up to [`MAX_RETRY`], and back to [`FIRST_RETRY`] after a stream that delivered
//!   anything; it never gives up while not shut down. An attempt succeeds once the new stream
//!   has not failed and [`Platform::targets`] answers: `SourceRestored`, then the resync.
//! - **Any other `Err`**: the source failed for good; the engine stops with
//!   [`HealerError::Signals`](super::HealerError::Signals).
//!
//! The resync: the targets the healer knows (those the platform listed, at start-up and at
//! each resync, and those it saw signals about) that do not run now but still exist
//! ([`Platform::find_target`] finds stopped ones too) died while the healer was blind: each
//! gets a `Died { exit_code: None }` signal, handled like any other (a target with an incident
//! open gets no second one: the engine's one-open-incident rule), except that the cooldown of
//! a last incident that failed does not hold it back. That is the usual case of a Docker
//! daemon restart: dockerd stops its containers before it exits, the stream still delivers
//! their `die`, and the restarts it sets off fail (the daemon takes no new connections); the
//! resync heals them once the daemon is back. The targets running now are watched by the
//! healer's own sources, so one that started while blind is probed too.
//!
//! The new stream is polled while the targets are listed, so its subscription goes first: a
//! death after the listing is in the stream. A death both report is handled once: the resync
//! comes before what the new stream said, which then finds the incident open.

use std::collections::{BTreeSet, HashMap};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use futures_util::{FutureExt, StreamExt};
use journal::{Event, Sink};
use tokio::time::{Instant, Sleep};

use super::Triage;
use crate::platform::{Platform, PlatformError, Scope};
use crate::signal::{Signal, SignalKind, TargetRef};
use crate::sources::Needs;

/// The first wait before asking for a new stream, and the wait after a stream that delivered.
pub(super) const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest wait between two attempts.
pub(super) const MAX_RETRY: Duration = Duration::from_secs(5);
/// The source named in `SourceLost` and `SourceRestored`.
const SOURCE: &str = "docker events";

type Signals = BoxStream<'static, Result<Signal, PlatformError>>;

/// The platform's signals, asked for again whenever the platform went away.
pub(super) struct PlatformSignals {
    platform: Arc<dyn Platform>,
    scope: Scope,
    sink: Arc<dyn Sink>,
    /// What the healer goes on with while the stream is lost, for `SourceLost`.
    fallback: String,
    state: State,
    /// The wait before the next attempt.
    retry: Duration,
    /// Names of the targets the platform listed, at start-up and at each resync.
    listed: BTreeSet<String>,
}

enum State {
    Up {
        signals: Signals,
        delivered: bool,
    },
    /// Lost since `since`; the next attempt when `wait` is over.
    Waiting {
        since: Instant,
        wait: Pin<Box<Sleep>>,
    },
    Reconnecting {
        since: Instant,
        attempt: BoxFuture<'static, Result<Reconnected, Failure>>,
    },
    Ended,
}

/// What [`PlatformSignals::next`] gives.
pub(super) enum Next {
    Signal(Signal),
    /// A new stream answers; the resync to do.
    Restored(Resync),
    /// The stream ended: the platform has no more signals.
    Ended,
    /// The stream failed for good.
    Failed(PlatformError),
}

/// What changed while the healer was blind.
pub(super) struct Resync {
    /// The targets in scope running now.
    running: Vec<TargetRef>,
    /// Known targets that do not run now but still exist.
    stopped: Vec<TargetRef>,
    /// Names of running targets the healer did not know.
    new: Vec<String>,
}

/// A successful attempt: the new stream, with what it said while the targets were listed.
struct Reconnected {
    signals: Signals,
    /// Whether it said anything already.
    delivered: bool,
    resync: Resync,
}

/// Why an attempt failed.
enum Failure {
    /// Not yet: try again later.
    Again(String),
    /// The new stream failed for good.
    Fatal(PlatformError),
}

impl PlatformSignals {
    /// The platform's stream, asked for now; `fallback` says what the healer goes on with
    /// while it is lost.
    pub(super) fn new(
        platform: Arc<dyn Platform>,
        scope: Scope,
        sink: Arc<dyn Sink>,
        fallback: String,
    ) -> PlatformSignals {
        let signals = platform.signals(&scope);
        PlatformSignals {
            platform,
            scope,
            sink,
            fallback,
            state: State::Up {
                signals,
                delivered: false,
            },
            retry: FIRST_RETRY,
            listed: BTreeSet::new(),
        }
    }

    /// Remembers targets the platform listed, for the next resync.
    pub(super) fn listed<'a>(&mut self, targets: impl IntoIterator<Item = &'a TargetRef>) {
        self.listed
            .extend(targets.into_iter().map(|target| target.name.clone()));
    }

    /// Whether signals may still come: the stream has not ended nor failed for good.
    pub(super) fn open(&self) -> bool {
        !matches!(self.state, State::Ended)
    }

    /// The next signal, or a restored stream's resync (the targets of `seen`, by name, are
    /// known to the healer), or the end. Cancel-safe: every wait is kept in `self`.
    pub(super) async fn next<V>(&mut self, seen: &HashMap<String, V>) -> Next {
        loop {
            match &mut self.state {
                State::Up { signals, delivered } => match signals.next().await {
                    Some(Ok(signal)) => {
                        *delivered = true;
                        return Next::Signal(signal);
                    }
                    Some(Err(PlatformError::Connect { source })) => {
                        let delivered = *delivered;
                        self.lose(delivered, &source.to_string());
                    }
                    Some(Err(error)) => {
                        self.state = State::Ended;
                        return Next::Failed(error);
                    }
                    None => {
                        self.state = State::Ended;
                        return Next::Ended;
                    }
                },
                State::Waiting { since, wait } => {
                    wait.as_mut().await;
                    let since = *since;
                    self.retry = (self.retry * 2).min(MAX_RETRY);
                    let attempt = attempt(
                        Arc::clone(&self.platform),
                        self.scope.clone(),
                        self.listed.iter().chain(seen.keys()).cloned().collect(),
                    );
                    self.state = State::Reconnecting {
                        since,
                        attempt: attempt.boxed(),
                    };
                }
                State::Reconnecting { since, attempt } => {
                    let since = *since;
                    match attempt.await {
                        Ok(reconnected) => {
                            return Next::Restored(self.restore(since, reconnected));
                        }
                        Err(Failure::Again(why)) => {
                            let retry_in = self.retry;
                            tracing::debug!(%why, ?retry_in, "the platform's signals are not back");
                            self.wait(since);
                        }
                        Err(Failure::Fatal(error)) => {
                            self.state = State::Ended;
                            return Next::Failed(error);
                        }
                    }
                }
                State::Ended => return std::future::pending().await,
            }
        }
    }

    /// The stream was lost: recorded once, then the first attempt after the wait.
    fn lose(&mut self, delivered: bool, detail: &str) {
        if delivered {
            self.retry = FIRST_RETRY;
        }
        let (fallback, retry_in) = (&self.fallback, self.retry);
        tracing::warn!(source = SOURCE, %detail, %fallback, ?retry_in, "signal source lost");
        self.sink.record(Event::SourceLost {
            source: SOURCE.to_owned(),
            detail: detail.to_owned(),
            fallback: self.fallback.clone(),
        });
        self.wait(Instant::now());
    }

    fn wait(&mut self, since: Instant) {
        self.state = State::Waiting {
            since,
            wait: Box::pin(tokio::time::sleep(self.retry)),
        };
    }

    /// A new stream answers: recorded, with what changed while the healer was blind.
    fn restore(&mut self, since: Instant, reconnected: Reconnected) -> Resync {
        let Reconnected {
            signals,
            delivered,
            resync,
        } = reconnected;
        let down_ms = crate::incident::millis(since.elapsed());
        let detail = describe(&resync);
        self.listed(&resync.running);
        tracing::info!(source = SOURCE, down_ms, %detail, "signal source restored");
        self.sink.record(Event::SourceRestored {
            source: SOURCE.to_owned(),
            down_ms,
            detail,
        });
        self.state = State::Up { signals, delivered };
        resync
    }
}

/// What the healer goes on with while the platform's signals are lost, for `SourceLost`.
pub(super) fn fallback(needs: &Needs, external: bool) -> String {
    let parts: Vec<&str> = [
        (needs.probe, "its own probes"),
        (needs.stats, "stats samples"),
        (!needs.scraped.is_empty(), "metrics scrapes"),
        (needs.logs, "the targets' logs"),
        (external, "alerts from outside"),
    ]
    .into_iter()
    .filter_map(|(on, what)| on.then_some(what))
    .collect();
    match parts.as_slice() {
        [] => "nothing: blind until the stream is back".to_owned(),
        parts => parts.join(", "),
    }
}

/// `SourceRestored`'s detail: the targets found stopped, and those new to the healer.
fn describe(resync: &Resync) -> String {
    let stopped: Vec<&str> = resync.stopped.iter().map(|t| t.name.as_str()).collect();
    let mut parts = Vec::new();
    if !stopped.is_empty() {
        parts.push(format!("found stopped while blind: {}", stopped.join(", ")));
    }
    if !resync.new.is_empty() {
        parts.push(format!("new while blind: {}", resync.new.join(", ")));
    }
    if parts.is_empty() {
        "no target stopped while blind".to_owned()
    } else {
        parts.join("; ")
    }
}

/// One attempt: a new stream, polled while the running targets are listed, then the known
/// targets (`known`, by name) that do not run looked up.
async fn attempt(
    platform: Arc<dyn Platform>,
    scope: Scope,
    known: BTreeSet<String>,
) -> Result<Reconnected, Failure> {
    let mut signals = platform.signals(&scope).fuse();
    let mut early = Vec::new();
    let mut listing = platform.targets(&scope);
    let running = loop {
        tokio::select! {
            biased;
            Some(item) = signals.next() => match item {
                Ok(signal) => early.push(Ok(signal)),
                Err(PlatformError::Connect { source }) => {
                    return Err(Failure::Again(source.to_string()));
                }
                Err(error) => return Err(Failure::Fatal(error)),
            },
            listed = &mut listing => {
                break listed.map_err(|error| Failure::Again(error.to_string()))?;
            }
        }
    };
    let running: Vec<TargetRef> = running
        .into_iter()
        .filter(|target| scope.contains(target))
        .collect();
    let new = running
        .iter()
        .map(|target| target.name.clone())
        .filter(|name| !known.contains(name))
        .collect();
    let mut stopped = Vec::new();
    for name in &known {
        if running.iter().any(|target| &target.name == name) {
            continue;
        }
        let found = platform.find_target(&scope, name).await;
        match found.map_err(|error| Failure::Again(error.to_string()))? {
            Some(target) => stopped.push(target),
            None => tracing::debug!(target_name = %name, "removed while the healer was blind"),
        }
    }
    Ok(Reconnected {
        delivered: !early.is_empty(),
        signals: stream::iter(early).chain(signals).boxed(),
        resync: Resync {
            running,
            stopped,
            new,
        },
    })
}

impl Triage<'_> {
    /// After a reconnect: the healer's sources watch every running target, and every known
    /// target found stopped is handled as if its death had been seen. One whose last incident
    /// failed is not held back by that incident's cooldown: it gets no other signal, and the
    /// failure most likely was the platform going away (a death seen while the daemon shuts
    /// down is healed in vain: the daemon no longer answers).
    pub(super) fn resync(&mut self, resync: Resync) {
        if let Some(sources) = &mut self.sources {
            resync
                .running
                .iter()
                .for_each(|target| sources.watch(target));
        }
        for target in resync.stopped {
            if let Some(state) = self.targets.get_mut(&target.name) {
                if state.last_failed {
                    state.cooldown_until = None;
                }
            }
            self.on_signal(Signal {
                target,
                kind: SignalKind::Died { exit_code: None },
                at: Instant::now(),
            });
        }
    }
}

#[cfg(test)]
mod tests;
