//! `drain`: take the target out of the load balancer's rotation (see [`crate::rotation`]) and
//! wait, at most `duration`, for its requests in flight; the incident puts it back when it ends.

use std::sync::PoisonError;
use std::time::Duration;

use super::wait::timeout_after;
use super::ActionKind;
use crate::incident::Incident;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

/// The longest wait for the requests in flight, unless the step sets `duration`.
const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// Records name it without its wait.
#[derive(Debug, Clone)]
pub(crate) struct Drain {
    pub(crate) wait: Duration,
}

impl ActionKind for Drain {
    const NAME: &'static str = "drain";
    const FIELDS: &'static [&'static str] = &["duration"];

    fn compile(step: &mut StepFields<'_>) -> Option<Self> {
        step.duration_or("duration", DEFAULT_WAIT)
            .map(|wait| Drain { wait })
    }

    fn default_timeout(compiled: Option<&Self>) -> Option<Duration> {
        compiled.map(|drain| timeout_after(drain.wait))
    }

    /// Without a rotation, or for a target not behind the balancer, there is nothing to drain:
    /// that is no failure.
    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        _: Duration,
    ) -> Result<(), String> {
        let Some(rotation) = &incident.rotation else {
            tracing::info!(incident = %incident.id, "no balancer rotation configured: nothing to drain");
            return Ok(());
        };
        let addresses = incident
            .platform
            .addresses(target)
            .await
            .map_err(|e| e.to_string())?;
        let drained = rotation.drain(&addresses, self.wait).await?;
        if drained.servers.is_empty() {
            tracing::info!(incident = %incident.id, ?addresses, "not behind the balancer: nothing to drain");
            return Ok(());
        }
        tracing::info!(incident = %incident.id, servers = ?drained.servers, in_flight = drained.in_flight, "drained");
        *incident
            .drained
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(drained);
        Ok(())
    }
}
