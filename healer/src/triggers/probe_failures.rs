//! `probe_failures: N`: N failed probes of the healer's own prober in a row.

use std::fmt;
use std::num::NonZeroU32;

use specfile::Scalar;
use tokio::time::Instant;

use super::TriggerKind;
use crate::classify::Symptom;
use crate::detect::{Detector, Verdict};
use crate::runbook::TriggerFields;
use crate::signal::SignalKind;
use crate::sources::Needs;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProbeFailures {
    pub(crate) count: NonZeroU32,
}

impl TriggerKind for ProbeFailures {
    const KEY: &'static str = "probe_failures";

    fn compile(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Self> {
        let field = when.field(Self::KEY);
        let count = when.nonzero(&field, value)?;
        Some(ProbeFailures { count })
    }

    fn detector(&self) -> Option<Box<dyn Detector>> {
        Some(Box::new(ConsecutiveFailures::new(self.count.get())))
    }

    fn needs(&self, needs: &mut Needs) {
        needs.probe = true;
    }

    fn symptom(&self) -> Symptom<'_> {
        Symptom::FailedProbes
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "probe_failures: {}", self.count)
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

impl Detector for ConsecutiveFailures {
    fn feed(&mut self, kind: &SignalKind, _at: Instant) -> Verdict {
        match kind {
            SignalKind::Probe { ok, .. } => self.observe(*ok),
            _ => Verdict::NotYet,
        }
    }
}
