//! `recreate`: remove the target and create it again from the same configuration; the
//! incident's later steps act on the new container.

use std::time::Duration;

use super::ActionKind;
use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

#[derive(Debug, Clone)]
pub(crate) struct Recreate;

impl ActionKind for Recreate {
    const NAME: &'static str = "recreate";

    fn compile(_: &mut StepFields<'_>) -> Option<Self> {
        Some(Recreate)
    }

    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<(), String> {
        incident
            .platform
            .recreate(target, timeout)
            .await
            .map(|new| incident.replace(new))
            .map_err(|e| e.to_string())
    }
}
