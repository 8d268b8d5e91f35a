//! `docker_event: oom` and `docker_event: die` (optionally only for one `exit_code`): a
//! container event the platform reports.

use std::fmt;

use specfile::Scalar;

use super::TriggerKind;
use crate::classify::Symptom;
use crate::runbook::TriggerFields;
use crate::signal::SignalKind;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DockerEvent {
    /// `docker_event: oom`
    Oom,
    /// `docker_event: die`, optionally only for one `exit_code`.
    Died { exit_code: Option<i64> },
}

impl TriggerKind for DockerEvent {
    const KEY: &'static str = "docker_event";
    const FIELDS: &'static [&'static str] = &["exit_code"];

    fn compile(value: &Scalar, when: &mut TriggerFields<'_>) -> Option<Self> {
        match value.as_str() {
            "oom" => {
                if when.get("exit_code").is_some() {
                    let field = when.field("exit_code");
                    when.push(&field, "`exit_code` goes only with `docker_event: die`");
                }
                Some(DockerEvent::Oom)
            }
            "die" => {
                let exit_code = when.optional("exit_code", |when, field, code| {
                    when.whole::<i64>(field, code, "an exit code")
                })?;
                Some(DockerEvent::Died { exit_code })
            }
            other => {
                let field = when.field(Self::KEY);
                when.bad_choice(&field, other, &["oom", "die"])
            }
        }
    }

    fn matches(&self, kind: &SignalKind) -> bool {
        match (self, kind) {
            (DockerEvent::Oom, SignalKind::Oom) => true,
            (DockerEvent::Died { exit_code: want }, SignalKind::Died { exit_code }) => {
                want.is_none_or(|want| *exit_code == Some(want))
            }
            _ => false,
        }
    }

    fn symptom(&self) -> Symptom<'_> {
        match self {
            DockerEvent::Oom => Symptom::Oom,
            DockerEvent::Died { .. } => Symptom::Other,
        }
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerEvent::Oom => f.write_str("docker_event: oom"),
            DockerEvent::Died { exit_code: None } => f.write_str("docker_event: die"),
            DockerEvent::Died {
                exit_code: Some(code),
            } => write!(f, "docker_event: die, exit_code: {code}"),
        }
    }
}
