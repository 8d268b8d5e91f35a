//! Spec → [`Runbook`]: applies defaults, parses and checks every value, and collects every
//! problem of the file (each located by its field path) instead of stopping at the first.
//! Helpers return `None` for a bad value after recording why; the runbook is then built with
//! placeholders, and [`ProblemList::finish`] discards it because problems were recorded.

use std::num::NonZeroU32;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use specfile::{did_you_mean, ProblemList, Problems, Scalar, SourceMap};

use super::spec::{RunbookSpec, VerifySpec};
use super::{Runbook, Verify};
use crate::platform::Scope;
use crate::template::Template;

mod fallback;
mod fields;
mod step;
mod trigger;

pub(crate) use fields::{StepFields, TriggerFields};

pub(super) fn compile(spec: RunbookSpec, map: SourceMap, file: &Path) -> Result<Runbook, Problems> {
    let mut c = Compiler {
        p: ProblemList::new(file, map),
    };
    c.p.unknown_fields("", &spec.unknown, RunbookSpec::FIELDS);
    let name = c.required_text("name", spec.name.as_ref());
    let class = c.required_text("class", spec.class.as_ref());
    let confidence = match &spec.confidence {
        None => 1.0,
        Some(value) => c.number("confidence", value, 0.0..=1.0).unwrap_or(1.0),
    };
    if spec.when.is_empty() {
        c.p.push(
            "when",
            "needs at least one entry",
            Some("add e.g. `when: [{docker_event: oom}]`".to_owned()),
        );
    }
    let when: Vec<_> = spec
        .when
        .iter()
        .enumerate()
        .filter_map(|(i, trigger)| c.trigger(&format!("when[{i}]"), trigger))
        .collect();
    let fallback = c.fallback(spec.fallback.as_deref(), &spec.when, &when);
    if spec.steps.is_empty() {
        c.p.push(
            "steps",
            "needs at least one entry",
            Some("add e.g. `steps: [{action: restart, timeout: 10s}]`".into()),
        );
    }
    let steps = spec
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, step)| c.step(&format!("steps[{i}]"), step))
        .collect();
    let verify = c.verify(spec.verify.as_ref());
    let cooldown = c.required_duration("cooldown", spec.cooldown.as_ref());
    let max_actions = c.required(
        "max_actions",
        spec.max_actions.as_ref(),
        |c, field, value| c.nonzero(field, value),
    );
    let window = c.required_duration("window", spec.window.as_ref());
    let targets = Scope {
        labels: spec
            .targets
            .iter()
            .flatten()
            .map(|(key, value)| (key.clone(), value.as_str().to_owned()))
            .collect(),
    };
    let runbook = Runbook {
        name: name.unwrap_or_default(),
        description: spec.description.unwrap_or_default(),
        class: class.unwrap_or_default(),
        confidence,
        when,
        fallback,
        steps,
        verify,
        cooldown: cooldown.unwrap_or_default(),
        max_actions: max_actions.unwrap_or(NonZeroU32::MIN),
        window: window.unwrap_or_default(),
        targets,
    };
    c.p.finish(runbook)
}

struct Compiler {
    p: ProblemList,
}

impl Compiler {
    fn missing(&mut self, field: &str) {
        self.p
            .push(field, format!("missing field `{}`", leaf(field)), None);
    }

    fn required<T>(
        &mut self,
        field: &str,
        value: Option<&Scalar>,
        check: impl FnOnce(&mut Self, &str, &Scalar) -> Option<T>,
    ) -> Option<T> {
        match value {
            Some(value) => check(self, field, value),
            None => {
                self.missing(field);
                None
            }
        }
    }

    fn required_text(&mut self, field: &str, value: Option<&Scalar>) -> Option<String> {
        self.required(field, value, |c, field, value| {
            if value.as_str().trim().is_empty() {
                c.p.push(field, "must not be empty", None);
                return None;
            }
            Some(value.as_str().to_owned())
        })
    }

    fn required_duration(&mut self, field: &str, value: Option<&Scalar>) -> Option<Duration> {
        self.required(field, value, |c, field, value| {
            c.p.duration(field, value.as_str())
        })
    }

    fn duration_or(
        &mut self,
        field: &str,
        value: Option<&Scalar>,
        default: Duration,
    ) -> Option<Duration> {
        self.p
            .duration_or(field, value.map(Scalar::as_str), default)
    }

