//! `POST /v1/targets/{name}/actions`: the body, and the action done through the healer's
//! `DockerPlatform`, journalled as incident `agent-<n>`: `Detected`, then `ActionStarted` /
//! `ActionFinished`, as the floor strategy journals its starts. A restart, start, rollback or
//! limits update that succeeded is then verified as a runbook's would be (`Verified`), so the
//! reports count it as a heal only when the target answered again.

use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use healer::{Limits, Platform, Scale, TargetRef};
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
#[serde(rename_all = "snake_case")]
pub(super) enum Action {
    /// Stop (with the grace) if it runs, then start.
    Restart,
    /// Start it if it does not run; one that runs is left as it is.
    Start,
    /// Its stop signal, SIGKILL after the grace.
    Stop,
    /// SIGKILL at once.
    Kill,
    /// Run `replicas` of it (clones carrying its labels; the original is never removed).
    Scale,
    /// Recreate it from its previous image (the `healer.previous-image` label).
    Rollback,
    /// Change its memory and/or CPU limits in place.
    UpdateLimits,
}

impl Action {
    pub(super) fn name(self) -> &'static str {
        match self {
            Action::Restart => "restart",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Kill => "kill",
            Action::Scale => "scale",
            Action::Rollback => "rollback",
            Action::UpdateLimits => "update_limits",
        }
    }

    /// Whether the action should bring the target back, so that sim verifies it did.
    fn heals(self) -> bool {
        matches!(
            self,
            Action::Restart | Action::Start | Action::Rollback | Action::UpdateLimits
        )
    }
}

/// The most replicas a `scale` may ask for.
const MAX_REPLICAS: u32 = 16;

/// The smallest memory limit Docker accepts (6 MiB).
const MIN_MEMORY: u64 = 6 * 1024 * 1024;

/// The CPU limits accepted.
const CPUS: std::ops::RangeInclusive<f64> = 0.01..=1024.0;

/// The body of an action call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionRequest {
    pub(super) action: Action,
    /// From the stop signal to SIGKILL, for `restart` and `stop`.
    #[serde(default)]
    grace_ms: Option<u64>,
    /// For `scale`: how many replicas, the original among them.
    #[serde(default)]
    replicas: Option<u32>,
    /// For `update_limits`.
    #[serde(default)]
    memory_bytes: Option<u64>,
    /// For `update_limits`.
    #[serde(default)]
    cpus: Option<f64>,
}

impl ActionRequest {
    /// Parses a body; a problem is a 400 saying what is wrong.
    pub(super) fn parse(body: &[u8]) -> Result<ActionRequest, ApiError> {
        let request: ActionRequest = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid action body: {e}")))?;
        request.check().map_err(ApiError::bad_request)?;
        Ok(request)
    }

    /// Every field belongs to the action and is in range.
    fn check(&self) -> Result<(), String> {
        let action = self.action.name();
        let only = |field: &str, actions: &str| {
            Err(format!(
                "{field} applies to {actions} only, not to {action}"
            ))
        };
        if self.grace_ms.is_some() && !matches!(self.action, Action::Restart | Action::Stop) {
            return only("grace_ms", "restart and stop");
        }
        if self.replicas.is_some() && self.action != Action::Scale {
            return only("replicas", "scale");
        }
        if (self.memory_bytes.is_some() || self.cpus.is_some())
            && self.action != Action::UpdateLimits
        {
            return only("memory_bytes and cpus", "update_limits");
        }
        if let Some(ms) = self
            .grace_ms
            .filter(|&ms| Duration::from_millis(ms) > MAX_GRACE)
        {
            return Err(format!(
                "grace_ms {ms} is over the most allowed, {}",
                MAX_GRACE.as_millis()
            ));
        }
        match self.action {
            Action::Scale => match self.replicas {
                Some(n) if (1..=MAX_REPLICAS).contains(&n) => {}
                Some(n) => return Err(format!("replicas {n} is not within 1..={MAX_REPLICAS}")),
                None => return Err("scale needs replicas, e.g. {\"replicas\": 2}".to_owned()),
            },
            Action::UpdateLimits => {
                if self.memory_bytes.is_none() && self.cpus.is_none() {
                    return Err("update_limits needs memory_bytes, cpus or both".to_owned());
                }
                if let Some(bytes) = self.memory_bytes.filter(|&b| b < MIN_MEMORY) {
                    return Err(format!(
                        "memory_bytes {bytes} is below Docker's least, {MIN_MEMORY}"
                    ));
                }
                if let Some(cpus) = self.cpus.filter(|c| !CPUS.contains(c)) {
                    return Err(format!("cpus {cpus} is not within 0.01..=1024"));
                }
            }
            _ => {}
        }
        Ok(())
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
        // What to verify afterwards: a rollback recreates the target under a new id.
        let mut verify_target = platform_target.clone();
        let platform = &self.platform;
        let result = match request.action {
            Action::Start if target.running() => Ok(()),
            Action::Restart | Action::Start => {
                platform.restart(&platform_target, grace, timeout).await
            }
            Action::Stop | Action::Kill => platform.stop(&platform_target, grace, timeout).await,
            Action::Scale => {
                let wanted = Scale::To(request.replicas.unwrap_or(1));
                platform
                    .scale(&platform_target, wanted, timeout)
                    .await
                    .map(drop)
            }
            Action::Rollback => platform
                .rollback(&platform_target, timeout)
                .await
                .map(|new| verify_target = new),
            Action::UpdateLimits => {
                let limits = Limits {
                    memory_bytes: request.memory_bytes,
                    cpus: request.cpus,
                };
                platform
                    .update_limits(&platform_target, limits, timeout)
                    .await
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
        if result.is_ok() && request.action.heals() {
            self.verify_later(verify_target, incident);
        }
        result
            .map(|()| duration_ms)
            .map_err(|e| ApiError::internal(e.to_string()))
    }

    /// Verifies, in a task of its own, that a target an action should have brought back (restart,
    /// start, rollback, new limits) answers its health
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
        let scale = parse(r#"{"action": "scale", "replicas": 3}"#).unwrap();
        assert_eq!((scale.action, scale.replicas), (Action::Scale, Some(3)));
        let limits = parse(r#"{"action": "update_limits", "cpus": 0.5}"#).unwrap();
        assert_eq!((limits.cpus, limits.memory_bytes), (Some(0.5), None));
        assert_eq!(
            parse(r#"{"action": "rollback"}"#).unwrap().action,
            Action::Rollback
        );
        for (bad, why) in [
            (r#"{"action": "reboot"}"#, "unknown variant"),
            (r#"{"action": "scale"}"#, "needs replicas"),
            (r#"{"action": "scale", "replicas": 0}"#, "not within 1..=16"),
            (
                r#"{"action": "scale", "replicas": 17}"#,
                "not within 1..=16",
            ),
            (r#"{"action": "restart", "replicas": 2}"#, "scale only"),
            (
                r#"{"action": "update_limits"}"#,
                "memory_bytes, cpus or both",
            ),
            (
                r#"{"action": "update_limits", "memory_bytes": 1024}"#,
                "below Docker's least",
            ),
            (r#"{"action": "update_limits", "cpus": 0}"#, "not within"),
            (r#"{"action": "kill", "cpus": 1}"#, "update_limits only"),
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
