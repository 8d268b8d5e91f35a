//! `anomaly: METRIC, z: Z`: a sample Z standard deviations above the baseline learned from the
//! first `warmup` (default 20) samples and every normal one since.

use std::fmt;
use std::num::NonZeroU32;

use specfile::Scalar;

use super::TriggerKind;
use crate::classify::Symptom;
use crate::detect::{on_metric, Detector, Verdict};
use crate::runbook::TriggerFields;
use crate::sources::Needs;

const DEFAULT_WARMUP: u32 = 20;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Anomaly {
    pub(crate) metric: String,
    pub(crate) z: f64,
    pub(crate) warmup: u32,
}

impl TriggerKind for Anomaly {
    const KEY: &'static str = "anomaly";
    const FIELDS: &'static [&'static str] = &["z", "warmup"];

    fn compile(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Self> {
        let z = when.required("z", |when, field, value| {
            when.number(field, value, 0.5..=100.0)
        });
        let warmup = when.optional("warmup", |when, field, value| when.nonzero(field, value));
        Some(Anomaly {
            metric: value.as_str().to_owned(),
            z: z?,
            warmup: warmup?.map_or(DEFAULT_WARMUP, NonZeroU32::get),
        })
    }

    fn detector(&self) -> Option<Box<dyn Detector>> {
        let mut detector = AnomalyDetector::new(self.z, self.warmup);
        Some(on_metric(&self.metric, move |value, _| {
            detector.observe(value)
        }))
    }

    fn needs(&self, needs: &mut Needs) {
        needs.metric(&self.metric);
    }

    fn symptom(&self) -> Symptom<'_> {
        Symptom::High(&self.metric)
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "anomaly: {}, z: {}", self.metric, self.z)
    }
}

/// A sample far above an exponentially weighted baseline (mean and variance), as a z-score.
/// Anomalous samples are not learned, so a fault does not become the new normal.
#[derive(Debug)]
pub(crate) struct AnomalyDetector {
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

impl AnomalyDetector {
    pub(crate) fn new(z: f64, warmup: u32) -> Self {
        AnomalyDetector {
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
