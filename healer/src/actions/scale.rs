//! `scale`: change the number of replicas, to `replicas` or `by` +N / -N.

use std::fmt;
use std::time::Duration;

use super::ActionKind;
use crate::incident::Incident;
use crate::platform;
use crate::runbook::StepFields;
use crate::signal::TargetRef;

#[derive(Debug, Clone)]
pub(crate) struct Scale(pub(crate) platform::Scale);

impl ActionKind for Scale {
    const NAME: &'static str = "scale";
    const FIELDS: &'static [&'static str] = &["replicas", "by"];

    fn compile(step: &mut StepFields<'_>) -> Option<Self> {
        match (step.get("replicas"), step.get("by")) {
            (Some(n), None) => {
                let field = step.field("replicas");
                step.whole::<u32>(&field, n, "a whole number of replicas")
                    .map(|n| Scale(platform::Scale::To(n)))
            }
            (None, Some(by)) => {
                let field = step.field("by");
                step.whole::<i32>(&field, by, "a whole number such as +1 or -1")
                    .map(|by| Scale(platform::Scale::By(by)))
            }
            _ => {
                let path = step.path();
                step.push(
                    path,
                    "`scale` takes exactly one of `replicas` (how many) and `by` (+N or -N)",
                );
                None
            }
        }
    }

    async fn execute(
        &self,
        incident: &Incident,
        target: &TargetRef,
        timeout: Duration,
    ) -> Result<(), String> {
        incident
            .platform
            .scale(target, self.0, timeout)
            .await
            .map(|replicas| {
                tracing::info!(incident = %incident.id, replicas, "scaled");
            })
            .map_err(|e| e.to_string())
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            platform::Scale::To(n) => write!(f, "scale to {n}"),
            platform::Scale::By(by) => write!(f, "scale by {by:+}"),
        }
    }
}
