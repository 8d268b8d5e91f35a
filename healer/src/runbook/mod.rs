//! Runbooks: YAML files saying which faults they handle (`when`), what to do (`steps`), how to
//! check it worked (`verify`), and how often they may act. [`spec`] is the file as written;
//! [`compile`] checks it, reporting every problem at once, into a [`Runbook`].

mod compile;
mod spec;

/// Where [`crate::notify`] finds the body formats of `notify` steps.
pub(crate) use crate::actions::notify::NotifyFormat;
pub(crate) use compile::StepFields;

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use specfile::Problems;

use crate::actions::Action;
use crate::platform::Scope;
use crate::signal::SignalKind;

/// Every problem of one runbook file, each at file:line:col with its field.
pub type RunbookError = Problems;

/// A validated runbook. Build one with [`Runbook::load`] or [`Runbook::parse`].
#[derive(Debug, Clone)]
pub struct Runbook {
    pub(crate) name: String,
    pub(crate) description: String,
    /// The incident class this runbook handles (`oom`, `crash_loop`…).
    pub(crate) class: String,
    /// How sure a match of `when` makes the healer of `class`, 0..=1.
    pub(crate) confidence: f64,
    pub(crate) when: Vec<Trigger>,
    pub(crate) steps: Vec<Step>,
    pub(crate) verify: Verify,
    /// Per target, after an incident closes: faults in this time are not acted on.
    pub(crate) cooldown: Duration,
    /// Remediations per target allowed within `window`; past it the healer escalates.
    pub(crate) max_actions: NonZeroU32,
    pub(crate) window: Duration,
    /// Only targets carrying all of these labels (`targets: { role: dependency }`); empty: every
    /// target in the healer's scope.
    pub(crate) targets: Scope,
}

/// A fault a runbook handles: one entry of its `when` list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Trigger {
    /// `docker_event: oom`
    Oom,
    /// `docker_event: die`, optionally only for one `exit_code`.
    Died { exit_code: Option<i64> },
    /// `health: unhealthy`
    Unhealthy,
    /// `probe_failures: N`: N failed probes of the healer's own prober in a row.
    ProbeFailures { count: NonZeroU32 },
    /// `alert: NAME` (or `*`), with `labels` the alert must carry.
    Alert {
        name: Option<String>,
        labels: BTreeMap<String, String>,
    },
    /// `threshold: METRIC, above: X, for: D`: every sample above X for at least D.
    Threshold {
        metric: String,
        above: f64,
        hold: Duration,
    },
    /// `trend: METRIC, reaches: X, within: D`: the fitted line reaches X within D.
    Trend {
        metric: String,
        reaches: f64,
        within: Duration,
        samples: usize,
    },
    /// `anomaly: METRIC, z: Z`: a sample Z standard deviations above the learned mean.
    Anomaly { metric: String, z: f64, warmup: u32 },
}

/// One remediation step: its action (see [`crate::actions`]), timeout and retries.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) action: Action,
    pub(crate) timeout: Duration,
    /// Further attempts after a failed one.
    pub(crate) retries: u32,
}

/// How to check the target works again after the steps (see [`crate::verify`] for the
/// schedule of probes).
#[derive(Debug, Clone)]
pub(crate) struct Verify {
    /// The path asked; default: the target's own health path, its `healer.health` label, else
    /// the healer's probe path (`/health`). Name one only when verification must ask something
    /// other than the target's health endpoint.
    pub(crate) http_path: Option<String>,
    /// Container port; default: the target's `healer.port` label, else 8080.
    pub(crate) port: Option<u16>,
    /// Time from the first probe until verification gives up; more than zero.
    pub(crate) within: Duration,
    /// Probes sent one after the other that must all answer 2xx.
    pub(crate) consecutive: NonZeroU32,
}

impl Runbook {
    /// Reads and validates the runbook at `path`.
    pub fn load(path: &Path) -> Result<Runbook, RunbookError> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Problems::whole_file(path, format!("cannot read the runbook: {err}")))?;
        Runbook::parse(&text, path)
    }

    /// Validates runbook YAML; `origin` names it in problems (a path, or `<builtin>`).
    pub fn parse(yaml: &str, origin: &Path) -> Result<Runbook, RunbookError> {
        let (spec, map) = specfile::parse::<spec::RunbookSpec>(origin, yaml)?;
        compile::compile(spec, map, origin)
    }

    /// The runbook's name, as journal events show it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The incident class it handles.
    pub fn class(&self) -> &str {
        &self.class
    }

    /// What it is for, in a sentence.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl Trigger {
    /// Whether a signal of `kind` is a fault this trigger names by itself (event and alert
    /// matches). Detectors over series of samples live in [`crate::detect`].
    pub(crate) fn matches(&self, kind: &SignalKind) -> bool {
        match (self, kind) {
            (Trigger::Oom, SignalKind::Oom) => true,
            (Trigger::Died { exit_code: None }, SignalKind::Died { .. }) => true,
            (
                Trigger::Died {
                    exit_code: Some(want),
                },
                SignalKind::Died { exit_code },
            ) => *exit_code == Some(*want),
            (Trigger::Unhealthy, SignalKind::Health { healthy }) => !healthy,
            (Trigger::Alert { name, labels }, SignalKind::Alert(alert)) => {
                alert.firing
                    && name.as_ref().is_none_or(|want| *want == alert.name)
                    && labels
                        .iter()
                        .all(|(key, value)| alert.labels.get(key) == Some(value))
            }
            _ => false,
        }
    }
}

/// The trigger as the runbook spells it.
impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Oom => f.write_str("docker_event: oom"),
            Trigger::Died { exit_code: None } => f.write_str("docker_event: die"),
            Trigger::Died {
                exit_code: Some(code),
            } => write!(f, "docker_event: die, exit_code: {code}"),
            Trigger::Unhealthy => f.write_str("health: unhealthy"),
            Trigger::ProbeFailures { count } => write!(f, "probe_failures: {count}"),
            Trigger::Alert { name, labels } => {
                write!(f, "alert: {}", name.as_deref().unwrap_or("*"))?;
                if !labels.is_empty() {
                    write!(f, ", labels: {labels:?}")?;
                }
                Ok(())
            }
            Trigger::Threshold {
                metric,
                above,
                hold,
            } => write!(f, "threshold: {metric}, above: {above}, for: {hold:?}"),
            Trigger::Trend {
                metric,
                reaches,
                within,
                ..
            } => write!(f, "trend: {metric}, reaches: {reaches}, within: {within:?}"),
            Trigger::Anomaly { metric, z, .. } => write!(f, "anomaly: {metric}, z: {z}"),
        }
    }
}

#[cfg(test)]
mod tests;
