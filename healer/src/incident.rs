//! One incident, start to end: run the runbook's steps, verify, and escalate on failure.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use journal::{Event, Sink};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::guardrails::{ApprovalHandle, Guardrails};
use crate::platform::Platform;
use crate::rotation::{Drained, Rotation};
use crate::runbook::{Runbook, Step};
use crate::signal::TargetRef;
use crate::template;
use crate::verify;

/// Wait before the first retry of a failed step; doubles for each further retry.
const FIRST_RETRY_BACKOFF: Duration = Duration::from_millis(250);

/// Everything an incident task needs; it owns its copies so it can run concurrently.
pub(crate) struct Incident {
    pub(crate) id: String,
    /// The target as the incident began; it names the target in records.
    pub(crate) target: TargetRef,
    /// The target now (a new container after `recreate` or `rollback`).
    pub(crate) current: Mutex<TargetRef>,
    pub(crate) runbook: Arc<Runbook>,
    /// The path verification asks when neither the runbook nor the target names one.
    pub(crate) health_path: String,
    /// The classification's confidence; below the guardrail's threshold: notify only.
    pub(crate) confidence: f64,
    /// The target's last log lines when the incident opened, redacted (empty when its logs
    /// are not followed); `{{excerpt}}` in a step's template.
    pub(crate) excerpt: Vec<String>,
    pub(crate) platform: Arc<dyn Platform>,
    /// The load balancer's rotation a `drain` step takes the target out of, if there is one.
    pub(crate) rotation: Option<Arc<dyn Rotation>>,
    /// What a `drain` step took out; put back when the incident ends.
    pub(crate) drained: Mutex<Option<Drained>>,
    pub(crate) sink: Arc<dyn Sink>,
    pub(crate) client: reqwest::Client,
    pub(crate) guardrails: Arc<Guardrails>,
    pub(crate) approvals: ApprovalHandle,
    /// One permit per action running at once, across incidents.
    pub(crate) permits: Arc<Semaphore>,
}

impl Incident {
    /// Runs the steps, then verification; records each decision; escalates on failure; puts
    /// back in rotation what a `drain` step took out. Gives whether the remediation worked, or
    /// `None` when the guardrails kept it from acting (dry run, low confidence, no approval):
    /// nothing to learn from.
    pub(crate) async fn handle(self) -> Option<bool> {
        let outcome = self.remediate().await;
        self.rejoin().await;
        outcome
    }

    async fn remediate(&self) -> Option<bool> {
        if self.guardrails.dry_run {
            for step in &self.runbook.steps {
                self.skip(step, "dry run: decided, not done".to_owned());
            }
            return None;
        }
        if self.confidence < self.guardrails.min_confidence {
            let why = format!(
                "confidence {:.2} is below {:.2}: notify only",
                self.confidence, self.guardrails.min_confidence
            );
            for step in &self.runbook.steps {
                if step.action.only_notifies() {
                    // A failed notification is recorded by run_step; the escalation follows anyway.
                    let _ = self.run_step(step).await;
                } else {
                    self.skip(step, why.clone());
                }
            }
            self.escalate(format!("{why}; touched nothing"));
            return None;
        }
        if let Some(timeout) = self.guardrails.approval_timeout {
            if !self.approved(timeout).await {
                self.escalate(format!("no approval within {timeout:?}; touched nothing"));
                return None;
            }
        }
        for step in &self.runbook.steps {
            if let Err(reason) = self.run_step(step).await {
                self.escalate(reason);
                return Some(false);
            }
        }
        let check = &self.runbook.verify;
        let target = self.live();
        let path = verify::path(check, &target, &self.health_path);
        let outcome =
            verify::verify(self.platform.as_ref(), &self.client, &target, check, &path).await;
        self.sink.record(Event::Verified {
            target: self.target.name.clone(),
            incident: self.id.clone(),
            runbook: self.runbook.name.clone(),
            ok: outcome.ok,
            attempts: outcome.attempts,
            duration_ms: millis(outcome.elapsed),
        });
        if outcome.ok {
            tracing::info!(incident = %self.id, attempts = outcome.attempts, "verified");
            Some(true)
        } else {
            self.escalate(format!(
                "verification failed: no {} healthy answer(s) in a row from {} within {:?} \
                 ({} probes; last error: {})",
                check.consecutive,
                path,
                check.within,
                outcome.attempts,
                outcome.last_error.as_deref().unwrap_or("none"),
            ));
            Some(false)
        }
    }

