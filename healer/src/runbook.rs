//! Runbooks: YAML files saying which faults they handle, what to do, how to check it worked,
//! and how often they may act.

use std::fmt;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};

use crate::duration;
use crate::signal::SignalKind;

/// A validated runbook. Build one with [`Runbook::load`] or [`Runbook::parse`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    /// The incident class this runbook handles (`oom`, `crash`…).
    pub(crate) class: String,
    #[serde(deserialize_with = "non_empty")]
    pub(crate) when: Vec<Trigger>,
    #[serde(deserialize_with = "non_empty")]
    pub(crate) steps: Vec<Step>,
    pub(crate) verify: Verify,
    /// Per target, after an incident closes: faults in this time are not acted on.
    #[serde(deserialize_with = "duration::deserialize")]
    pub(crate) cooldown: Duration,
    /// Remediations per target allowed within `window`; past it the healer escalates.
    pub(crate) max_actions: NonZeroU32,
    #[serde(deserialize_with = "duration::deserialize")]
    pub(crate) window: Duration,
}

/// A fault a runbook handles: one entry of its `when` list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "TriggerSpec")]
pub(crate) enum Trigger {
    /// `docker_event: oom`
    Oom,
    /// `docker_event: die`, optionally only for one `exit_code`.
    Died { exit_code: Option<i64> },
    /// `health: unhealthy`
    Unhealthy,
}

/// One remediation step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Step {
    pub(crate) action: Action,
    #[serde(deserialize_with = "duration::deserialize")]
    pub(crate) timeout: Duration,
    /// Further attempts after a failed one.
    #[serde(default)]
    pub(crate) retries: u32,
}

/// What a step does to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    Restart,
}

/// How to check the target works again after the steps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Verify {
    #[serde(deserialize_with = "http_path")]
    pub(crate) http_path: String,
    /// Container port; default: the target's `healer.port` label, else 8080.
    #[serde(default)]
    pub(crate) port: Option<u16>,
    #[serde(deserialize_with = "duration::deserialize")]
    pub(crate) within: Duration,
    /// Healthy answers in a row needed.
    #[serde(default = "one")]
    pub(crate) consecutive: NonZeroU32,
}

/// A runbook file could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunbookError {
    /// The file could not be read.
    #[error("cannot read runbook {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The YAML is malformed or does not describe a valid runbook.
    #[error("{}: {message}", location(path, *line, *column))]
    Invalid {
        path: PathBuf,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// 1-based column, when the parser knows it.
        column: Option<usize>,
        message: String,
    },
}

fn location(path: &Path, line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("{}:{line}:{column}", path.display()),
        _ => path.display().to_string(),
    }
}

impl Runbook {
    /// Reads and validates the runbook at `path`.
    pub fn load(path: &Path) -> Result<Runbook, RunbookError> {
        let text = std::fs::read_to_string(path).map_err(|source| RunbookError::Read {
            path: path.to_owned(),
            source,
        })?;
        Runbook::parse(&text, path)
    }

    /// Validates runbook YAML; `origin` names it in errors (a path, or `<builtin>`).
    pub fn parse(yaml: &str, origin: &Path) -> Result<Runbook, RunbookError> {
        serde_yaml::from_str(yaml).map_err(|err| {
            let location = err.location();
            let mut message = err.to_string();
            if let Some(at) = &location {
                let suffix = format!(" at line {} column {}", at.line(), at.column());
                if let Some(stripped) = message.strip_suffix(&suffix) {
                    message = stripped.to_owned();
                }
            }
            RunbookError::Invalid {
                path: origin.to_owned(),
                line: location.as_ref().map(|at| at.line()),
                column: location.as_ref().map(|at| at.column()),
                message,
            }
        })
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
    /// Whether a signal of `kind` is a fault this trigger names.
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
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Restart => f.write_str("restart"),
        }
    }
}

/// A `when` entry as written, before its fields are checked against each other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerSpec {
    docker_event: Option<DockerEvent>,
    exit_code: Option<i64>,
    health: Option<HealthState>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DockerEvent {
    Oom,
    Die,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum HealthState {
    Unhealthy,
}

impl TryFrom<TriggerSpec> for Trigger {
    type Error = String;

    fn try_from(spec: TriggerSpec) -> Result<Trigger, String> {
        match (spec.docker_event, spec.exit_code, spec.health) {
            (Some(DockerEvent::Oom), None, None) => Ok(Trigger::Oom),
            (Some(DockerEvent::Die), exit_code, None) => Ok(Trigger::Died { exit_code }),
            (None, None, Some(HealthState::Unhealthy)) => Ok(Trigger::Unhealthy),
            (Some(_), _, Some(_)) | (None, None, None) => {
                Err("a `when` entry needs exactly one of `docker_event` or `health`".to_owned())
            }
            (_, Some(_), _) => Err("`exit_code` goes only with `docker_event: die`".to_owned()),
        }
    }
}

fn non_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let items = Vec::<T>::deserialize(deserializer)?;
    if items.is_empty() {
        return Err(serde::de::Error::invalid_length(0, &"at least one entry"));
    }
    Ok(items)
}

