//! Spec → [`Runbook`]: applies defaults, parses and checks every value, and collects every
//! problem of the file (each located by its field path) instead of stopping at the first.
//! Helpers return `None` for a bad value after recording why; the runbook is then built with
//! placeholders, and [`ProblemList::finish`] discards it because problems were recorded.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use specfile::{did_you_mean, ProblemList, Problems, Scalar, SourceMap};

use super::spec::{RunbookSpec, TriggerSpec, VerifySpec};
use super::{Runbook, Trigger, Verify};
use crate::platform::Scope;
use crate::template::Template;

mod step;

pub(crate) use step::StepFields;

const KINDS: &[&str] = &[
    "docker_event",
    "health",
    "probe_failures",
    "alert",
    "threshold",
    "trend",
    "anomaly",
];
const DEFAULT_TREND_SAMPLES: usize = 5;
const DEFAULT_ANOMALY_WARMUP: u32 = 20;

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
    let when = spec
        .when
        .iter()
        .enumerate()
        .filter_map(|(i, trigger)| c.trigger(&format!("when[{i}]"), trigger))
        .collect();
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
        match value {
            Some(value) => self.p.duration(field, value.as_str()),
            None => Some(default),
        }
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
    fn only(&mut self, path: &str, kind: &str, allowed: &[&str], given: &[(&str, bool)]) {
        for (key, present) in given {
            if *present && !allowed.contains(key) {
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

    fn trigger(&mut self, path: &str, spec: &TriggerSpec) -> Option<Trigger> {
        self.p
            .unknown_fields(path, &spec.unknown, TriggerSpec::FIELDS);
        let kinds: Vec<(&str, &Scalar)> = [
            ("docker_event", &spec.docker_event),
            ("health", &spec.health),
            ("probe_failures", &spec.probe_failures),
            ("alert", &spec.alert),
            ("threshold", &spec.threshold),
            ("trend", &spec.trend),
            ("anomaly", &spec.anomaly),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|value| (key, value)))
        .collect();
        let &[(kind, value)] = kinds.as_slice() else {
            self.p.push(
                path,
                format!("a `when` entry needs exactly one of: {}", KINDS.join(", ")),
                None,
            );
            return None;
        };
        let given = [
            ("exit_code", spec.exit_code.is_some()),
            ("labels", spec.labels.is_some()),
            ("above", spec.above.is_some()),
            ("for", spec.for_.is_some()),
            ("reaches", spec.reaches.is_some()),
            ("within", spec.within.is_some()),
            ("samples", spec.samples.is_some()),
            ("z", spec.z.is_some()),
            ("warmup", spec.warmup.is_some()),
        ];
        let field = format!("{path}.{kind}");
        match kind {
            "docker_event" => {
                self.only(path, kind, &["exit_code"], &given);
                match value.as_str() {
                    "oom" => {
                        if spec.exit_code.is_some() {
                            self.p.push(
                                &format!("{path}.exit_code"),
                                "`exit_code` goes only with `docker_event: die`",
                                None,
                            );
                        }
                        Some(Trigger::Oom)
                    }
                    "die" => {
                        let exit_code = match &spec.exit_code {
                            None => None,
                            Some(code) => Some(self.parse_num::<i64>(
                                &format!("{path}.exit_code"),
                                code,
                                "an exit code",
                            )?),
                        };
                        Some(Trigger::Died { exit_code })
                    }
                    other => self.bad_choice(&field, other, &["oom", "die"]),
                }
            }
            "health" => {
                self.only(path, kind, &[], &given);
                match value.as_str() {
                    "unhealthy" => Some(Trigger::Unhealthy),
                    other => self.bad_choice(&field, other, &["unhealthy"]),
                }
            }
            "probe_failures" => {
                self.only(path, kind, &[], &given);
                let count = self.nonzero(&field, value)?;
                Some(Trigger::ProbeFailures { count })
            }
            "alert" => {
                self.only(path, kind, &["labels"], &given);
                let name = match value.as_str() {
                    "*" => None,
                    name => Some(name.to_owned()),
                };
                let labels: BTreeMap<String, String> = spec
                    .labels
                    .iter()
                    .flatten()
                    .map(|(key, value)| (key.clone(), value.as_str().to_owned()))
                    .collect();
                Some(Trigger::Alert { name, labels })
            }
            "threshold" => {
                self.only(path, kind, &["above", "for"], &given);
                let above =
                    self.required(&format!("{path}.above"), spec.above.as_ref(), |c, f, v| {
                        c.parse_num::<f64>(f, v, "a number")
                    });
                let hold =
                    self.duration_or(&format!("{path}.for"), spec.for_.as_ref(), Duration::ZERO);
                Some(Trigger::Threshold {
                    metric: value.as_str().to_owned(),
                    above: above?,
                    hold: hold?,
                })
            }
            "trend" => {
                self.only(path, kind, &["reaches", "within", "samples"], &given);
                let reaches = self.required(
                    &format!("{path}.reaches"),
                    spec.reaches.as_ref(),
                    |c, f, v| c.parse_num::<f64>(f, v, "a number"),
                );
                let within =
                    self.required_duration(&format!("{path}.within"), spec.within.as_ref());
                let samples = match &spec.samples {
                    None => Some(DEFAULT_TREND_SAMPLES),
                    Some(v) => match self.parse_num::<usize>(
                        &format!("{path}.samples"),
                        v,
                        "a whole number",
                    ) {
                        Some(n) if n >= 3 => Some(n),
                        Some(_) => {
                            self.p.push(
                                &format!("{path}.samples"),
                                "a trend needs at least 3 samples",
                                None,
                            );
                            None
                        }
                        None => None,
                    },
                };
                Some(Trigger::Trend {
                    metric: value.as_str().to_owned(),
                    reaches: reaches?,
                    within: within?,
                    samples: samples?,
                })
            }
            _ => {
                self.only(path, kind, &["z", "warmup"], &given);
                let z = self.required(&format!("{path}.z"), spec.z.as_ref(), |c, f, v| {
                    c.number(f, v, 0.5..=100.0)
                });
                let warmup = match &spec.warmup {
                    None => Some(DEFAULT_ANOMALY_WARMUP),
                    Some(v) => self
                        .nonzero(&format!("{path}.warmup"), v)
                        .map(NonZeroU32::get),
                };
                Some(Trigger::Anomaly {
                    metric: value.as_str().to_owned(),
                    z: z?,
                    warmup: warmup?,
                })
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

/// `a.b[2].c` → `c`.
fn leaf(field: &str) -> &str {
    field.rsplit(['.', '[']).next().unwrap_or(field)
}