    /// Puts the drained servers back in rotation, recorded as a `rejoin` action; a failure is
    /// escalated (the balancer would otherwise keep a healthy server out).
    async fn rejoin(&self) {
        let drained = self
            .drained
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let (Some(drained), Some(rotation)) = (drained, &self.rotation) else {
            return;
        };
        self.action_started("rejoin");
        let started = Instant::now();
        let result = rotation.restore(&drained).await;
        self.action_finished("rejoin", &result, started.elapsed());
        if let Err(error) = result {
            self.escalate(format!(
                "could not put {:?} back in rotation: {error}",
                drained.servers
            ));
        }
    }

    /// The target as it is now: recreate and rollback replace the container.
    fn live(&self) -> TargetRef {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes `new` the target later steps and verification act on.
    pub(crate) fn replace(&self, new: TargetRef) {
        tracing::info!(incident = %self.id, old = %self.live().id, new = %new.id, "target replaced");
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = new;
    }

    /// Waits for an approval of this incident, at most `timeout`.
    async fn approved(&self, timeout: Duration) -> bool {
        self.sink.record(Event::AwaitingApproval {
            target: self.target.name.clone(),
            incident: self.id.clone(),
            runbook: self.runbook.name.clone(),
            timeout_ms: millis(timeout),
        });
        let approval = self.approvals.wait_for(&self.id);
        let approved = matches!(tokio::time::timeout(timeout, approval).await, Ok(Ok(())));
        self.approvals.forget(&self.id);
        if approved {
            self.sink.record(Event::Approved {
                target: self.target.name.clone(),
                incident: self.id.clone(),
            });
        }
        approved
    }

    fn skip(&self, step: &Step, reason: String) {
        tracing::info!(incident = %self.id, action = %step.action, %reason, "action skipped");
        self.sink.record(Event::ActionSkipped {
            target: self.target.name.clone(),
            incident: self.id.clone(),
            runbook: self.runbook.name.clone(),
            action: step.action.to_string(),
            reason,
        });
    }

    /// Runs one step, retrying with backoff; `Err` carries the escalation reason.
    async fn run_step(&self, step: &Step) -> Result<(), String> {
        let attempts = step.retries.saturating_add(1);
        let mut backoff = FIRST_RETRY_BACKOFF;
        let mut attempt = 1;
        loop {
            let action = step.action.to_string();
            self.action_started(&action);
            let started = Instant::now();
            let result = self.execute_within_limit(step).await;
            self.action_finished(&action, &result, started.elapsed());
            match result {
                Ok(()) => return Ok(()),
                Err(error) if attempt == attempts => {
                    return Err(format!(
                        "{} failed {attempts} time(s); last error: {error}",
                        step.action
                    ))
                }
                Err(error) => {
                    tracing::warn!(incident = %self.id, attempt, %error, "{} failed; retrying", step.action);
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
            }
        }
    }

    fn action_started(&self, action: &str) {
        self.sink.record(Event::ActionStarted {
            target: self.target.name.clone(),
            incident: self.id.clone(),
            runbook: self.runbook.name.clone(),
            action: action.to_owned(),
        });
    }

    fn action_finished(&self, action: &str, result: &Result<(), String>, took: Duration) {
        self.sink.record(Event::ActionFinished {
            target: self.target.name.clone(),
            incident: self.id.clone(),
            runbook: self.runbook.name.clone(),
            action: action.to_owned(),
            ok: result.is_ok(),
            duration_ms: millis(took),
            error: result.as_ref().err().cloned(),
        });
    }

    /// Runs one attempt of `step` holding a permit of the concurrency limit, unless it only
    /// waits or notifies.
    async fn execute_within_limit(&self, step: &Step) -> Result<(), String> {
        if !step.action.holds_permit() {
            return self.execute(step).await;
        }
        let _permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| "the healer is shutting down".to_owned())?;
        self.execute(step).await
    }

    /// Runs one attempt of `step`, within its timeout; `Err` says why it failed.
    async fn execute(&self, step: &Step) -> Result<(), String> {
        let target = self.live();
        let attempt = step.action.execute(self, &target, step.timeout);
        tokio::time::timeout(step.timeout, attempt)
            .await
            .unwrap_or_else(|_| Err(format!("timed out after {:?}", step.timeout)))
    }

    /// What the templates of steps are rendered with.
    pub(crate) fn template_context(&self) -> template::Context<'_> {
        template::Context {
            target: &self.target,
            incident: &self.id,
            class: &self.runbook.class,
            excerpt: &self.excerpt,
        }
    }

    fn escalate(&self, reason: String) {
        tracing::warn!(incident = %self.id, %reason, "escalated");
        self.sink.record(Event::Escalated {
            target: self.target.name.clone(),
            incident: self.id.clone(),
            reason,
        });
    }
}

pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests;
