//! The healer's alert source: the parts of the alerting pipeline its alerts come through
//! (Prometheus evaluating the rules, Alertmanager delivering the webhook), each named with a
//! URL whose 2xx answer says it works. While a part does not answer no alert can arrive, and a
//! runbook waiting for one would never act, silently. So each part is asked every second (each
//! check given 500 ms); after 2 failed checks in a row it is lost: a `SourceLost` record says
//! which, why, and what the healer goes on with (the runbooks' `fallback` triggers, live while
//! any part is lost), and a `SourceRestored` record says when it answers again, and after how
//! long.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use journal::{Event, Sink};
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use crate::runbook::Runbook;
use crate::triggers::Trigger;

/// Where the healer's alerts come from, for [`Healer::with_alert_source`](crate::Healer::with_alert_source):
/// its parts, and how they are checked.
#[derive(Debug, Clone)]
pub struct AlertSource {
    parts: Vec<Part>,
    interval: Duration,
    timeout: Duration,
    lost_after: NonZeroU32,
}

/// One part of an alert source.
#[derive(Debug, Clone)]
struct Part {
    /// As the journal names it (`source`).
    name: String,
    health_url: String,
}

impl Default for AlertSource {
    fn default() -> Self {
        AlertSource {
            parts: Vec::new(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            // 2: one failed check may be a blip.
            lost_after: NonZeroU32::MIN.saturating_add(1),
        }
    }
}

impl AlertSource {
    /// No parts yet; each checked every second, each check given 500 ms, lost after 2 failed
    /// checks in a row.
    pub fn new() -> AlertSource {
        AlertSource::default()
    }

    /// Adds a part: `name` as the journal names it (`prometheus`, `alertmanager`), and the URL
    /// whose 2xx answer says it works (Prometheus's `/-/ready`, Alertmanager's `/-/healthy`).
    pub fn part(mut self, name: impl Into<String>, health_url: impl Into<String>) -> AlertSource {
        self.parts.push(Part {
            name: name.into(),
            health_url: health_url.into(),
        });
        self
    }

    /// Checks each part every `interval`, each check given `timeout` (default 1 s and 500 ms).
    pub fn checked_every(mut self, interval: Duration, timeout: Duration) -> AlertSource {
        self.interval = interval;
        self.timeout = timeout;
        self
    }

    /// A part is lost after `failures` failed checks in a row (default 2).
    pub fn lost_after(mut self, failures: NonZeroU32) -> AlertSource {
        self.lost_after = failures;
        self
    }
}

/// Whether some part of the alert source is lost, shared by its checks and the detectors.
/// The default is never lost: a healer without an alert source never uses its fallbacks.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlertSourceStatus {
    /// How many parts are lost.
    lost: Arc<AtomicUsize>,
}