    fn nonzero(&mut self, field: &str, value: &Scalar) -> Option<NonZeroU32> {
        self.parse_num::<NonZeroU32>(field, value, "a whole number of at least 1")
    }

    fn parse_num<T: FromStr>(&mut self, field: &str, value: &Scalar, expected: &str) -> Option<T> {
        self.p.parsed(field, value.as_str(), |text| {
            text.trim()
                .parse()
                .map_err(|_| format!("expected {expected}, got `{text}`"))
        })
    }

    fn number(
        &mut self,
        field: &str,
        value: &Scalar,
        range: std::ops::RangeInclusive<f64>,
    ) -> Option<f64> {
        let number: f64 = self.parse_num(field, value, "a number")?;
        if !range.contains(&number) {
            self.p.push(
                field,
                format!(
                    "must be between {} and {}, got {number}",
                    range.start(),
                    range.end()
                ),
                None,
            );
            return None;
        }
        Some(number)
    }

    fn template(&mut self, field: &str, value: &Scalar) -> Option<Template> {
        self.p.parsed(field, value.as_str(), Template::parse)
    }

    /// Reports each setting in `given` that the entry's kind does not take.
    fn only<'k>(
        &mut self,
        path: &str,
        kind: &str,
        allowed: &[&str],
        given: impl IntoIterator<Item = &'k String>,
    ) {
        for key in given {
            if !allowed.contains(&key.as_str()) {
                let takes = if allowed.is_empty() {
                    "no other settings".to_owned()
                } else {
                    allowed.join(", ")
                };
                self.p.push(
                    &format!("{path}.{key}"),
                    format!("`{key}` does not go with `{kind}`, which takes: {takes}"),
                    None,
                );
            }
        }
    }

    fn bad_choice<T>(&mut self, field: &str, got: &str, expected: &[&str]) -> Option<T> {
        self.p.push(
            field,
            format!(
                "unknown value `{got}`, expected one of: {}",
                expected.join(", ")
            ),
            did_you_mean(got, expected),
        );
        None
    }

    fn verify(&mut self, spec: Option<&VerifySpec>) -> Verify {
        let placeholder = Verify {
            http_path: None,
            port: None,
            within: Duration::ZERO,
            consecutive: NonZeroU32::MIN,
        };
        let Some(spec) = spec else {
            self.missing("verify");
            return placeholder;
        };
        self.p
            .unknown_fields("verify", &spec.unknown, VerifySpec::FIELDS);
        // Optional: without it, verification asks the target's own health path.
        let http_path = spec.http_path.as_ref().and_then(|v| {
            if v.as_str().starts_with('/') {
                return Some(v.as_str().to_owned());
            }
            self.p.push(
                "verify.http_path",
                format!("`http_path` must start with `/`, got `{v}`"),
                Some(
                    "write e.g. `/health`, or leave `http_path` out to ask the target's health \
                     path (its label `healer.health`, else /health)"
                        .to_owned(),
                ),
            );
            None
        });
        let port = match &spec.port {
            None => None,
            Some(v) => self.parse_num::<u16>("verify.port", v, "a port number"),
        };
        let within = self.required("verify.within", spec.within.as_ref(), |c, f, v| {
            let within = c.p.duration(f, v.as_str())?;
            if within.is_zero() {
                c.p.push(
                    f,
                    "must be longer than 0s: no probe can answer in no time",
                    Some("write e.g. `within: 15s`".to_owned()),
                );
                return None;
            }
            Some(within)
        });
        let consecutive = match &spec.consecutive {
            None => Some(NonZeroU32::MIN),
            Some(v) => self.nonzero("verify.consecutive", v),
        };
        Verify {
            http_path,
            port,
            within: within.unwrap_or_default(),
            consecutive: consecutive.unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Each name of `names` once, in the order first given: the fields several kinds share.
pub(crate) fn distinct<'a>(names: impl IntoIterator<Item = &'a &'static str>) -> Vec<&'static str> {
    let mut distinct: Vec<&'static str> = Vec::new();
    for name in names {
        if !distinct.contains(name) {
            distinct.push(name);
        }
    }
    distinct
}

/// `a.b[2].c` → `c`.
fn leaf(field: &str) -> &str {
    field.rsplit(['.', '[']).next().unwrap_or(field)
}
