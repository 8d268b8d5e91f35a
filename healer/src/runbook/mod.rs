//! Runbooks: YAML files saying which faults they handle (`when`, and `fallback` while the alert
//! source is lost), what to do (`steps`), how to check it worked (`verify`), and how often they
//! may act. [`spec`] is the file as written;
//! [`compile`] checks it, reporting every problem at once, into a [`Runbook`].

mod compile;
mod spec;

/// Where [`crate::notify`] finds the body formats of `notify` steps.
pub(crate) use crate::actions::notify::NotifyFormat;
pub(crate) use compile::{distinct, StepFields, TriggerFields};

use std::num::NonZeroU32;
use std::path::Path;
use std::time::Duration;

use specfile::Problems;

use crate::actions::Action;
use crate::platform::Scope;
use crate::triggers::Trigger;

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
    /// What it handles (see [`crate::triggers`]).
    pub(crate) when: Vec<Trigger>,
    /// Triggers of the healer's own signals that stand in for the `alert` triggers of `when`
    /// while the healer's alert source is lost (see [`crate::alert_source`]); live only then.
    pub(crate) fallback: Vec<Trigger>,
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

    /// Every trigger: those of `when`, then those of `fallback` (from index `when.len()`).
    pub(crate) fn triggers(&self) -> impl Iterator<Item = &Trigger> {
        self.when.iter().chain(&self.fallback)
    }

    /// What it is for, in a sentence.
    pub fn description(&self) -> &str {
        &self.description
    }
}

#[cfg(test)]
mod tests;
