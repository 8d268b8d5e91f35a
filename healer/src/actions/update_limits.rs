//! `update_limits`: change the target's memory and/or CPU limits in place.

use std::fmt;
use std::time::Duration;

use super::ActionKind;
use crate::incident::Incident;
use crate::platform::Limits;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

#[derive(Debug, Clone)]
pub(crate) struct UpdateLimits(pub(crate) Limits);

impl ActionKind for UpdateLimits {
    const NAME: &'static str = "update_limits";
    const FIELDS: &'static [&'static str] = &["memory", "cpus"];

    fn compile(step: &mut StepFields<'_>) -> Option<Self> {
        let memory = step.optional("memory", StepFields::size);
        let cpus = step.optional("cpus", |step, field, value| {
            step.number(field, value, 0.01..=1024.0)
        });
        if step.get("memory").is_none() && step.get("cpus").is_none() {
            let path = step.path();
            step.push(path, "`update_limits` needs `memory`, `cpus` or both");
        }
        Some(UpdateLimits(Limits {
            memory_bytes: memory?,
            cpus: cpus?,
        }))
    }

    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<(), String> {
        incident
            .platform
            .update_limits(target, self.0, timeout)
            .await
            .map_err(|e| e.to_string())
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::NAME)?;
        if let Some(bytes) = self.0.memory_bytes {
            write!(f, " memory {bytes}B")?;
        }
        if let Some(cpus) = self.0.cpus {
            write!(f, " cpus {cpus}")?;
        }
        Ok(())
    }
}
