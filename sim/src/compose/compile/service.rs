//! One service of a compose file: its image, environment, command, healthcheck, dependencies,
//! replicas. Limits are in [`super::limits`], ports, volumes and networks in [`super::mounts`].

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde_yaml::Value;
use specfile::{Problem, Scalar};

use super::{build_tag, join, text, Compiler, MAX_REPLICAS};
use crate::compose::plan::{
    BuiltInImage, Condition, ServiceDependency, ServiceHealthcheck, ServiceImage, ServicePlan,
};
use crate::compose::spec::{HealthcheckSpec, ServiceSpec};
use crate::scenario::is_container_name;

/// Docker's defaults for a healthcheck's timings.
const HEALTH_INTERVAL: Duration = Duration::from_secs(30);
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
const HEALTH_RETRIES: u32 = 3;

/// The label prefixes sim sets on its containers (its own, the healer's, and `docker compose`'s
/// project and service), which a service's `labels` may not use.
const SIM_LABELS: [&str; 3] = ["sim.", "healer.", "com.docker.compose."];

/// What a service may refer to elsewhere in the file.
pub(super) struct Known<'a> {
    pub project: &'a str,
    /// The top-level `volumes:`.
    pub volumes: &'a [String],
    /// The top-level `networks:`.
    pub networks: &'a [String],
}

/// A compiled service.
pub(super) struct Service {
    pub plan: ServicePlan,
    pub expose: Vec<u16>,
    /// Where each of `plan.depends_on` is written.
    pub dependency_fields: Vec<String>,
}

