//! Detection and runbook selection: which runbook's `when` a signal completes, and why.
//!
//! Event and alert triggers match one signal. The others make a [`Detector`] over a series of
//! samples of one target, kept per (target, runbook, trigger) in [`Detectors`]: N failed probes
//! in a row, a threshold held `for:` a duration, a trend that reaches a limit soon, an anomaly
//! against a learned baseline (each in its trigger's module of [`crate::triggers`]). A detector
//! short of data answers [`Verdict::NotYet`], never [`Verdict::Fine`]. A detector that fired
//! starts over, so one fault fires it once. A runbook's `fallback` triggers are fed like the
//! others but fire only while the healer's alert source is lost.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use tokio::time::Instant;

use crate::alert_source::AlertSourceStatus;
use crate::runbook::Runbook;
use crate::signal::SignalKind;
use crate::triggers::Trigger;

/// What a detector concludes from what it has seen so far.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// The fault is there; the text says what was seen.
    Firing(String),
    /// Enough data, and it looks healthy.
    Fine,
    /// Not enough data to say either.
    NotYet,
}

/// A fault worth an incident, and the runbook chosen to handle it.
#[derive(Debug)]
pub(crate) struct Detection {
    pub(crate) runbook: Arc<Runbook>,
    /// Why this runbook, for the journal's `RunbookSelected`.
    pub(crate) reason: String,
    /// The trigger of `runbook` that fired, for classification.
    pub(crate) trigger: Trigger,
}

/// The state of every stateful detector, per target.
#[derive(Debug, Default)]
pub(crate) struct Detectors {
    states: HashMap<(String, usize, usize), Box<dyn Detector>>,
    /// Whether the alert source is lost, which makes the runbooks' `fallback` triggers live.
    alert_source: AlertSourceStatus,
}

impl Detectors {
    /// Detectors whose runbooks' `fallback` triggers are live while `alert_source` is lost.
    pub(crate) fn new(alert_source: AlertSourceStatus) -> Detectors {
        Detectors {
            states: HashMap::new(),
            alert_source,
        }
    }

    /// Feeds `kind` (about the target with id `target`, seen at `at`) to every trigger; gives
    /// every runbook with a trigger that fires, in the order given (the engine ranks them). A
    /// `fallback` trigger is fed always, so its series is whole, but fires only while the alert
    /// source is lost.
    pub(crate) fn observe(
        &mut self,
        target: &str,
        kind: &SignalKind,
        at: Instant,
        runbooks: &[Arc<Runbook>],
    ) -> Vec<Detection> {
        let mut fired = Vec::new();
        let fallback_live = self.alert_source.is_lost();
        for (r, runbook) in runbooks.iter().enumerate() {
            let mut why: Option<(String, &Trigger)> = None;
            for (t, trigger) in runbook.triggers().enumerate() {
                let fallback = t >= runbook.when.len();
                let list = if fallback { "fallback" } else { "when" };
                let verdict = if trigger.matches(kind) {
                    Verdict::Firing(format!("`{list}: {trigger}` matches {kind}"))
                } else {
                    let detector = match self.states.entry((target.to_owned(), r, t)) {
                        Entry::Occupied(entry) => entry.into_mut(),
                        Entry::Vacant(entry) => match trigger.detector() {
                            Some(fresh) => entry.insert(fresh),
                            None => continue,
                        },
                    };
                    detector.feed(kind, at)
                };
                if fallback && !fallback_live {
                    continue;
                }
                if let (Verdict::Firing(reason), None) = (verdict, &why) {
                    let reason = if fallback {
                        format!("the alert source is lost, so `fallback` is live: {reason}")
                    } else {
                        reason
                    };
                    why = Some((reason, trigger));
                }
            }
            if let Some((reason, trigger)) = why {
                fired.push((runbook, reason, trigger));
            }
        }
        fired
            .into_iter()
            .map(|(runbook, reason, trigger)| Detection {
                runbook: Arc::clone(runbook),
                reason,
                trigger: trigger.clone(),
            })
            .collect()
    }
}

/// A detector over a series of one target's signals, as a trigger over a series makes it
/// ([`TriggerKind::detector`](crate::triggers::TriggerKind::detector)); its module says what
/// it watches.
pub(crate) trait Detector: fmt::Debug + Send {
    /// Feeds one signal seen at `at`; signals it does not watch leave it as it is
    /// ([`Verdict::NotYet`]).
    fn feed(&mut self, kind: &SignalKind, at: Instant) -> Verdict;
}

/// A detector of the samples of `metric`, each given to `observe` with the time it was seen.
pub(crate) fn on_metric(
    metric: &str,
    observe: impl FnMut(f64, Instant) -> Verdict + Send + 'static,
) -> Box<dyn Detector> {
    Box::new(OnMetric {
        metric: metric.to_owned(),
        observe,
    })
}

struct OnMetric<F> {
    metric: String,
    observe: F,
}

impl<F: FnMut(f64, Instant) -> Verdict + Send> Detector for OnMetric<F> {
    fn feed(&mut self, kind: &SignalKind, at: Instant) -> Verdict {
        match kind {
            SignalKind::Metric { name, value } if *name == self.metric => {
                (self.observe)(*value, at)
            }
            _ => Verdict::NotYet,
        }
    }
}

impl<F> fmt::Debug for OnMetric<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnMetric")
            .field("metric", &self.metric)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
