//! `unpause`: resume a paused (frozen) target, e.g. one `docker pause`d: its processes go on
//! where they stopped, with their state, much sooner than a restart would bring it back.

use std::time::Duration;

use super::ActionKind;
use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

#[derive(Debug, Clone)]
pub(crate) struct Unpause;

impl ActionKind for Unpause {
    const NAME: &'static str = "unpause";

    fn compile(_: &mut StepFields<'_>) -> Option<Self> {
        Some(Unpause)
    }

    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<(), String> {
        incident
            .platform
            .unpause(target, timeout)
            .await
            .map_err(|e| e.to_string())
    }
}
