//! `stop`: stop the target, SIGKILL coming `grace` after its stop signal (at once when zero).

use std::time::Duration;

use super::restart::DEFAULT_GRACE;
use super::ActionKind;
use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

/// Records name it without its grace, like [`super::restart::Restart`].
#[derive(Debug, Clone)]
pub(crate) struct Stop {
    pub(crate) grace: Duration,
}

impl ActionKind for Stop {
    const NAME: &'static str = "stop";
    const FIELDS: &'static [&'static str] = &["grace"];

    fn compile(step: &mut StepFields<'_>) -> Option<Self> {
        step.duration_or("grace", DEFAULT_GRACE)
            .map(|grace| Stop { grace })
    }

    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<(), String> {
        incident
            .platform
            .stop(target, self.grace, timeout)
            .await
            .map_err(|e| e.to_string())
    }
}