impl Compiler<'_> {
    pub(super) fn service(&mut self, name: &str, spec: ServiceSpec, known: &Known) -> Service {
        let at = format!("services.{name}");
        if !is_container_name(name) {
            self.p.push(
                &at,
                format!("invalid service name {name:?}: use letters, digits, `_`, `.` and `-`, starting with a letter or digit"),
                None,
            );
        }
        self.keys(&at, &spec.unknown, ServiceSpec::FIELDS);
        if spec.container_name.is_some() {
            self.p.push(
                &format!("{at}.container_name"),
                "sim names containers itself (`<project>-<service>-<n>`), and replicas need distinct names",
                Some(format!("remove `container_name:`; other services reach this one as `{name}`")),
            );
        }
        if let Some(restart) = spec.restart.as_ref().filter(|r| r.as_str() != "no") {
            let (message, fix) = super::unsupported::restart(&format!("restart: {restart}"));
            self.p.push(&format!("{at}.restart"), message, Some(fix));
        }
        let (image, missing_image) = self.image(&at, name, &spec, known.project);
        let environment = self.key_values(&format!("{at}.environment"), spec.environment.as_ref());
        let labels = self.labels(&format!("{at}.labels"), spec.labels.as_ref());
        let entrypoint = spec
            .entrypoint
            .as_ref()
            .and_then(|v| self.words(&format!("{at}.entrypoint"), v));
        let command = spec
            .command
            .as_ref()
            .and_then(|v| self.words(&format!("{at}.command"), v));
        let healthcheck = spec.healthcheck.and_then(|h| self.healthcheck(&at, h));
        let (depends_on, dependency_fields) = self.depends_on(&at, spec.depends_on.as_ref());
        let replicas = spec
            .deploy
            .as_ref()
            .and_then(|d| d.replicas.as_ref())
            .map_or(Some(1), |r| {
                self.count(&format!("{at}.deploy.replicas"), r, 1..=MAX_REPLICAS)
            });
        let limits = self.limits(&at, spec.deploy.as_ref());
        let memory_bytes = self.memory(
            &at,
            spec.mem_limit.as_ref(),
            limits.and_then(|l| l.memory.as_ref()),
        );
        let nano_cpus = self.cpus(
            &at,
            spec.cpus.as_ref(),
            limits.and_then(|l| l.cpus.as_ref()),
        );
        let ports = self.ports(&at, &spec.ports);
        let expose = self.expose(&at, &spec.expose);
        let volumes = self.volumes(&at, &spec.volumes, known.volumes);
        let aliases = self.networks(&at, spec.networks.as_ref(), known.networks);
        let plan = ServicePlan {
            name: name.to_owned(),
            image,
            missing_image,
            environment: environment.into_iter().collect(),
            labels,
            entrypoint,
            command,
            healthcheck,
            depends_on,
            replicas: replicas.unwrap_or(1),
            memory_bytes,
            nano_cpus,
            ports,
            volumes,
            aliases,
        };
        Service {
            plan,
            expose,
            dependency_fields,
        }
    }

    /// The image, and the problem to report if it is not in the local engine.
    fn image(
        &mut self,
        at: &str,
        name: &str,
        spec: &ServiceSpec,
        project: &str,
    ) -> (ServiceImage, Problem) {
        let tag = spec.image.as_ref().map(|i| i.as_str().trim().to_owned());
        if let Some(tag) = tag
            .as_ref()
            .filter(|t| t.is_empty() || t.contains(char::is_whitespace))
        {
            self.p.push(
                &format!("{at}.image"),
                format!("invalid image name {tag:?}"),
                None,
            );
        }
        let (field, image) = match (&spec.build, tag) {
            (Some(build), _) => {
                let field = format!("{at}.build");
                (
                    field.clone(),
                    self.build(&field, build)
                        .unwrap_or(ServiceImage::Local(String::new())),
                )
            }
            (None, Some(tag)) => {
                let base = tag.split(':').next().unwrap_or_default();
                let image = [BuiltInImage::Leaky, BuiltInImage::Haproxy]
                    .into_iter()
                    .find(|b| b.name() == base)
                    .map_or(ServiceImage::Local(tag), ServiceImage::BuiltIn);
                (format!("{at}.image"), image)
            }
            (None, None) => {
                self.p.push(
                    at,
                    format!("the service `{name}` has neither `image` nor `build`"),
                    Some(
                        "give it `image: NAME` (an image in the local engine) or `build: ./dir`"
                            .into(),
                    ),
                );
                (at.to_owned(), ServiceImage::Local(String::new()))
            }
        };
        let shown = match &image {
            ServiceImage::Local(tag) => tag.clone(),
            ServiceImage::BuiltIn(builtin) => builtin.name().to_owned(),
            ServiceImage::Build { .. } => build_tag(project, name),
        };
        let missing = self.problem_at(
            &field,
            format!("image `{shown}` is not in the local Docker engine (nothing can be pulled here)"),
            format!("build it first (`docker build -t {shown} …`), or give the service a `build:` context"),
        );
        (image, missing)
    }

    /// A problem at `field`, located, not reported.
    fn problem_at(&self, field: &str, message: String, fix: String) -> Problem {
        let (line, col) = self.map.locate(field).unwrap_or((1, 1));
        Problem {
            file: self.file.to_owned(),
            line,
            col,
            field: field.to_owned(),
            message,
            fix: Some(fix),
        }
    }

    /// `build:`: a context directory, or `{ context, dockerfile, args }`.
    fn build(&mut self, at: &str, build: &Value) -> Option<ServiceImage> {
        let (context, dockerfile, args) = match build {
            Value::Mapping(map) => {
                let known = self.value_keys(at, map, &["context", "dockerfile", "args"]);
                let context = known.get("context").map_or(Some(".".to_owned()), |v| {
                    self.scalar(&format!("{at}.context"), v)
                });
                let dockerfile = known
                    .get("dockerfile")
                    .map_or(Some("Dockerfile".to_owned()), |v| {
                        self.scalar(&format!("{at}.dockerfile"), v)
                    });
                let args = self.key_values(&format!("{at}.args"), known.get("args"));
                (context?, dockerfile?, args)
            }
            other => (self.scalar(at, other)?, "Dockerfile".to_owned(), Vec::new()),
        };
        let dir = self.dir.join(&context);
        if !dir.is_dir() {
            let field = if matches!(build, Value::Mapping(_)) {
                format!("{at}.context")
            } else {
                at.to_owned()
            };
            self.p.push(
                &field,
                format!("the build context {} does not exist", dir.display()),
                Some("give a directory relative to the compose file".into()),
            );
            return None;
        }
        if !dir.join(&dockerfile).is_file() {
            self.p.push(
                &format!("{at}.dockerfile"),
                format!("there is no {}", dir.join(&dockerfile).display()),
                Some("give `dockerfile:` relative to the context".into()),
            );
        }
        Some(ServiceImage::Build {
            context: dir,
            dockerfile,
            args: args.into_iter().collect(),
        })
    }

    /// A YAML scalar as text, or a problem at `field`.
    pub(super) fn scalar(&mut self, field: &str, value: &Value) -> Option<String> {
        let got = text(value);
        if got.is_none() {
            self.p
                .push(field, "must be a single value (a string or a number)", None);
        }
        got
    }

    /// `environment`, `build.args`: a map of names to values, or a list of `NAME=value`. A
    /// name without a value takes sim's own environment's, if set, as `docker compose` does;
    /// else it is left out.
    fn key_values(&mut self, at: &str, value: Option<&Value>) -> Vec<(String, String)> {
        self.entries(at, value)
            .into_iter()
            .filter_map(|(_, key, value)| {
                Some((key.clone(), value.or_else(|| std::env::var(&key).ok())?))
            })
            .collect()
    }

    /// `labels`, as `environment` is written; a label without a value is empty, as
    /// `docker compose` makes it. A label with one of sim's prefixes is refused: sim sets those.
    fn labels(&mut self, at: &str, value: Option<&Value>) -> BTreeMap<String, String> {
        self.entries(at, value)
            .into_iter()
            .filter_map(|(field, key, value)| {
                if let Some(prefix) = SIM_LABELS.iter().find(|prefix| key.starts_with(*prefix)) {
                    self.p.push(
                        &field,
                        format!("label `{key}`: sim sets the `{prefix}*` labels itself"),
                        Some(format!("rename it without the `{prefix}` prefix")),
                    );
                    return None;
                }
                Some((key, value.unwrap_or_default()))
            })
            .collect()
    }

    /// A map of names to values, or a list of `NAME=value`, as (where each is written, name,
    /// value if given).
    fn entries(
        &mut self,
        at: &str,
        value: Option<&Value>,
    ) -> Vec<(String, String, Option<String>)> {
        match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Mapping(map)) => map
                .iter()
                .filter_map(|(key, value)| {
                    let key = text(key)?;
                    let field = join(at, &key);
                    let value = match value {
                        Value::Null => None,
                        value => Some(self.scalar(&field, value)?),
                    };
                    Some((field, key, value))
                })
                .collect(),
            Some(Value::Sequence(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let field = format!("{at}[{i}]");
                    let item = self.scalar(&field, item)?;
                    Some(match item.split_once('=') {
                        Some((key, value)) => (field, key.to_owned(), Some(value.to_owned())),
                        None => (field, item, None),
                    })
                })
                .collect(),
            Some(_) => {
                self.p.push(
                    at,
                    "must be a map of names to values, or a list of `NAME=value`",
                    None,
                );
                Vec::new()
            }
        }
    }

    /// `command`, `entrypoint`: a list, or a string split at whitespace.
    fn words(&mut self, at: &str, value: &Value) -> Option<Vec<String>> {
        match value {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.scalar(&format!("{at}[{i}]"), item))
                .collect(),
            Value::String(s) if s.contains(['"', '\'', '\\']) => {
                self.p.push(
                    at,
                    "sim does not split a string with quotes or backslashes into words",
                    Some("write it as a list, e.g. [\"sh\", \"-c\", \"echo hi\"]".into()),
                );
                None
            }
            other => Some(
                self.scalar(at, other)?
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            ),
        }
    }

    fn healthcheck(&mut self, at: &str, spec: HealthcheckSpec) -> Option<ServiceHealthcheck> {
        let at = format!("{at}.healthcheck");
        self.keys(&at, &spec.unknown, HealthcheckSpec::FIELDS);
        match spec.disable.as_ref().map(Scalar::as_str) {
            Some("true") => return None,
            None | Some("false") => {}
            Some(other) => self.p.push(
                &format!("{at}.disable"),
                format!("must be true or false, got {other}"),
                None,
            ),
        }
        let field = format!("{at}.test");
        let test = match &spec.test {
            None => {
                self.p.push(
                    &at,
                    "needs a `test:`",
                    Some("add `test: [\"CMD\", \"…\"]`, or `disable: true`".into()),
                );
                Vec::new()
            }
            Some(Value::Sequence(items))
                if items.first().and_then(Value::as_str) == Some("NONE") =>
            {
                return None
            }
            Some(Value::Sequence(_)) => {
                let test = self.words(&field, spec.test.as_ref()?).unwrap_or_default();
                let form = test.first().map(String::as_str);
                if !matches!(form, Some("CMD" | "CMD-SHELL")) || test.len() < 2 {
                    self.p.push(
                        &field,
                        "a list must start with `CMD` or `CMD-SHELL` and give the command",
                        Some(
                            "write e.g. [\"CMD\", \"curl\", \"-f\", \"http://localhost/\"]".into(),
                        ),
                    );
                }
                test
            }
            Some(other) => vec![
                "CMD-SHELL".to_owned(),
                self.scalar(&field, other).unwrap_or_default(),
            ],
        };
        let mut duration = |key: &str, value: Option<&Scalar>, default: Duration| {
            value.map_or(Some(default), |v| {
                self.p.duration(&format!("{at}.{key}"), v.as_str())
            })
        };
        let interval = duration("interval", spec.interval.as_ref(), HEALTH_INTERVAL);
        let timeout = duration("timeout", spec.timeout.as_ref(), HEALTH_TIMEOUT);
        let start_period = duration("start_period", spec.start_period.as_ref(), Duration::ZERO);
        let retries = spec.retries.as_ref().map_or(Some(HEALTH_RETRIES), |r| {
            self.count(&format!("{at}.retries"), r, 1..=100)
        });
        Some(ServiceHealthcheck {
            test,
            interval: interval.unwrap_or(HEALTH_INTERVAL),
            timeout: timeout.unwrap_or(HEALTH_TIMEOUT),
            retries: retries.unwrap_or(HEALTH_RETRIES),
            start_period: start_period.unwrap_or_default(),
        })
    }

    /// `depends_on`, and where each dependency is written.
    fn depends_on(
        &mut self,
        at: &str,
        value: Option<&Value>,
    ) -> (Vec<ServiceDependency>, Vec<String>) {
        let at = format!("{at}.depends_on");
        let mut deps = Vec::new();
        match value {
            None | Some(Value::Null) => {}
            Some(Value::Sequence(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let field = format!("{at}[{i}]");
                    if let Some(service) = self.scalar(&field, item) {
                        deps.push((
                            ServiceDependency {
                                service,
                                condition: Condition::Started,
                            },
                            field,
                        ));
                    }
                }
            }
            Some(Value::Mapping(map)) => {
                for (key, value) in map {
                    let Some(service) = text(key) else { continue };
                    let field = join(&at, &service);
                    let condition = match value {
                        Value::Mapping(settings) => {
                            let known = self.value_keys(&field, settings, &["condition"]);
                            known
                                .get("condition")
                                .map_or(Some(Condition::Started), |c| {
                                    self.condition(&format!("{field}.condition"), c)
                                })
                        }
                        Value::Null => Some(Condition::Started),
                        _ => {
                            self.p.push(
                                &field,
                                "must be a map such as { condition: service_healthy }",
                                None,
                            );
                            None
                        }
                    };
                    deps.push((
                        ServiceDependency {
                            service,
                            condition: condition.unwrap_or(Condition::Started),
                        },
                        field,
                    ));
                }
            }
            Some(_) => self.p.push(
                &at,
                "must be a list of services, or a map of them to { condition }",
                None,
            ),
        }
        deps.into_iter().unzip()
    }

    fn condition(&mut self, field: &str, value: &Value) -> Option<Condition> {
        const CONDITIONS: &[&str] = &[
            "service_started",
            "service_healthy",
            "service_completed_successfully",
        ];
        match self.scalar(field, value)?.as_str() {
            "service_started" => Some(Condition::Started),
            "service_healthy" => Some(Condition::Healthy),
            "service_completed_successfully" => Some(Condition::CompletedSuccessfully),
            other => {
                self.p.push(
                    field,
                    format!(
                        "unknown condition `{other}`, expected one of: {}",
                        CONDITIONS.join(", ")
                    ),
                    specfile::did_you_mean(other, CONDITIONS),
                );
                None
            }
        }
    }

    /// A whole number in `range`.
    fn count(&mut self, field: &str, value: &Scalar, range: RangeInclusive<u32>) -> Option<u32> {
        match value.as_str().parse::<u32>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                self.p.push(
                    field,
                    format!(
                        "must be a whole number between {} and {}, got {value}",
                        range.start(),
                        range.end()
                    ),
                    None,
                );
                None
            }
        }
    }
}