/// Checks the path while the parser still points at it, so the error carries its position.
fn http_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct PathVisitor;

    impl Visitor<'_> for PathVisitor {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an HTTP path starting with `/`")
        }

        fn visit_str<E: de::Error>(self, path: &str) -> Result<String, E> {
            if path.starts_with('/') {
                Ok(path.to_owned())
            } else {
                Err(E::custom(format!(
                    "`http_path` must start with `/`, got `{path}`"
                )))
            }
        }
    }

    deserializer.deserialize_str(PathVisitor)
}

fn one() -> NonZeroU32 {
    NonZeroU32::MIN
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../runbooks/restart-on-oom.yaml");

    fn parse(yaml: &str) -> Result<Runbook, RunbookError> {
        Runbook::parse(yaml, Path::new("rb.yaml"))
    }

    /// The shipped runbook with `from` replaced by `to` (which must occur).
    fn shipped_with(from: &str, to: &str) -> String {
        assert!(SHIPPED.contains(from), "fixture drifted: {from}");
        SHIPPED.replacen(from, to, 1)
    }

    fn error(yaml: &str) -> String {
        parse(yaml).unwrap_err().to_string()
    }

    #[test]
    fn shipped_runbook_loads_with_its_values() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks/restart-on-oom.yaml");
        let runbook = Runbook::load(&path).unwrap();
        assert_eq!(runbook.name(), "restart-on-oom");
        assert_eq!(runbook.class(), "oom");
        assert_eq!(runbook.when, [Trigger::Oom]);
        assert_eq!(runbook.steps.len(), 1);
        assert_eq!(runbook.steps[0].action, Action::Restart);
        assert_eq!(runbook.steps[0].timeout, Duration::from_secs(10));
        assert_eq!(runbook.steps[0].retries, 1);
        assert_eq!(runbook.verify.http_path, "/health");
        assert_eq!(runbook.verify.port, Some(8080));
        assert_eq!(runbook.verify.within, Duration::from_secs(15));
        assert_eq!(runbook.verify.consecutive.get(), 1);
        assert_eq!(runbook.cooldown, Duration::from_secs(5));
        assert_eq!(runbook.max_actions.get(), 5);
        assert_eq!(runbook.window, Duration::from_secs(600));
    }

    #[test]
    fn triggers_parse_and_match_their_signals() {
        let yaml = shipped_with(
            "  - docker_event: oom\n",
            "  - docker_event: die\n    exit_code: 137\n  - health: unhealthy\n",
        );
        let runbook = parse(&yaml).unwrap();
        assert_eq!(
            runbook.when,
            [
                Trigger::Died {
                    exit_code: Some(137)
                },
                Trigger::Unhealthy
            ]
        );
        let died = |exit_code| SignalKind::Died { exit_code };
        assert!(runbook.when[0].matches(&died(Some(137))));
        assert!(!runbook.when[0].matches(&died(Some(1))));
        assert!(!runbook.when[0].matches(&died(None)));
        assert!(Trigger::Died { exit_code: None }.matches(&died(Some(1))));
        assert!(runbook.when[1].matches(&SignalKind::Health { healthy: false }));
        assert!(!runbook.when[1].matches(&SignalKind::Health { healthy: true }));
        assert!(!Trigger::Oom.matches(&SignalKind::Started));
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let err = error(&shipped_with("  within: 15s", "  within: 15"));
        assert!(err.starts_with("rb.yaml:13:11: verify.within: "), "{err}");
        assert!(err.contains("invalid duration \"15\""), "{err}");

        let err = error(&shipped_with(
            "    retries: 1",
            "    retries: 1\n    retry: 2",
        ));
        assert!(err.starts_with("rb.yaml:10:5: steps[0]: "), "{err}");
        assert!(err.contains("unknown field `retry`"), "{err}");

        let err = error(&shipped_with(
            "docker_event: oom",
            "docker_event: oom\n    exit_code: 1",
        ));
        assert!(err.starts_with("rb.yaml:5:3: when: "), "{err}");
        assert!(
            err.contains("`exit_code` goes only with `docker_event: die`"),
            "{err}"
        );
    }

    #[test]
    fn invalid_values_are_rejected() {
        for (from, to, expected) in [
            (
                "docker_event: oom",
                "health: healthy",
                "unknown variant `healthy`",
            ),
            (
                "docker_event: oom",
                "{}",
                "exactly one of `docker_event` or `health`",
            ),
            (
                "http_path: /health",
                "http_path: health",
                "11:14: verify.http_path: `http_path` must start with `/`",
            ),
            ("consecutive: 1", "consecutive: 0", "expected a nonzero u32"),
            ("max_actions: 5", "max_actions: 0", "expected a nonzero u32"),
            (
                "action: restart",
                "action: reboot",
                "unknown variant `reboot`",
            ),
            ("class: oom ", "# ", "missing field `class`"),
        ] {
            let err = error(&shipped_with(from, to));
            assert!(err.contains(expected), "{to}: {err}");
        }
        let no_steps = SHIPPED
            .split_once("steps:")
            .map(|(head, tail)| {
                format!(
                    "{head}steps: []\nverify:{}",
                    tail.split_once("verify:").unwrap().1
                )
            })
            .unwrap();
        assert!(
            error(&no_steps).contains("at least one entry"),
            "{}",
            error(&no_steps)
        );
    }
}
