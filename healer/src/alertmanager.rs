//! Alertmanager's webhook payload (version 4) as serde structs, for whatever receives the
//! webhook: the test receiver here, the embedded healer's endpoint, a standalone healer daemon.
//!
//! Timestamps stay RFC 3339 strings as Alertmanager sends them: the record of when a webhook
//! arrived is the receiver's own clock, not these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The webhook version this module understands.
pub const WEBHOOK_VERSION: &str = "4";

/// One webhook notification: a group of alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    pub version: String,
    pub group_key: String,
    /// How many alerts were left out because of the receiver's `max_alerts`.
    #[serde(default)]
    pub truncated_alerts: u64,
    pub status: AlertStatus,
    pub receiver: String,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL", default)]
    pub external_url: String,
    pub alerts: Vec<Alert>,
}

/// One alert of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339; `0001-01-01T00:00:00Z` while the alert fires.
    #[serde(default)]
    pub ends_at: String,
    #[serde(rename = "generatorURL", default)]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

impl Alert {
    /// The `alertname` label, if any.
    pub fn name(&self) -> Option<&str> {
        self.labels.get("alertname").map(String::as_str)
    }
}

/// Whether a notification or an alert is firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// A webhook body that is not a version-4 Alertmanager payload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    #[error("not an Alertmanager webhook payload: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "Alertmanager webhook version {found:?} is not supported (expected {WEBHOOK_VERSION:?})"
    )]
    Version { found: String },
}

/// Parses a webhook body, accepting version 4 only.
pub fn parse_payload(body: &[u8]) -> Result<WebhookPayload, PayloadError> {
    let payload: WebhookPayload = serde_json::from_slice(body)?;
    if payload.version != WEBHOOK_VERSION {
        return Err(PayloadError::Version {
            found: payload.version,
        });
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload as Alertmanager 0.25 sends it (captured shape, abridged values).
    const FIRING: &str = r#"{
      "receiver": "sim",
      "status": "firing",
      "alerts": [{
        "status": "firing",
        "labels": {"alertname": "LeakyMemoryLeak", "instance": "sim-x-t1-leaky-0:8080",
                   "job": "leaky", "severity": "page", "sim_target": "leaky-0"},
        "annotations": {"summary": "leaky-0 leaked 20MiB"},
        "startsAt": "2024-01-01T00:00:01.5Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": "5d1e5a1d9c2f3b4a"
      }],
      "groupLabels": {},
      "commonLabels": {"alertname": "LeakyMemoryLeak", "job": "leaky"},
      "commonAnnotations": {"summary": "leaky-0 leaked 20MiB"},
      "externalURL": "http://am:9093",
      "version": "4",
      "groupKey": "{}:{}",
      "truncatedAlerts": 0
    }"#;

    #[test]
    fn a_version_4_payload_parses_with_every_field() {
        let payload = parse_payload(FIRING.as_bytes()).unwrap();
        assert_eq!(payload.status, AlertStatus::Firing);
        assert_eq!(payload.group_key, "{}:{}");
        assert_eq!(payload.external_url, "http://am:9093");
        assert_eq!(payload.common_labels["job"], "leaky");
        let alert = &payload.alerts[0];
        assert_eq!(alert.name(), Some("LeakyMemoryLeak"));
        assert_eq!(alert.labels["sim_target"], "leaky-0");
        assert_eq!(
            alert.generator_url,
            "http://prometheus:9090/graph?g0.expr=x"
        );
        assert_eq!(alert.fingerprint, "5d1e5a1d9c2f3b4a");
        assert_eq!(alert.status, AlertStatus::Firing);
    }

    #[test]
    fn other_versions_and_garbage_are_refused() {
        let v3 = FIRING.replace(r#""version": "4""#, r#""version": "3""#);
        assert!(matches!(
            parse_payload(v3.as_bytes()),
            Err(PayloadError::Version { found }) if found == "3"
        ));
        assert!(matches!(
            parse_payload(b"{\"status\": \"firing\"}"),
            Err(PayloadError::Json(_))
        ));
        let odd_status = FIRING.replace(r#""status": "firing","#, r#""status": "burning","#);
        assert!(parse_payload(odd_status.as_bytes()).is_err());
    }
}
