//! Signals: the one event type a platform feeds the healer ("this container was OOM-killed").
//! A log line's text is shown redacted and shortened wherever a signal is displayed.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

/// The thing a signal is about, and the thing the healer acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRef {
    /// The platform's stable id (a Docker container id).
    pub id: String,
    /// A human name, used in journal events and incident ids (a Docker container name).
    pub name: String,
    /// The target's labels; the [`Scope`](crate::Scope) and runbook defaults read them.
    pub labels: BTreeMap<String, String>,
}

/// Something a platform observed about one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// The target it concerns.
    pub target: TargetRef,
    /// What happened.
    pub kind: SignalKind,
    /// When the healer received it.
    pub at: Instant,
}

impl Alert {
    /// Which target the alert is about: the value of its `container` label, else `name`, else
    /// `instance` without a `:port` suffix. Feed the alert with a [`TargetRef`] of this name and
    /// an empty id; the healer resolves it among the targets in scope.
    pub fn target_name(&self) -> Option<&str> {
        ["container", "name"]
            .iter()
            .find_map(|key| self.labels.get(*key).map(String::as_str))
            .or_else(|| {
                self.labels.get("instance").map(|instance| {
                    instance
                        .rsplit_once(':')
                        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
                        .map_or(instance.as_str(), |(host, _)| host)
                })
            })
    }
}

/// What happened to a target.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SignalKind {
    /// The kernel's OOM killer killed a process of the target.
    Oom,
    /// The target stopped, with its exit code when the platform knows it.
    Died { exit_code: Option<i64> },
    /// The target started (or restarted).
    Started,
    /// The target was removed; the healer stops watching it.
    Removed,
    /// The platform's own health check changed state.
    Health { healthy: bool },
    /// One result of the healer's own HTTP prober: did the target answer 2xx, and how fast.
    Probe { ok: bool, latency: Duration },
    /// One sample of a metric of the target (container stats, a scraped `/metrics` value).
    Metric { name: String, value: f64 },
    /// An alert raised (or resolved) outside the healer, e.g. by Alertmanager.
    Alert(Alert),
    /// One line the target wrote to stdout or stderr, at most
    /// [`LINE_CAP`](crate::excerpt::LINE_CAP) characters.
    Log { line: String },
}

/// An alert about a target, as an alerting system sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The alert's name (Alertmanager's `alertname` label).
    pub name: String,
    /// `true` while firing; `false` once resolved.
    pub firing: bool,
    /// All of the alert's labels.
    pub labels: BTreeMap<String, String>,
    /// The sender's identity of this alert; repeats of one alert share it.
    pub fingerprint: String,
}

impl SignalKind {
    /// Whether this signal says something is wrong. Only faults can open incidents.
    pub(crate) fn is_fault(&self) -> bool {
        match self {
            SignalKind::Oom | SignalKind::Died { .. } => true,
            SignalKind::Health { healthy } => !healthy,
            SignalKind::Alert(alert) => alert.firing,
            SignalKind::Started
            | SignalKind::Removed
            | SignalKind::Probe { .. }
            | SignalKind::Metric { .. }
            | SignalKind::Log { .. } => false,
        }
    }
}

/// Docker's spelling of the event (or a short description of other signals), as it appears in the journal's `signal` fields.
impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalKind::Oom => f.write_str("oom"),
            SignalKind::Died {
                exit_code: Some(code),
            } => write!(f, "die (exit {code})"),
            SignalKind::Died { exit_code: None } => f.write_str("die"),
            SignalKind::Started => f.write_str("start"),
            SignalKind::Removed => f.write_str("destroy"),
            SignalKind::Health { healthy: true } => f.write_str("health_status: healthy"),
            SignalKind::Health { healthy: false } => f.write_str("health_status: unhealthy"),
            SignalKind::Probe { ok: true, latency } => write!(f, "probe ok in {latency:?}"),
            SignalKind::Probe { ok: false, latency } => write!(f, "probe failed after {latency:?}"),
            SignalKind::Metric { name, value } => write!(f, "{name} = {value}"),
            SignalKind::Alert(alert) => write!(
                f,
                "alert {} {}",
                alert.name,
                if alert.firing { "firing" } else { "resolved" }
            ),
            SignalKind::Log { line } => write!(f, "log: {}", crate::excerpt::shown(line)),
        }
    }
}
