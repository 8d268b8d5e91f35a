//! `restart`: start the target; one that runs is stopped first, SIGKILL coming `grace` after
//! its stop signal (at once when zero).

use std::time::Duration;

use super::ActionKind;
use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

/// From the stop signal to SIGKILL, unless the step sets `grace` (`restart` and `stop`).
pub(super) const DEFAULT_GRACE: Duration = Duration::from_secs(1);

/// Records name it without its grace: journal records and reports name actions by kind.
#[derive(Debug, Clone)]
pub(crate) struct Restart {
    pub(crate) grace: Duration,
}

impl ActionKind for Restart {
    const NAME: &'static str = "restart";
    const FIELDS: &'static [&'static str] = &["grace"];

    fn compile(step: &mut StepFields<'_>) -> Option<Self> {
        step.duration_or("grace", DEFAULT_GRACE)
            .map(|grace| Restart { grace })
    }

    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<(), String> {
        incident
            .platform
            .restart(target, self.grace, timeout)
            .await
            .map_err(|e| e.to_string())
    }
}
