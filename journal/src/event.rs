//! The journal's records: a timestamp envelope around one [`Event`].

use serde::{Deserialize, Serialize};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Milliseconds since the journal was opened, from a monotonic clock.
    pub t_ms: f64,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// The trial this event belongs to (1-based), when it belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial: Option<u32>,
    #[serde(flatten)]
    pub event: Event,
}

/// Everything that can happen during a run. Closed on purpose: reports match on it exhaustively.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run began.
    RunStarted {
        run_id: String,
        scenario: String,
        trials: u32,
        sim_version: String,
        /// The healing strategy (`none`, `docker-restart`, `autoheal`, `embedded`…); absent in
        /// older journals, which all used the embedded healer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        strategy: Option<String>,
        /// The seed randomised fault times were drawn with (`sim run --seed` replays them);
        /// absent when every fault has a fixed time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
    /// A trial began; its targets are about to start.
    TrialStarted,
    /// A target container was created and started.
    TargetStarted {
        target: String,
        container_id: String,
        host_port: u16,
    },
    /// A target answered its health check for the first time; load and faults may begin.
    TargetReady { target: String },
    /// A fault was injected.
    FaultInjected {
        fault: String,
        target: String,
        detail: String,
    },
    /// A fault was removed (its duration ended, or the trial ended).
    FaultCleared { fault: String, target: String },
    /// One result of the independent prober (not the healer's verification probes).
    Probe {
        target: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        latency_ms: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A Docker engine event for one of the run's containers (`oom`, `die`, `start`, `health_status: …`).
    Docker {
        target: String,
        action: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i64>,
    },
    /// An alert notification reached the embedded healer's webhook (recorded on arrival).
    Alert {
        /// The alert's name (`alertname`).
        name: String,
        /// The target its labels name (`container`, else `name`, else `instance` without port).
        target: String,
        firing: bool,
        fingerprint: String,
        /// When the alerting pipeline says it started firing (its `startsAt`), Unix ms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        starts_at_unix_ms: Option<u64>,
    },
    /// The healer opened an incident.
    Detected {
        target: String,
        incident: String,
        class: String,
        signal: String,
        /// How sure the healer is of `class`, 0..=1, and why (absent in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        classified_because: Option<String>,
    },
    /// The healer chose a runbook for an incident, and why.
    RunbookSelected {
        target: String,
        incident: String,
        runbook: String,
        reason: String,
    },
    /// The healer ignored a signal, and why (cooldown, out of scope, incident already open…).
    Suppressed {
        target: String,
        signal: String,
        reason: String,
    },
    /// A remediation step began.
    ActionStarted {
        target: String,
        incident: String,
        runbook: String,
        action: String,
    },
    /// A remediation step ended.
    ActionFinished {
        target: String,
        incident: String,
        runbook: String,
        action: String,
        ok: bool,
        duration_ms: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The healer's verification of a remediation ended.
    Verified {
        target: String,
        incident: String,
        runbook: String,
        ok: bool,
        attempts: u32,
        duration_ms: f64,
    },
    /// The healer decided on an action but did not take it: dry run, confidence below the
    /// threshold (notify only), or no approval.
    ActionSkipped {
        target: String,
        incident: String,
        runbook: String,
        action: String,
        reason: String,
    },
    /// An incident's actions wait for a human's approval, at most `timeout_ms`.
    AwaitingApproval {
        target: String,
        incident: String,
        runbook: String,
        timeout_ms: f64,
    },
    /// A human approved an incident's actions.
    Approved { target: String, incident: String },
    /// The alert that opened an incident resolved; the incident is closed.
    Resolved {
        target: String,
        incident: String,
        reason: String,
    },
    /// An incident ended; `ok` when its runbook's steps and verification succeeded. The
    /// healer's knowledge base learns from these.
    IncidentClosed {
        target: String,
        incident: String,
        class: String,
        runbook: String,
        ok: bool,
        duration_ms: f64,
    },
    /// The healer gave up on an incident and escalated it to a human.
    Escalated {
        target: String,
        incident: String,
        reason: String,
    },
    /// Load results for a trial, reported when the load generator finishes.
    Load {
        requests_ok: u64,
        requests_failed: u64,
        rps: f64,
        p50_ms: f64,
        p95_ms: f64,
        p99_ms: f64,
        max_ms: f64,
    },
    /// A trial ended.
    TrialEnded { interrupted: bool },
    /// The run ended.
    RunEnded { interrupted: bool },
}

impl Event {
    /// The target this event concerns, when it concerns one.
    pub fn target(&self) -> Option<&str> {
        match self {
            Event::TargetStarted { target, .. }
            | Event::TargetReady { target }
            | Event::FaultInjected { target, .. }
            | Event::FaultCleared { target, .. }
            | Event::Probe { target, .. }
            | Event::Docker { target, .. }
            | Event::Alert { target, .. }
            | Event::Detected { target, .. }
            | Event::RunbookSelected { target, .. }
            | Event::Suppressed { target, .. }
            | Event::ActionStarted { target, .. }
            | Event::ActionFinished { target, .. }
            | Event::Verified { target, .. }
            | Event::ActionSkipped { target, .. }
            | Event::AwaitingApproval { target, .. }
            | Event::Approved { target, .. }
            | Event::Resolved { target, .. }
            | Event::IncidentClosed { target, .. }
            | Event::Escalated { target, .. } => Some(target),
            Event::RunStarted { .. }
            | Event::TrialStarted
            | Event::Load { .. }
            | Event::TrialEnded { .. }
            | Event::RunEnded { .. } => None,
        }
    }
}
