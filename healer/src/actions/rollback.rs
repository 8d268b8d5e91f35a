//! `rollback`: recreate the target from its previous image; the incident's later steps act on
//! the new container.

use std::time::Duration;

use super::ActionKind;
use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

#[derive(Debug, Clone)]
pub(crate) struct Rollback;

impl ActionKind for Rollback {
    const NAME: &'static str = "rollback";

    fn compile(_: &mut StepFields<'_>) -> Option<Self> {
        Some(Rollback)
    }

    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<(), String> {
        incident
            .platform
            .rollback(target, timeout)
            .await
            .map(|new| incident.replace(new))
            .map_err(|e| e.to_string())
    }
}
