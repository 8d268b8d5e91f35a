//! The runbook file as users write it: serde structs that keep every leaf needing a check as text
//! ([`Scalar`]) and every unknown key in `unknown`, so [`compile`](super::compile) can report all
//! problems of a file at once. Only `compile` reads these; the engine sees [`Runbook`](super::Runbook).

use std::collections::BTreeMap;

use serde::Deserialize;
use specfile::Scalar;

/// Keys a section does not know, kept so that all of them can be reported at once.
pub(super) type Unknown = BTreeMap<String, serde_yaml::Value>;

/// The whole runbook file.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a runbook: a map with name, class, when, steps, verify, …")]
pub(super) struct RunbookSpec {
    pub(super) name: Option<Scalar>,
    pub(super) description: Option<String>,
    pub(super) class: Option<Scalar>,
    pub(super) confidence: Option<Scalar>,
    #[serde(default)]
    pub(super) when: Vec<TriggerSpec>,
    /// Entries like `when`'s, live only while the healer's alert source is lost; `None`: not
    /// written.
    pub(super) fallback: Option<Vec<TriggerSpec>>,
    #[serde(default)]
    pub(super) steps: Vec<StepSpec>,
    pub(super) verify: Option<VerifySpec>,
    pub(super) cooldown: Option<Scalar>,
    pub(super) max_actions: Option<Scalar>,
    pub(super) window: Option<Scalar>,
    pub(super) targets: Option<BTreeMap<String, Scalar>>,
    #[serde(flatten)]
    pub(super) unknown: Unknown,
}

impl RunbookSpec {
    pub(super) const FIELDS: &[&str] = &[
        "name",
        "description",
        "class",
        "confidence",
        "when",
        "fallback",
        "steps",
        "verify",
        "cooldown",
        "max_actions",
        "window",
        "targets",
    ];
}

/// One `when` (or `fallback`) entry: exactly one kind key (`docker_event`, `threshold`…) and
/// the settings that kind takes; each kind's module in [`crate::triggers`] names and checks its
/// own.
#[derive(Debug, Default, Deserialize)]
#[serde(
    expecting = "a detector, e.g. { docker_event: oom } or { threshold: memory_percent, above: 90, for: 5s }"
)]
pub(super) struct TriggerSpec {
    /// Every key: the kind's, its settings, and unknown keys.
    #[serde(flatten)]
    pub(super) fields: BTreeMap<String, serde_yaml::Value>,
}

/// One step: an `action`, its `timeout` and `retries`, and the fields the action takes.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a step, e.g. { action: restart, timeout: 10s }")]
pub(super) struct StepSpec {
    pub(super) action: Option<Scalar>,
    pub(super) timeout: Option<Scalar>,
    pub(super) retries: Option<Scalar>,
    /// Every other key: the fields of the action (each action's module in [`crate::actions`]
    /// names and checks its own: `grace`, `duration`, `path`…), and unknown keys.
    #[serde(flatten)]
    pub(super) fields: BTreeMap<String, serde_yaml::Value>,
}

impl StepSpec {
    pub(super) const FIELDS: &[&str] = &["action", "timeout", "retries"];
}

/// `verify:` probes every 50 ms until `consecutive` (default 1) probes in a row answer 2xx,
/// at most for `within`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map, e.g. { within: 15s } or { http_path: /ready, within: 15s }")]
pub(super) struct VerifySpec {
    /// Optional: without it, the target's label `healer.health`, else `/health`.
    pub(super) http_path: Option<Scalar>,
    /// Optional: without it, the target's label `healer.port`, else 8080.
    pub(super) port: Option<Scalar>,
    pub(super) within: Option<Scalar>,
    pub(super) consecutive: Option<Scalar>,
    #[serde(flatten)]
    pub(super) unknown: Unknown,
}

impl VerifySpec {
    pub(super) const FIELDS: &[&str] = &["http_path", "port", "within", "consecutive"];
}
