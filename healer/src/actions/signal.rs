//! `signal`: send a Unix signal (`SIGHUP`…) to the target's main process.

use std::fmt;
use std::time::Duration;

use super::ActionKind;
use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

#[derive(Debug, Clone)]
pub(crate) struct Signal(pub(crate) String);

impl ActionKind for Signal {
    const NAME: &'static str = "signal";
    const FIELDS: &'static [&'static str] = &["signal"];

    fn compile(step: &mut StepFields<'_>) -> Option<Self> {
        step.required("signal", |step, field, value| {
            let name = value.as_str();
            if name.starts_with("SIG")
                && name.len() > 3
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
            {
                Some(Signal(name.to_owned()))
            } else {
                step.push(
                    field,
                    format!("expected a signal name such as SIGHUP, got `{name}`"),
                );
                None
            }
        })
    }

    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<(), String> {
        incident
            .platform
            .send_signal(target, &self.0, timeout)
            .await
            .map_err(|e| e.to_string())
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signal {}", self.0)
    }
}
