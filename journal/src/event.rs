//! The journal's records: a timestamp envelope around one [`Event`].

use std::collections::BTreeMap;

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

impl Record {
    /// When a `Probe` was sent, on the journal's clock: its record is made when it answered.
    pub fn probe_sent_ms(&self) -> Option<f64> {
        match &self.event {
            Event::Probe { latency_ms, .. } => Some(self.t_ms - latency_ms),
            _ => None,
        }
    }
}

/// What a run's figures depend on besides its events: recorded in `run_started`, so that
/// `sim report` can rebuild every report from the journal alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSetup {
    /// K: the consecutive good probes that end an outage (`health.healthy_after`).
    pub healthy_after: u32,
    /// The independent prober's interval and per-probe timeout.
    pub probe_interval_ms: f64,
    pub probe_timeout_ms: f64,
    /// The scenario's expectations, as the reports crate writes them (`Expectations`).
    pub expect: serde_json::Value,
    /// The strategy's settings (e.g. autoheal's `interval`), as text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub strategy_settings: BTreeMap<String, String>,
    /// How long each trial could go on observing past its load's planned end, the load still
    /// running, until every outage had recovered (`--observe-up-to`); absent when trials ended
    /// with their load, as in older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe_up_to_ms: Option<f64>,
    /// The scenario file as it was run.
    pub scenario_text: String,
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
        /// Everything else the run's figures depend on, so that a report can be rebuilt from the
        /// journal alone (absent in older journals).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        setup: Option<RunSetup>,
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
    /// One result of the independent prober (not the healer's verification probes), recorded
    /// when it answered (or gave up). It was sent `latency_ms` earlier: see
    /// [`Record::probe_sent_ms`]. Probes leave on a fixed schedule, so several can be in flight
    /// and their records need not be in send order.
    Probe {
        target: String,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Answer (or timeout) − send.
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
    /// The target's last log lines when the healer opened an incident (redacted, at most 20
    /// lines and 2,000 characters, oldest first), recorded right after its `Detected` when the
    /// healer follows the target's logs and saw any.
    LogExcerpt {
        target: String,
        incident: String,
        lines: Vec<String>,
    },
    /// The healer asked its model advisor about an incident no runbook's `when` matched, or
    /// matched below the confidence guardrail: what it answered and what the healer did with
    /// it. `answer` is the parsed answer, or the error (timeout, HTTP status, malformed JSON…),
    /// at most 2,000 characters; `decision` is `acted` (a runbook of the library was handed to
    /// the incident, whose guardrails still apply) or `escalated`.
    AdvisorConsulted {
        target: String,
        incident: String,
        #[serde(default)]
        model: String,
        #[serde(default)]
        latency_ms: f64,
        #[serde(default)]
        answer: String,
        #[serde(default)]
        decision: String,
        #[serde(default)]
        reason: String,
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
    /// A call to the Agent API (an external healer's way to observe and act on the trial's
    /// targets), recorded when it was answered, whatever the answer: refused calls count too.
    AgentCall {
        /// Who called: the `X-Sim-Caller` header when it is there and short, else `agent`.
        caller: String,
        method: String,
        /// The request's path, without its query.
        path: String,
        /// The HTTP status of the answer (401, 403, 429… for refused calls).
        status: u16,
        /// The target the path names, when it names one (as the caller wrote it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// The action asked for (`restart`, `start`, `stop`, `kill`), when the body named one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        action: Option<String>,
        /// Request → answer.
        duration_ms: f64,
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
    /// One sample of a target container's resources, taken by the harness (not the healer)
    /// several times a second, whoever heals.
    ResourceSample {
        target: String,
        /// Memory charged to the container (cgroup `memory.usage_in_bytes`, or the stats API).
        memory_bytes: u64,
        /// Its memory limit; absent when unlimited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        memory_limit_bytes: Option<u64>,
        /// CPU used since the previous sample of the same container, in % of one core;
        /// absent on a container's first sample.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cpu_percent: Option<f64>,
        /// Time the CFS quota throttled the container since its previous sample.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        throttled_ms: Option<f64>,
        /// Where the figures came from: `cgroup` (the host's cgroup files) or `stats` (the
        /// Docker stats API).
        source: String,
    },
    /// The load generator's requests that completed in the `window_ms` before this record,
    /// journalled while the trial runs.
    LoadWindow {
        window_ms: f64,
        ok: u64,
        failed: u64,
        /// Latency percentiles of the window's requests, measured from each request's intended
        /// send time (a stalled user's missed requests count as latency, not as silence);
        /// absent in a window without requests.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p50_ms: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p99_ms: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<f64>,
    },
    /// One of the healer's sources of signals stopped answering (`docker events`, the
    /// alerting pipeline…): which (`source`), why (`detail`), and what the healer goes on
    /// with meanwhile (`fallback`).
    SourceLost {
        source: String,
        detail: String,
        #[serde(default)]
        fallback: String,
    },
    /// A lost source answers again, `down_ms` after it was lost; `detail` says what the healer
    /// found had changed while it could not see (e.g. targets that died meanwhile).
    SourceRestored {
        source: String,
        down_ms: f64,
        #[serde(default)]
        detail: String,
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
            | Event::LogExcerpt { target, .. }
            | Event::AdvisorConsulted { target, .. }
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
            | Event::Escalated { target, .. }
            | Event::ResourceSample { target, .. } => Some(target),
            Event::RunStarted { .. }
            | Event::TrialStarted
            | Event::AgentCall { .. }
            | Event::SourceLost { .. }
            | Event::SourceRestored { .. }
            | Event::Load { .. }
            | Event::LoadWindow { .. }
            | Event::TrialEnded { .. }
            | Event::RunEnded { .. } => None,
        }
    }
}
