//! `threshold: METRIC, above: X, for: D`: every sample above X for at least D (default 0s).

use std::fmt;
use std::time::Duration;

use specfile::Scalar;
use tokio::time::Instant;

use super::TriggerKind;
use crate::classify::Symptom;
use crate::detect::{on_metric, Detector, Verdict};
use crate::runbook::TriggerFields;
use crate::sources::{Needs, PROBE_LATENCY_METRIC};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Threshold {
    pub(crate) metric: String,
    pub(crate) above: f64,
    pub(crate) hold: Duration,
}

impl TriggerKind for Threshold {
    const KEY: &'static str = "threshold";
    const FIELDS: &'static [&'static str] = &["above", "for"];

    fn compile(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Self> {
        let above = when.required("above", |when, field, value| {
            when.whole::<f64>(field, value, "a number")
        });
        let hold = when.duration_or("for", Duration::ZERO);
        Some(Threshold {
            metric: value.as_str().to_owned(),
            above: above?,
            hold: hold?,
        })
    }

    fn detector(&self) -> Option<Box<dyn Detector>> {
        let mut detector = ThresholdDetector::new(self.above, self.hold);
        Some(on_metric(&self.metric, move |value, at| {
            detector.observe(value, at)
        }))
    }

    /// A threshold on the probe latency also says from when on a probe is slow.
    fn needs(&self, needs: &mut Needs) {
        needs.metric(&self.metric);
        if self.metric == PROBE_LATENCY_METRIC {
            let slow = Duration::try_from_secs_f64(self.above / 1000.0).unwrap_or_default();
            needs.probe_slow = Some(needs.probe_slow.map_or(slow, |s| s.min(slow)));
        }
    }

    fn symptom(&self) -> Symptom<'_> {
        Symptom::High(&self.metric)
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "threshold: {}, above: {}, for: {:?}",
            self.metric, self.above, self.hold
        )
    }
}

/// Every sample above a limit for at least a duration.
#[derive(Debug)]
pub(crate) struct ThresholdDetector {
    above: f64,
    hold: Duration,
    since: Option<Instant>,
}

impl ThresholdDetector {
    pub(crate) fn new(above: f64, hold: Duration) -> Self {
        ThresholdDetector {
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
