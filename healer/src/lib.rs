//! Runbooks-as-code self-healing: watch a platform's signals, open incidents, remediate through
//! runbooks, verify the target answers again, and escalate when it does not.
//!
//! The pipeline, one module per stage so each can grow on its own:
//!
//! | stage | module | today |
//! |---|---|---|
//! | signals | [`signal`], [`Platform::signals`], [`Healer::with_external_signals`] | Docker container events; alerts, probe results and metric samples fed from outside |
//! | detectors | `detect` | event and alert match; N failed probes in a row, threshold held `for:`, trend (least squares), anomaly (EWMA z-score), each Firing / Fine / NotYet |
//! | incidents + guardrails | `engine` | one open incident per target (so an alert storm is one incident), cooldown, action limit |
//! | runbook selection | `detect` | first runbook whose `when` fires |
//! | runbooks | `runbook`, `template` | YAML checked through `specfile`: every problem at once, file:line:col; step parameters templated with `{{target}}`, `{{labels.x}}` |
//! | steps | `incident`, `notify` | `restart`, `stop`, `signal`, `wait`, `http` to the target, `notify` (Slack / PagerDuty bodies), each with a timeout and retries |
//! | verify | `verify` | HTTP probes until N healthy answers in a row |
//! | escalate | `incident` | an `Escalated` event |
//!
//! The healer touches the world only through a [`Platform`] and reports only its decisions, as
//! [`journal::Event`]s, to a [`journal::Sink`]. It knows nothing about scenarios or load.

pub mod alertmanager;
mod detect;
mod engine;
mod incident;
mod notify;
mod platform;
mod runbook;
mod signal;
mod template;
mod verify;

pub use engine::{Healer, HealerError};
pub use platform::docker::{DockerPlatform, NAME_LABEL};
pub use platform::{Platform, PlatformError, Scope};
pub use runbook::{Runbook, RunbookError};
pub use signal::{Alert, Signal, SignalKind, TargetRef};