impl AlertSourceStatus {
    /// Whether any part is lost, so the runbooks' `fallback` triggers are live.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst) > 0
    }

    /// One more part is lost.
    pub(crate) fn part_lost(&self) {
        self.lost.fetch_add(1, Ordering::SeqCst);
    }

    /// A lost part answers again.
    pub(crate) fn part_restored(&self) {
        self.lost.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The running checks of an alert source; dropping it stops them.
pub(crate) struct AlertWatch {
    status: AlertSourceStatus,
    _checks: JoinSet<()>,
}

impl AlertWatch {
    /// Starts checking every part of `source`, if there is one, journalling to `sink`; the
    /// `SourceLost` records name what `runbooks` fall back on.
    pub(crate) fn start(
        source: Option<&AlertSource>,
        runbooks: &[Arc<Runbook>],
        client: &reqwest::Client,
        sink: &Arc<dyn Sink>,
    ) -> AlertWatch {
        let status = AlertSourceStatus::default();
        let mut checks = JoinSet::new();
        if let Some(source) = source {
            let fallback: Arc<str> = fallback_of(runbooks).into();
            for part in &source.parts {
                checks.spawn(watch(Watched {
                    part: part.clone(),
                    interval: source.interval,
                    timeout: source.timeout,
                    lost_after: source.lost_after.get(),
                    client: client.clone(),
                    sink: Arc::clone(sink),
                    status: status.clone(),
                    fallback: Arc::clone(&fallback),
                }));
            }
        }
        AlertWatch {
            status,
            _checks: checks,
        }
    }

    /// Whether the source is lost, as its checks find.
    pub(crate) fn status(&self) -> AlertSourceStatus {
        self.status.clone()
    }
}

/// What the healer goes on with while its alert source is lost: each runbook with an `alert`
/// trigger, with the `fallback` triggers it acts on meanwhile, or that it has none.
pub(crate) fn fallback_of(runbooks: &[Arc<Runbook>]) -> String {
    let mut used = Vec::new();
    let mut waiting = Vec::new();
    let on_alerts = runbooks.iter().filter(|runbook| {
        runbook
            .when
            .iter()
            .any(|trigger| matches!(trigger, Trigger::Alert(_)))
    });
    for runbook in on_alerts {
        if runbook.fallback.is_empty() {
            waiting.push(runbook.name.as_str());
            continue;
        }
        let on: Vec<String> = runbook.fallback.iter().map(|t| format!("`{t}`")).collect();
        used.push(format!("runbook {} on {}", runbook.name, on.join(" or ")));
    }
    if !waiting.is_empty() {
        used.push(format!(
            "no fallback for {}: it waits for alerts",
            waiting.join(", ")
        ));
    }
    if used.is_empty() {
        return "none needed: no runbook acts on alerts".to_owned();
    }
    used.join("; ")
}

/// One part's checks, and what they share with the others.
struct Watched {
    part: Part,
    interval: Duration,
    timeout: Duration,
    lost_after: u32,
    client: reqwest::Client,
    sink: Arc<dyn Sink>,
    status: AlertSourceStatus,
    fallback: Arc<str>,
}

/// Checks one part every interval, forever: lost after `lost_after` failures in a row, restored
/// by the first good answer after that.
async fn watch(w: Watched) {
    let mut ticks = tokio::time::interval(w.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let Part { name, health_url } = &w.part;
    let mut failures: u32 = 0;
    let mut lost_since: Option<Instant> = None;
    loop {
        ticks.tick().await;
        match check(&w.client, health_url, w.timeout).await {
            Ok(()) => {
                failures = 0;
                let Some(since) = lost_since.take() else {
                    continue;
                };
                w.status.part_restored();
                let down = since.elapsed();
                tracing::info!(source = %name, ?down, "alert source answers again");
                w.sink.record(Event::SourceRestored {
                    source: name.clone(),
                    down_ms: crate::incident::millis(down),
                    detail: format!("{health_url} answers again: alerts can arrive"),
                });
            }
            Err(why) => {
                failures = failures.saturating_add(1);
                if failures < w.lost_after || lost_since.is_some() {
                    continue;
                }
                lost_since = Some(Instant::now());
                w.status.part_lost();
                let detail = format!(
                    "{health_url}: {why} ({failures} failed checks in a row): no alert can arrive"
                );
                tracing::warn!(source = %name, %detail, fallback = %w.fallback, "alert source lost");
                w.sink.record(Event::SourceLost {
                    source: name.clone(),
                    detail,
                    fallback: w.fallback.to_string(),
                });
            }
        }
    }
}

/// Whether `url` answers 2xx within `timeout`; else what it did.
async fn check(client: &reqwest::Client, url: &str, timeout: Duration) -> Result<(), String> {
    match client.get(url).timeout(timeout).send().await {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(answer) => Err(format!("answered {}", answer.status())),
        Err(error) if error.is_timeout() => Err(format!("no answer within {timeout:?}")),
        Err(error) if error.is_connect() => Err(format!("cannot connect: {}", innermost(&error))),
        Err(error) => Err(innermost(&error)),
    }
}

/// The deepest cause of `error` ("Connection refused (os error 111)"), which says most.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(deeper) = cause.source() {
        cause = deeper;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests;
