//! One incident, start to end: run the runbook's steps, verify, and escalate on failure.

use std::sync::Arc;
use std::time::Duration;

use journal::{Event, Sink};
use tokio::time::Instant;

use crate::notify;
use crate::platform::Platform;
use crate::runbook::{Action, Runbook, Step};
use crate::signal::TargetRef;
use crate::template;
use crate::verify;

/// Wait before the first retry of a failed step; doubles for each further retry.
const FIRST_RETRY_BACKOFF: Duration = Duration::from_millis(250);

/// Everything an incident task needs; it owns its copies so it can run concurrently.
pub(crate) struct Incident {
    pub(crate) id: String,
    pub(crate) target: TargetRef,
    pub(crate) runbook: Arc<Runbook>,
    pub(crate) platform: Arc<dyn Platform>,
    pub(crate) sink: Arc<dyn Sink>,
    pub(crate) client: reqwest::Client,
}

impl Incident {
    /// Runs the steps, then verification; records each decision; escalates on failure.
    pub(crate) async fn handle(self) {
        for step in &self.runbook.steps {
            if let Err(reason) = self.run_step(step).await {
                self.escalate(reason);
                return;
            }
        }
        let check = &self.runbook.verify;
        let outcome =
            verify::verify(self.platform.as_ref(), &self.client, &self.target, check).await;
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
        } else {
            self.escalate(format!(
                "verification failed: no {} healthy answer(s) in a row from {} within {:?} \
                 ({} probes; last error: {})",
                check.consecutive,
                check.http_path,
                check.within,
                outcome.attempts,
                outcome.last_error.as_deref().unwrap_or("none"),
            ));
        }
    }

    /// Runs one step, retrying with backoff; `Err` carries the escalation reason.
    async fn run_step(&self, step: &Step) -> Result<(), String> {
        let attempts = step.retries.saturating_add(1);
        let mut backoff = FIRST_RETRY_BACKOFF;
        let mut attempt = 1;
        loop {
            self.sink.record(Event::ActionStarted {
                target: self.target.name.clone(),
                incident: self.id.clone(),
                runbook: self.runbook.name.clone(),
                action: step.action.to_string(),
            });
            let started = Instant::now();
            let result = self.execute(step).await;
            self.sink.record(Event::ActionFinished {
                target: self.target.name.clone(),
                incident: self.id.clone(),
                runbook: self.runbook.name.clone(),
                action: step.action.to_string(),
                ok: result.is_ok(),
                duration_ms: millis(started.elapsed()),
                error: result.as_ref().err().cloned(),
            });
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

    /// Runs one attempt of `step`, within its timeout; `Err` says why it failed.
    async fn execute(&self, step: &Step) -> Result<(), String> {
        let attempt = async {
            match &step.action {
                Action::Restart => self
                    .platform
                    .restart(&self.target, step.timeout)
                    .await
                    .map_err(|e| e.to_string()),
                Action::Stop => self
                    .platform
                    .stop(&self.target, step.timeout)
                    .await
                    .map_err(|e| e.to_string()),
                Action::Signal(signal) => self
                    .platform
                    .send_signal(&self.target, signal, step.timeout)
                    .await
                    .map_err(|e| e.to_string()),
                Action::Wait(duration) => {
                    tokio::time::sleep(*duration).await;
                    Ok(())
                }
                Action::Http { method, path, port } => {
                    let path = path.render(&self.template_context())?;
                    let port = port.unwrap_or_else(|| verify::label_port(&self.target));
                    let endpoint = self
                        .platform
                        .http_endpoint(&self.target, port)
                        .await
                        .map_err(|e| e.to_string())?;
                    let url = format!("http://{endpoint}{path}");
                    send(self.client.request(method.clone(), &url), &url).await
                }
                Action::Notify { url, format, text } => {
                    let context = self.template_context();
                    let url = url.render(&context)?;
                    let text = text.render(&context)?;
                    let body = notify::body(format, &text, &self.id, &self.target.name);
                    let request = self
                        .client
                        .post(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body);
                    send(request, &url).await
                }
            }
        };
        tokio::time::timeout(step.timeout, attempt)
            .await
            .unwrap_or_else(|_| Err(format!("timed out after {:?}", step.timeout)))
    }

    fn template_context(&self) -> template::Context<'_> {
        template::Context {
            target: &self.target,
            incident: &self.id,
            class: &self.runbook.class,
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

/// Sends `request`; a non-2xx answer is an error.
async fn send(request: reqwest::RequestBuilder, url: &str) -> Result<(), String> {
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url}: HTTP {}", response.status()))
    }
}

pub(crate) fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
