//! `wait`: sleep for `duration`, e.g. to let a target settle.

use std::fmt;
use std::time::Duration;

use super::ActionKind;
use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

#[derive(Debug, Clone)]
pub(crate) struct Wait(pub(crate) Duration);

/// The timeout of a step that waits `wait` and names none: a second more.
pub(super) fn timeout_after(wait: Duration) -> Duration {
    wait + Duration::from_secs(1)
}

impl ActionKind for Wait {
    const NAME: &'static str = "wait";
    const FIELDS: &'static [&'static str] = &["duration"];

    fn compile(step: &mut StepFields<'_>) -> Option<Self> {
        step.required_duration("duration").map(Wait)
    }

    fn default_timeout(compiled: Option<&Self>) -> Option<Duration> {
        compiled.map(|wait| timeout_after(wait.0))
    }

    async fn execute(&self, _: &Incident, _: &TargetRef, _: Duration) -> Result<(), String> {
        tokio::time::sleep(self.0).await;
        Ok(())
    }

    fn holds_permit(&self) -> bool {
        false
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wait {:?}", self.0)
    }
}
