//! Starting an incident whose runbook was selected (by the rules or on the advisor's answer):
//! the target's cooldown and action count, and the incident's task.

use std::sync::Arc;

use tokio::time::Instant;

use super::{Open, Triage};
use crate::incident::Incident;
use crate::runbook::Runbook;
use crate::signal::TargetRef;

/// An incident to start, its runbook selected.
pub(super) struct Start {
    pub(super) target: TargetRef,
    /// The fingerprint of the alert that opened it, if one did.
    pub(super) alert: Option<String>,
    pub(super) incident: String,
    pub(super) runbook: Arc<Runbook>,
    pub(super) class: String,
    pub(super) confidence: f64,
    pub(super) excerpt: Vec<String>,
    pub(super) at: Instant,
}

impl Triage<'_> {
    /// Opens `start.incident` on its target with a runbook already selected (and recorded):
    /// the cooldown after it, one more remediation against the action limit, the task.
    pub(super) fn start(&mut self, start: Start) {
        let Start {
            target,
            alert,
            incident,
            runbook,
            class,
            confidence,
            excerpt,
            at,
        } = start;
        let state = self.targets.entry(target.name.clone()).or_default();
        state.open = Some(incident.clone());
        state.cooldown = runbook.cooldown;
        state.remediations.push_back(at);
        let task = Incident {
            id: incident.clone(),
            target: target.clone(),
            current: std::sync::Mutex::new(target.clone()),
            runbook: Arc::clone(&runbook),
            health_path: self.healer.sources.probe_path.clone(),
            confidence,
            excerpt,
            platform: Arc::clone(&self.healer.platform),
            rotation: self.healer.rotation.clone(),
            drained: std::sync::Mutex::new(None),
            sink: Arc::clone(&self.healer.sink),
            client: self.client.clone(),
            guardrails: self.healer.guardrails.clone(),
            approvals: self.healer.approvals.clone(),
            permits: Arc::clone(&self.permits),
        };
        let handle = self.incidents.spawn(task.handle());
        if let Some(fingerprint) = alert {
            self.alert_incidents.insert(fingerprint, handle.id());
        }
        self.open.insert(
            handle.id(),
            Open {
                target_key: target.name.clone(),
                target_name: target.name,
                incident,
                class,
                runbook: runbook.name.clone(),
                started: at,
                abort: handle,
            },
        );
    }
}
