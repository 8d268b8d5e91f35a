//! `steps[i]` → [`Step`]: the action and the parameters each one takes, and its timeout.

use std::str::FromStr;
use std::time::Duration;

use specfile::Scalar;

use super::Compiler;
use crate::platform::{Limits, Scale};
use crate::runbook::spec::StepSpec;
use crate::runbook::{Action, NotifyFormat, Step};
use crate::template::Template;

const ACTIONS: &[&str] = &[
    "restart",
    "recreate",
    "stop",
    "scale",
    "rollback",
    "update_limits",
    "wait",
    "drain",
    "http",
    "notify",
    "signal",
];
const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// `restart` and `stop`: from the stop signal to SIGKILL, unless the step sets `grace`.
const DEFAULT_GRACE: Duration = Duration::from_secs(1);
/// `drain`: the longest wait for the requests in flight, unless the step sets `duration`.
const DEFAULT_DRAIN_WAIT: Duration = Duration::from_secs(2);

impl Compiler {
    pub(super) fn step(&mut self, path: &str, spec: &StepSpec) -> Option<Step> {
        self.p.unknown_fields(path, &spec.unknown, StepSpec::FIELDS);
        let retries = match &spec.retries {
            None => Some(0),
            Some(v) => self.parse_num::<u32>(&format!("{path}.retries"), v, "a whole number"),
        };
        let field = format!("{path}.action");
        let Some(action) = spec.action.as_ref() else {
            self.missing(&field);
            return None;
        };
        let given = [
            ("grace", spec.grace.is_some()),
            ("duration", spec.duration.is_some()),
            ("method", spec.method.is_some()),
            ("path", spec.path.is_some()),
            ("port", spec.port.is_some()),
            ("url", spec.url.is_some()),
            ("format", spec.format.is_some()),
            ("text", spec.text.is_some()),
            ("routing_key", spec.routing_key.is_some()),
            ("signal", spec.signal.is_some()),
            ("replicas", spec.replicas.is_some()),
            ("by", spec.by.is_some()),
            ("memory", spec.memory.is_some()),
            ("cpus", spec.cpus.is_some()),
        ];
        let sub = |key: &str| format!("{path}.{key}");
        let kind = action.as_str();
        let action = match kind {
            "restart" => {
                self.only(path, kind, &["grace"], &given);
                self.duration_or(&sub("grace"), spec.grace.as_ref(), DEFAULT_GRACE)
                    .map(|grace| Action::Restart { grace })
            }
            "stop" => {
                self.only(path, kind, &["grace"], &given);
                self.duration_or(&sub("grace"), spec.grace.as_ref(), DEFAULT_GRACE)
                    .map(|grace| Action::Stop { grace })
            }
            "recreate" => {
                self.only(path, kind, &[], &given);
                Some(Action::Recreate)
            }
            "rollback" => {
                self.only(path, kind, &[], &given);
                Some(Action::Rollback)
            }
            "scale" => {
                self.only(path, kind, &["replicas", "by"], &given);
                match (&spec.replicas, &spec.by) {
                    (Some(n), None) => self
                        .parse_num::<u32>(&sub("replicas"), n, "a whole number of replicas")
                        .map(|n| Action::Scale(Scale::To(n))),
                    (None, Some(by)) => self
                        .parse_num::<i32>(&sub("by"), by, "a whole number such as +1 or -1")
                        .map(|by| Action::Scale(Scale::By(by))),
                    _ => {
                        self.p.push(
                            path,
                            "`scale` takes exactly one of `replicas` (how many) and `by` (+N or -N)",
                            None,
                        );
                        None
                    }
                }
            }
            "update_limits" => {
                self.only(path, kind, &["memory", "cpus"], &given);
                let memory = match &spec.memory {
                    None => Some(None),
                    Some(v) => self.p.size(&sub("memory"), v.as_str()).map(Some),
                };
                let cpus = match &spec.cpus {
                    None => Some(None),
                    Some(v) => self.number(&sub("cpus"), v, 0.01..=1024.0).map(Some),
                };
                if spec.memory.is_none() && spec.cpus.is_none() {
                    self.p
                        .push(path, "`update_limits` needs `memory`, `cpus` or both", None);
                }
                Some(Action::UpdateLimits(Limits {
                    memory_bytes: memory?,
                    cpus: cpus?,
                }))
            }
            "wait" => {
                self.only(path, kind, &["duration"], &given);
                self.required_duration(&sub("duration"), spec.duration.as_ref())
                    .map(Action::Wait)
            }
            "drain" => {
                self.only(path, kind, &["duration"], &given);
                self.duration_or(&sub("duration"), spec.duration.as_ref(), DEFAULT_DRAIN_WAIT)
                    .map(|wait| Action::Drain { wait })
            }
            "http" => {
                self.only(path, kind, &["method", "path", "port"], &given);
                let method = match &spec.method {
                    None => Some(reqwest::Method::POST),
                    Some(m) => match m.as_str() {
                        "GET" | "POST" | "PUT" | "DELETE" => {
                            reqwest::Method::from_str(m.as_str()).ok()
                        }
                        other => self.bad_choice(
                            &sub("method"),
                            other,
                            &["GET", "POST", "PUT", "DELETE"],
                        ),
                    },
                };
                let http_path = self.required(&sub("path"), spec.path.as_ref(), |c, f, v| {
                    if !v.as_str().starts_with('/') {
                        c.p.push(f, format!("must start with `/`, got `{v}`"), None);
                        return None;
                    }
                    c.template(f, v)
                });
                let port = match &spec.port {
                    None => Some(None),
                    Some(v) => self
                        .parse_num::<u16>(&sub("port"), v, "a port number")
                        .map(Some),
                };
                Some(Action::Http {
                    method: method?,
                    path: http_path?,
                    port: port?,
                })
            }
            "notify" => {
                self.only(
                    path,
                    kind,
                    &["url", "format", "text", "routing_key"],
                    &given,
                );
                let url = self.required(&sub("url"), spec.url.as_ref(), |c, f, v| c.template(f, v));
                let text = match &spec.text {
                    None => Template::parse("{{class}} incident {{incident}} on {{target}}").ok(),
                    Some(v) => self.template(&sub("text"), v),
                };
                let format = match spec.format.as_ref().map(Scalar::as_str) {
                    None | Some("slack") => {
                        if spec.routing_key.is_some() {
                            self.p.push(
                                &sub("routing_key"),
                                "`routing_key` goes only with `format: pagerduty`",
                                None,
                            );
                        }
                        Some(NotifyFormat::Slack)
                    }
                    Some("pagerduty") => self
                        .required_text(&sub("routing_key"), spec.routing_key.as_ref())
                        .map(|routing_key| NotifyFormat::PagerDuty { routing_key }),
                    Some(other) => self.bad_choice(&sub("format"), other, &["slack", "pagerduty"]),
                };
                Some(Action::Notify {
                    url: url?,
                    format: format?,
                    text: text?,
                })
            }
            "signal" => {
                self.only(path, kind, &["signal"], &given);
                self.required(&sub("signal"), spec.signal.as_ref(), |c, f, v| {
                    let name = v.as_str();
                    if name.starts_with("SIG")
                        && name.len() > 3
                        && name
                            .chars()
                            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
                    {
                        Some(Action::Signal(name.to_owned()))
                    } else {
                        c.p.push(
                            f,
                            format!("expected a signal name such as SIGHUP, got `{name}`"),
                            None,
                        );
                        None
                    }
                })
            }
            other => self.bad_choice(&field, other, ACTIONS),
        };
        let default_timeout = match kind {
            "wait" => None,
            "http" | "notify" => Some(DEFAULT_HTTP_TIMEOUT),
            _ => None,
        };
        let timeout = match (&spec.timeout, default_timeout, &action) {
            (Some(v), _, _) => self.p.duration(&sub("timeout"), v.as_str()),
            (None, Some(default), _) => Some(default),
            (None, None, Some(Action::Wait(duration) | Action::Drain { wait: duration })) => {
                Some(*duration + Duration::from_secs(1))
            }
            (None, None, _) => {
                self.missing(&sub("timeout"));
                None
            }
        };
        Some(Step {
            action: action?,
            timeout: timeout?,
            retries: retries?,
        })
    }
}
