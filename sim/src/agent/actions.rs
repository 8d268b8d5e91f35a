//! `POST /v1/targets/{name}/actions`: the body, and the action done through the healer's
//! `DockerPlatform`, journalled as incident `agent-<n>`: `Detected`, then `ActionStarted` /
//! `ActionFinished`, as the floor strategy journals its starts. A restart or start that
//! succeeded is then verified as a runbook's would be (`Verified`), so the reports count it
//! as a heal only when the target answered again.

use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use healer::{Platform, TargetRef};
use journal::Event;
use serde::Deserialize;
use tokio::time::Instant;

use super::guard::millis;
use super::reply::ApiError;
use super::targets::Target;
use super::{Api, RUNBOOK};

/// The class of the incident an agent's action opens: sim does not know what the agent saw.
const DETECTED_CLASS: &str = "unknown";

/// From the stop signal to SIGKILL when the body gives no `grace_ms` (the healer's default).
const DEFAULT_GRACE: Duration = Duration::from_secs(1);

/// How long an action may take beyond its grace.
const TIMEOUT_BEYOND_GRACE: Duration = Duration::from_secs(30);

/// The longest grace accepted.
const MAX_GRACE: Duration = Duration::from_secs(60);

/// How long sim's verification of a restart or start waits for the target to answer its health
/// path, as the shipped runbooks' `verify:` does.
const VERIFY_WITHIN: Duration = Duration::from_secs(15);

/// The health path asked when the target names none (the healer's default).
const HEALTH_PATH: &str = "/health";

/// What an agent may do to a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Action {
    /// Stop (with the grace) if it runs, then start.
    Restart,
    /// Start it if it does not run; one that runs is left as it is.
    Start,
    /// Its stop signal, SIGKILL after the grace.
    Stop,
    /// SIGKILL at once.
    Kill,
}

impl Action {
    pub(super) fn name(self) -> &'static str {
        match self {
            Action::Restart => "restart",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Kill => "kill",
        }
    }
}

/// The body of an action call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionRequest {
    pub(super) action: Action,
    /// From the stop signal to SIGKILL, for `restart` and `stop`.
    #[serde(default)]
    grace_ms: Option<u64>,
}

impl ActionRequest {
    /// Parses a body; a problem is a 400 saying what is wrong.
    pub(super) fn parse(body: &[u8]) -> Result<ActionRequest, ApiError> {
        let request: ActionRequest = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid action body: {e}")))?;
        match (request.action, request.grace_ms) {
            (Action::Start | Action::Kill, Some(_)) => Err(ApiError::bad_request(format!(
                "grace_ms applies to restart and stop only, not to {}",
                request.action.name()
            ))),
            (_, Some(ms)) if Duration::from_millis(ms) > MAX_GRACE => {
                Err(ApiError::bad_request(format!(
                    "grace_ms {ms} is over the most allowed, {}",
                    MAX_GRACE.as_millis()
                )))
            }
            _ => Ok(request),
        }
    }

    fn grace(&self) -> Duration {
        match self.action {
            Action::Kill => Duration::ZERO,
            _ => self.grace_ms.map_or(DEFAULT_GRACE, Duration::from_millis),
        }
    }
}

impl Api {
    /// Does `request` to `target`, journalled; gives how long it took. It runs in a task of its
    /// own, so a caller that hangs up does not cut it short (nor its journal records).
    pub(super) async fn act(
        self: &Arc<Self>,
        target: Target,
        request: ActionRequest,
    ) -> Result<f64, ApiError> {
        let api = Arc::clone(self);
        tokio::spawn(async move { api.act_now(&target, &request).await })
            .await
            .map_err(|e| ApiError::internal(format!("the action failed: {e}")))?
    }

