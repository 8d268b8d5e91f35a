//! Runbooks-as-code self-healing: watch a platform's signals, open incidents, remediate through
//! runbooks, verify the target answers again, and escalate when it does not.
//!
//! The pipeline, one module per stage so each can grow on its own:
//!
//! | stage | module | today |
//! |---|---|---|
//! | signals | [`signal`], [`Platform::signals`] | Docker container events |
//! | detectors | `detect` | a fault signal matched by a runbook's `when` |
//! | incidents + guardrails | `engine` | one open incident per target, cooldown, action limit |
//! | runbook selection | `detect` | first runbook whose `when` matches |
//! | steps | `incident` | `restart`, with retries |
//! | verify | `verify` | HTTP probes until N healthy answers in a row |
//! | escalate | `incident` | an `Escalated` event |
//!
//! The healer touches the world only through a [`Platform`] and reports only its decisions, as
//! [`journal::Event`]s, to a [`journal::Sink`]. It knows nothing about scenarios or load.

mod detect;
mod duration;
mod engine;
mod incident;
mod platform;
mod runbook;
mod signal;
mod verify;

pub use engine::{Healer, HealerError};
pub use platform::docker::{DockerPlatform, NAME_LABEL};
pub use platform::{Platform, PlatformError, Scope};
pub use runbook::{Runbook, RunbookError};
pub use signal::{Signal, SignalKind, TargetRef};
