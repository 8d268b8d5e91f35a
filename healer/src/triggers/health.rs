//! `health: unhealthy`: the container's own health check reports it unhealthy.

use std::fmt;

use specfile::Scalar;

use super::TriggerKind;
use crate::classify::Symptom;
use crate::runbook::TriggerFields;
use crate::signal::SignalKind;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unhealthy;

impl TriggerKind for Unhealthy {
    const KEY: &'static str = "health";

    fn compile(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Self> {
        match value.as_str() {
            "unhealthy" => Some(Unhealthy),
            other => {
                let field = when.field(Self::KEY);
                when.bad_choice(&field, other, &["unhealthy"])
            }
        }
    }

    fn matches(&self, kind: &SignalKind) -> bool {
        matches!(kind, SignalKind::Health { healthy: false })
    }

    fn symptom(&self) -> Symptom<'_> {
        Symptom::Unhealthy
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("health: unhealthy")
    }
}