    async fn act_now(
        self: &Arc<Self>,
        target: &Target,
        request: &ActionRequest,
    ) -> Result<f64, ApiError> {
        let n = self.actions.fetch_add(1, Ordering::Relaxed) + 1;
        let incident = format!("agent-{n}");
        let action = request.action.name().to_owned();
        // sim cannot see when the agent noticed: its decision to act is its detection, so
        // the reports' time to detect runs to the call, and their time to act is ~0.
        self.journal.record(Event::Detected {
            target: target.name.clone(),
            incident: incident.clone(),
            class: DETECTED_CLASS.to_owned(),
            signal: format!("agent asked to {action}"),
            confidence: None,
            classified_because: None,
        });
        self.journal.record(Event::ActionStarted {
            target: target.name.clone(),
            incident: incident.clone(),
            runbook: RUNBOOK.to_owned(),
            action: action.clone(),
        });
        let started = Instant::now();
        let grace = request.grace();
        let timeout = grace + TIMEOUT_BEYOND_GRACE;
        let platform_target = TargetRef {
            id: target.id().to_owned(),
            name: target.name.clone(),
            labels: target.labels(),
        };
        let result = match request.action {
            Action::Start if target.running() => Ok(()),
            Action::Restart | Action::Start => {
                self.platform
                    .restart(&platform_target, grace, timeout)
                    .await
            }
            Action::Stop | Action::Kill => {
                self.platform.stop(&platform_target, grace, timeout).await
            }
        };
        let duration_ms = millis(started.elapsed());
        self.journal.record(Event::ActionFinished {
            target: target.name.clone(),
            incident: incident.clone(),
            runbook: RUNBOOK.to_owned(),
            action,
            ok: result.is_ok(),
            duration_ms,
            error: result.as_ref().err().map(ToString::to_string),
        });
        if result.is_ok() && matches!(request.action, Action::Restart | Action::Start) {
            self.verify_later(platform_target, incident);
        }
        result
            .map(|()| duration_ms)
            .map_err(|e| ApiError::internal(e.to_string()))
    }

    /// Verifies, in a task of its own, that a restarted or started `target` answers its health
    /// path again, as the healer verifies its runbooks, and journals the `Verified` of
    /// `incident`: the agent's action counts as a heal only when the target came back. The
    /// agent's call is answered at once; the task stops with the API.
    fn verify_later(self: &Arc<Self>, target: TargetRef, incident: String) {
        let api = Arc::clone(self);
        let cancel = self.cancel.clone();
        tokio::spawn(async move {
            let verifying = healer::verify_health(
                &api.platform,
                &api.client,
                &target,
                VERIFY_WITHIN,
                NonZeroU32::MIN,
                HEALTH_PATH,
            );
            let outcome = tokio::select! {
                outcome = verifying => outcome,
                () = cancel.cancelled() => return,
            };
            api.journal.record(Event::Verified {
                target: target.name,
                incident,
                runbook: RUNBOOK.to_owned(),
                ok: outcome.ok,
                attempts: outcome.attempts,
                duration_ms: millis(outcome.elapsed),
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_names_a_known_action_and_a_grace_only_where_it_applies() {
        let parse = |body: &str| ActionRequest::parse(body.as_bytes());
        let restart = parse(r#"{"action": "restart", "grace_ms": 250}"#).unwrap();
        assert_eq!(restart.grace(), Duration::from_millis(250));
        assert_eq!(
            parse(r#"{"action": "stop"}"#).unwrap().grace(),
            DEFAULT_GRACE
        );
        assert_eq!(
            parse(r#"{"action": "kill"}"#).unwrap().grace(),
            Duration::ZERO
        );
        assert_eq!(
            parse(r#"{"action": "start"}"#).unwrap().action,
            Action::Start
        );
        for (bad, why) in [
            (r#"{"action": "scale"}"#, "unknown variant"),
            (
                r#"{"action": "kill", "grace_ms": 5}"#,
                "restart and stop only",
            ),
            (r#"{"action": "stop", "grace_ms": 61000}"#, "over the most"),
            (r#"{"action": "stop", "grace": 5}"#, "unknown field"),
            (r#"{"action": "#, "invalid action body"),
            ("{}", "missing field"),
        ] {
            let error = parse(bad).unwrap_err();
            assert_eq!(error.status, 400, "{bad}");
            assert!(error.message.contains(why), "{bad}: {}", error.message);
        }
    }
}
