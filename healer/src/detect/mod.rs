//! Detection and runbook selection: which runbook's `when` a signal completes, and why.
//!
//! Event and alert triggers match one signal. The others are detectors over a series of
//! samples of one target, kept per (target, runbook, trigger) in [`Detectors`]: N failed probes
//! in a row, a threshold held `for:` a duration, a trend that reaches a limit soon, an anomaly
//! against a learned baseline. A detector short of data answers [`Verdict::NotYet`], never
//! [`Verdict::Fine`]. A detector that fired starts over, so one fault fires it once.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::runbook::{Runbook, Trigger};
use crate::signal::SignalKind;

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
    states: HashMap<(String, usize, usize), State>,
}

impl Detectors {
    /// Feeds `kind` (about the target with id `target`, seen at `at`) to every trigger; gives
    /// every runbook with a trigger that fires, in the order given (the engine ranks them).
    pub(crate) fn observe(
        &mut self,
        target: &str,
        kind: &SignalKind,
        at: Instant,
        runbooks: &[Arc<Runbook>],
    ) -> Vec<Detection> {
        let mut fired = Vec::new();
        for (r, runbook) in runbooks.iter().enumerate() {
            let mut why: Option<(String, &Trigger)> = None;
            for (t, trigger) in runbook.when.iter().enumerate() {
                let verdict = if trigger.matches(kind) {
                    Verdict::Firing(format!("`when: {trigger}` matches {kind}"))
                } else {
                    match State::for_trigger(trigger) {
                        None => continue,
                        Some(fresh) => {
                            let state = self
                                .states
                                .entry((target.to_owned(), r, t))
                                .or_insert(fresh);
                            state.observe(trigger, kind, at)
                        }
                    }
                };
                if let (Verdict::Firing(reason), None) = (verdict, &why) {
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

/// One stateful detector's memory.
#[derive(Debug)]
pub(crate) enum State {
    Probes(ConsecutiveFailures),
    Threshold(Threshold),
    Trend(Trend),
    Anomaly(Anomaly),
}

impl State {
    /// A fresh state for a trigger over a series, `None` for triggers that match one signal.
    fn for_trigger(trigger: &Trigger) -> Option<State> {
        Some(match trigger {
            Trigger::ProbeFailures { count } => {
                State::Probes(ConsecutiveFailures::new(count.get()))
            }
            Trigger::Threshold { above, hold, .. } => {
                State::Threshold(Threshold::new(*above, *hold))
            }
            Trigger::Trend {
                reaches,
                within,
                samples,
                ..
            } => State::Trend(Trend::new(*reaches, *within, *samples)),
            Trigger::Anomaly { z, warmup, .. } => State::Anomaly(Anomaly::new(*z, *warmup)),
            Trigger::Oom | Trigger::Died { .. } | Trigger::Unhealthy | Trigger::Alert { .. } => {
                return None
            }
        })
    }

    /// Feeds one signal; signals the detector does not watch leave it as it is.
    fn observe(&mut self, trigger: &Trigger, kind: &SignalKind, at: Instant) -> Verdict {
        let metric_of = |trigger: &Trigger| match trigger {
            Trigger::Threshold { metric, .. }
            | Trigger::Trend { metric, .. }
            | Trigger::Anomaly { metric, .. } => Some(metric.clone()),
            _ => None,
        };
        match (self, kind) {
            (State::Probes(d), SignalKind::Probe { ok, .. }) => d.observe(*ok),
            (state, SignalKind::Metric { name, value })
                if metric_of(trigger).as_ref() == Some(name) =>
            {
                match state {
                    State::Threshold(d) => d.observe(*value, at),
                    State::Trend(d) => d.observe(*value, at),
                    State::Anomaly(d) => d.observe(*value),
                    State::Probes(_) => Verdict::NotYet,
                }
            }
            _ => Verdict::NotYet,
        }
    }
}

/// N failed probes in a row.
#[derive(Debug)]
pub(crate) struct ConsecutiveFailures {
    needed: u32,
    streak: u32,
}

impl ConsecutiveFailures {
    pub(crate) fn new(needed: u32) -> Self {
        ConsecutiveFailures { needed, streak: 0 }
    }

    pub(crate) fn observe(&mut self, ok: bool) -> Verdict {
        if ok {
            self.streak = 0;
            return Verdict::Fine;
        }
        self.streak += 1;
        if self.streak >= self.needed {
            self.streak = 0;
            return Verdict::Firing(format!("{} failed probes in a row", self.needed));
        }
        Verdict::NotYet
    }
}

/// Every sample above a limit for at least a duration.
#[derive(Debug)]
pub(crate) struct Threshold {
    above: f64,
    hold: Duration,
    since: Option<Instant>,
}

impl Threshold {
    pub(crate) fn new(above: f64, hold: Duration) -> Self {
        Threshold {
            above,
            hold,
            since: None,
        }
    }

    pub(crate) fn observe(&mut self, value: f64, at: Instant) -> Verdict {
        if value <= self.above {
            self.since = None;
            return Verdict::Fine;
        }
        let since = *self.since.get_or_insert(at);
        let held = at.duration_since(since);
        if held >= self.hold {
            self.since = None;
            return Verdict::Firing(format!("above {} for {held:?} (last {value})", self.above));
        }
        Verdict::NotYet
    }
}

/// The least-squares line through the last samples reaches a limit within a horizon.
#[derive(Debug)]
pub(crate) struct Trend {
    reaches: f64,
    within: Duration,
    capacity: usize,
    samples: VecDeque<(Instant, f64)>,
}

impl Trend {
    pub(crate) fn new(reaches: f64, within: Duration, capacity: usize) -> Self {
        Trend {
            reaches,
            within,
            capacity,
            samples: VecDeque::with_capacity(capacity),
        }
    }

    pub(crate) fn observe(&mut self, value: f64, at: Instant) -> Verdict {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back((at, value));
        if value >= self.reaches {
            self.samples.clear();
            return Verdict::Firing(format!("at {value}, the limit {} already", self.reaches));
        }
        if self.samples.len() < self.capacity {
            return Verdict::NotYet;
        }
        let Some(first) = self.samples.front().map(|(t, _)| *t) else {
            return Verdict::NotYet;
        };
        let points: Vec<(f64, f64)> = self
            .samples
            .iter()
            .map(|(t, v)| (t.duration_since(first).as_secs_f64(), *v))
            .collect();
        let Some((slope, intercept)) = least_squares(&points) else {
            return Verdict::NotYet;
        };
        if slope <= 0.0 {
            return Verdict::Fine;
        }
        let now = at.duration_since(first).as_secs_f64();
        let fitted_now = slope * now + intercept;
        let eta = ((self.reaches - fitted_now) / slope).max(0.0);
        if eta <= self.within.as_secs_f64() {
            self.samples.clear();
            return Verdict::Firing(format!(
                "rising {slope:.3}/s: reaches {} in {eta:.1}s",
                self.reaches
            ));
        }
        Verdict::Fine
    }
}

/// Slope and intercept of the least-squares line through `points`; `None` when all x are equal.
fn least_squares(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    if sxx <= f64::EPSILON {
        return None;
    }
    let slope = sxy / sxx;
    Some((slope, mean_y - slope * mean_x))
}

/// A sample far above an exponentially weighted baseline (mean and variance), as a z-score.
/// Anomalous samples are not learned, so a fault does not become the new normal.
#[derive(Debug)]
pub(crate) struct Anomaly {
    z: f64,
    warmup: u32,
    seen: u32,
    mean: f64,
    variance: f64,
}

/// Weight of a new sample in the baseline.
const EWMA_ALPHA: f64 = 0.1;
/// The least standard deviation assumed, so a perfectly flat baseline does not fire on noise.
const MIN_STD_FRACTION: f64 = 0.01;

impl Anomaly {
    pub(crate) fn new(z: f64, warmup: u32) -> Self {
        Anomaly {
            z,
            warmup,
            seen: 0,
            mean: 0.0,
            variance: 0.0,
        }
    }

    pub(crate) fn observe(&mut self, value: f64) -> Verdict {
        if self.seen < self.warmup {
            self.learn(value);
            return Verdict::NotYet;
        }
        let std = self
            .variance
            .sqrt()
            .max(self.mean.abs() * MIN_STD_FRACTION)
            .max(f64::EPSILON);
        let z = (value - self.mean) / std;
        if z > self.z {
            return Verdict::Firing(format!(
                "{value} is {z:.1} standard deviations above the baseline {:.3}",
                self.mean
            ));
        }
        self.learn(value);
        Verdict::Fine
    }

    fn learn(&mut self, value: f64) {
        self.seen += 1;
        if self.seen == 1 {
            self.mean = value;
            return;
        }
        let diff = value - self.mean;
        let increment = EWMA_ALPHA * diff;
        self.mean += increment;
        self.variance = (1.0 - EWMA_ALPHA) * (self.variance + diff * increment);
    }
}

#[cfg(test)]
mod tests;
