//! Runbooks-as-code self-healing: watch a platform's signals, open incidents, remediate through
//! runbooks, verify the target answers again, and escalate when it does not.
//!
//! The pipeline, one module per stage so each can grow on its own:
//!
//! | stage | module | today |
//! |---|---|---|
//! | signals | `signal`, [`Platform::signals`], [`Healer::with_external_signals`], `sources` | Docker container events, asked for again with backoff after a daemon restart, then resynced (targets that died meanwhile are healed: `engine/resync`); the healer's own HTTP prober (open loop, 200 ms apart, 50 ms while a target looks suspicious: a probe failed, was slow or is late, or it just started), container stats and `/metrics` scraper, started per target only when a runbook needs them ([`Healer::with_sources`]); alerts fed from outside |
//! | detectors | `triggers` (one module per `when:` key), `detect` | event and alert match; N failed probes in a row, threshold held `for:`, trend (least squares), anomaly (EWMA z-score), each Firing / Fine / NotYet |
//! | incidents | `engine`, `classify` | one open incident per target (so an alert storm is one incident); a resolved alert closes the incident it opened; classified with a confidence from the evidence and the target's history |
//! | guardrails | `engine`, `guardrails` | per runbook: cooldown, action limit then one escalation; operator-wide ([`Guardrails`]): at most M actions at once, notify only below a confidence, dry run, approval ([`ApprovalHandle`]) |
//! | runbook selection | `engine`, `knowledge` | of the runbooks whose `when` fires: highest confidence, then best past outcomes in the [`KnowledgeBase`], then file order; the ranking is recorded |
//! | runbooks | `runbook`, `template` | YAML checked through `specfile`: every problem at once, file:line:col; step parameters templated with `{{target}}`, `{{labels.x}}` |
//! | steps | `actions` (one module per action), `incident`, `notify` | `restart` (start what does not run; stop what runs with a `grace`, then start), `recreate`, `stop`, `scale`, `rollback` (to the image in [`PREVIOUS_IMAGE_LABEL`]), `update_limits`, `unpause`, `signal`, `wait`, `drain` (out of the balancer's [`rotation`] until the incident ends), `http` to the target, `notify` (Slack / PagerDuty bodies), each with a timeout and retries |
//! | verify | `verify` | HTTP probes of the target's health path ([`HEALTH_LABEL`]) every 50 ms, several in flight, until N sent in a row answer healthily |
//! | advise | `advisor`, `engine` | off by default ([`Healer::with_advisor`]): evidence no runbook matches, or a match below the confidence guardrail, is sent to an OpenAI-compatible model server; its strict JSON answer is acted on only when it names a runbook of the library that applies, at enough confidence, through the same guardrails; `AdvisorConsulted` records it |
//! | escalate | `incident` | an `Escalated` event |
//! | learn | `engine`, `knowledge` | an `IncidentClosed` event; success rate and mean time to recover per (class, runbook), optionally kept as JSON |
//!
//! The healer touches the world only through a [`Platform`] and reports only its decisions, as
//! [`journal::Event`]s, to a [`journal::Sink`]. It knows nothing about scenarios or load.

mod actions;
pub mod advisor;
mod alert_source;
pub mod alertmanager;
mod classify;
mod detect;
mod engine;
mod excerpt;
#[doc(hidden)]
pub mod fuzzing;
mod guardrails;
mod incident;
mod knowledge;
mod notify;
mod platform;
pub mod rotation;
mod runbook;
#[cfg(feature = "serve")]
pub mod serve;
mod signal;
mod sources;
mod template;
mod triggers;
mod verify;

pub use advisor::{Advisor, AdvisorError};
pub use alert_source::AlertSource;
pub use engine::{Healer, HealerError};
pub use guardrails::{ApprovalHandle, Guardrails};
pub use knowledge::{KnowledgeBase, KnowledgeError, OutcomeStats};
#[cfg(feature = "docker")]
pub use platform::docker::{forget_stale_neighbors, DockerPlatform, NAME_LABEL, REPLICA_OF_LABEL};
#[cfg(feature = "docker")]
pub use platform::swarm::SwarmPlatform;
pub use platform::{
    Limits, Platform, PlatformError, Scale, Scope, Stats, PREVIOUS_IMAGE_LABEL,
    ROLLED_BACK_FROM_LABEL,
};
pub use runbook::{Runbook, RunbookError};
pub use signal::{Alert, Signal, SignalKind, TargetRef};
pub use sources::{SourceSettings, HEALTH_LABEL, METRICS_LABEL, NO_HEALTH_ENDPOINT};
pub use verify::{verify_health, Outcome as VerifyOutcome};
