//! Signals: the one event type a platform feeds the healer ("this container was OOM-killed").

use std::collections::BTreeMap;
use std::fmt;

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

/// What happened to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignalKind {
    /// The kernel's OOM killer killed a process of the target.
    Oom,
    /// The target stopped, with its exit code when the platform knows it.
    Died { exit_code: Option<i64> },
    /// The target started (or restarted).
    Started,
    /// The platform's own health check changed state.
    Health { healthy: bool },
}

impl SignalKind {
    /// Whether this signal says something is wrong. Only faults can open incidents.
    pub(crate) fn is_fault(&self) -> bool {
        match self {
            SignalKind::Oom | SignalKind::Died { .. } => true,
            SignalKind::Health { healthy } => !healthy,
            SignalKind::Started => false,
        }
    }
}

/// Docker's spelling of the event, as it appears in the journal's `signal` fields.
impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalKind::Oom => f.write_str("oom"),
            SignalKind::Died {
                exit_code: Some(code),
            } => write!(f, "die (exit {code})"),
            SignalKind::Died { exit_code: None } => f.write_str("die"),
            SignalKind::Started => f.write_str("start"),
            SignalKind::Health { healthy: true } => f.write_str("health_status: healthy"),
            SignalKind::Health { healthy: false } => f.write_str("health_status: unhealthy"),
        }
    }
}
