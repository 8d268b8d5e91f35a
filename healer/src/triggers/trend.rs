//! `trend: METRIC, reaches: X, within: D`: the least-squares line through the last `samples`
//! (default 5) samples reaches X within D.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use specfile::Scalar;
use tokio::time::Instant;

use super::TriggerKind;
use crate::classify::Symptom;
use crate::detect::{on_metric, Detector, Verdict};
use crate::runbook::TriggerFields;
use crate::sources::Needs;

const DEFAULT_SAMPLES: usize = 5;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trend {
    pub(crate) metric: String,
    pub(crate) reaches: f64,
    pub(crate) within: Duration,
    pub(crate) samples: usize,
}

impl TriggerKind for Trend {
    const KEY: &'static str = "trend";
    const FIELDS: &'static [&'static str] = &["reaches", "within", "samples"];

    fn compile(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Self> {
        let reaches = when.required("reaches", |when, field, value| {
            when.whole::<f64>(field, value, "a number")
        });
        let within = when.required_duration("within");
        let samples = when.optional("samples", |when, field, value| {
            let n = when.whole::<usize>(field, value, "a whole number")?;
            if n < 3 {
                when.push(field, "a trend needs at least 3 samples");
                return None;
            }
            Some(n)
        });
        Some(Trend {
            metric: value.as_str().to_owned(),
            reaches: reaches?,
            within: within?,
            samples: samples?.unwrap_or(DEFAULT_SAMPLES),
        })
    }

    fn detector(&self) -> Option<Box<dyn Detector>> {
        let mut detector = TrendDetector::new(self.reaches, self.within, self.samples);
        Some(on_metric(&self.metric, move |value, at| {
            detector.observe(value, at)
        }))
    }

    fn needs(&self, needs: &mut Needs) {
        needs.metric(&self.metric);
    }

    fn symptom(&self) -> Symptom<'_> {
        Symptom::Rising(&self.metric)
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "trend: {}, reaches: {}, within: {:?}",
            self.metric, self.reaches, self.within
        )
    }
}

/// The least-squares line through the last samples reaches a limit within a horizon.
#[derive(Debug)]
pub(crate) struct TrendDetector {
    reaches: f64,
    within: Duration,
    capacity: usize,
    samples: VecDeque<(Instant, f64)>,
}

impl TrendDetector {
    pub(crate) fn new(reaches: f64, within: Duration, capacity: usize) -> Self {
        TrendDetector {
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
