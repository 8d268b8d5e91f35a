//! Alertmanager's webhook payload (version 4) as serde structs, for whatever receives the
//! webhook: the test receiver here, the embedded healer's endpoint, a standalone healer daemon.
//!
//! Timestamps stay RFC 3339 strings as Alertmanager sends them: the record of when a webhook
//! arrived is the receiver's own clock, not these.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Signal, SignalKind, TargetRef};

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

    /// The healer's signal for this alert. Its target is known by name only (empty id), the
    /// name its labels give ([`crate::Alert::target_name`]); the engine resolves it in scope.
    pub fn to_signal(&self) -> Signal {
        let alert = crate::Alert {
            name: self.name().unwrap_or_default().to_owned(),
            firing: self.status == AlertStatus::Firing,
            labels: self.labels.clone(),
            fingerprint: self.fingerprint.clone(),
        };
        Signal {
            target: TargetRef {
                id: String::new(),
                name: alert.target_name().unwrap_or_default().to_owned(),
                labels: self.labels.clone(),
            },
            kind: SignalKind::Alert(alert),
            at: tokio::time::Instant::now(),
        }
    }

    /// When the alert started firing, in milliseconds since the Unix epoch (`startsAt`).
    pub fn starts_at_unix_ms(&self) -> Option<u64> {
        rfc3339_unix_ms(&self.starts_at)
    }
}

/// Parses the RFC 3339 timestamps Alertmanager writes (`2026-11-22T05:41:12.345678901Z`,
/// or with a `+01:00`-style offset) into milliseconds since the Unix epoch.
fn rfc3339_unix_ms(text: &str) -> Option<u64> {
    let (date, time) = text.split_once(['T', 't'])?;
    let mut date = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    // RFC 3339's ranges; they also keep the arithmetic below from overflowing.
    if !(0..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset_secs) = match time.find(['Z', 'z', '+', '-']) {
        Some(at) => {
            let (clock, zone) = time.split_at(at);
            let offset = match zone.as_bytes()[0] {
                b'Z' | b'z' => 0,
                sign => {
                    let (h, m) = zone[1..].split_once(':')?;
                    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
                    if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
                        return None;
                    }
                    let secs = h * 3600 + m * 60;
                    if sign == b'+' {
                        secs
                    } else {
                        -secs
                    }
                }
            };
            (clock, offset)
        }
        None => return None,
    };
    let mut hms = clock.splitn(3, ':');
    let hour: i64 = hms.next()?.parse().ok()?;
    let minute: i64 = hms.next()?.parse().ok()?;
    let seconds: f64 = hms.next()?.parse().ok()?;
    // 60 is a leap second; NaN and infinities are not within.
    if !(0..=23).contains(&hour) || !(0..=59).contains(&minute) || !(0.0..61.0).contains(&seconds) {
        return None;
    }
    // Days from the civil date (proleptic Gregorian; Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 - offset_secs;
    let ms = secs as f64 * 1000.0 + seconds * 1000.0;
    (ms >= 0.0).then_some(ms.round() as u64)
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
mod time_tests {
    use super::*;

    #[test]
    fn an_alert_becomes_a_signal_naming_its_target_by_label() {
        let alert = Alert {
            status: AlertStatus::Firing,
            labels: [
                ("alertname".to_owned(), "LeakyDown".to_owned()),
                ("instance".to_owned(), "leaky-0:8080".to_owned()),
            ]
            .into(),
            annotations: BTreeMap::new(),
            starts_at: "2026-11-22T05:32:00Z".to_owned(),
            ends_at: String::new(),
            generator_url: String::new(),
            fingerprint: "2c83ea49be639f87".to_owned(),
        };
        let signal = alert.to_signal();
        assert_eq!(signal.target.id, "");
        assert_eq!(signal.target.name, "leaky-0");
        let SignalKind::Alert(summary) = signal.kind else {
            panic!("not an alert signal");
        };
        assert!(summary.firing);
        assert_eq!(summary.name, "LeakyDown");
        assert_eq!(alert.starts_at_unix_ms(), Some(1_795_325_520_000));
    }

    #[test]
    fn alertmanager_timestamps_parse_to_unix_milliseconds() {
        assert_eq!(rfc3339_unix_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_unix_ms("2026-11-22T05:32:00.123456789Z"),
            Some(1_795_325_520_123)
        );
        assert_eq!(
            rfc3339_unix_ms("2026-11-22T06:32:00+01:00"),
            Some(1_795_325_520_000)
        );
        assert_eq!(rfc3339_unix_ms("yesterday"), None);
        assert_eq!(rfc3339_unix_ms("2026-11-22T05:32:00"), None);
    }

    /// Found by the `webhook` fuzz target: a year, offset or hour this large overflowed `i64`
    /// (a panic in debug builds, a wrong time in release ones).
    #[test]
    fn timestamps_out_of_range_are_refused_not_overflowed() {
        for text in [
            "99999999999999-01-01T00:00:00Z",
            "2024-01-01T00:00:00+9999999999999999:00",
            "2024-01-01T9999999999999999:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T00:00:infZ",
            "2024-01-01T00:00:NaNZ",
        ] {
            assert_eq!(rfc3339_unix_ms(text), None, "{text}");
        }
        assert_eq!(
            rfc3339_unix_ms("2016-12-31T23:59:60Z"),
            Some(1_483_228_800_000),
            "a leap second"
        );
    }
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
