//! The `target` section: the image, replicas, limits, environment and health check of the
//! service under test.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Compiler, CPUS, MIN_MEMORY};
use crate::compose::ComposeFile;
use crate::scenario::plan::{Balancer, HealthPlan, TargetImage, TargetPlan};
use crate::scenario::spec::{HealthSpec, TargetSpec};

const DEFAULT_REPLICAS: u32 = 1;
const DEFAULT_PORT: u16 = 8080;
const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
const DEFAULT_HEALTH_PATH: &str = "/health";
const DEFAULT_HEALTH_INTERVAL: Duration = Duration::from_millis(50);
const DEFAULT_HEALTH_TIMEOUT: Duration = Duration::from_millis(500);
const DEFAULT_HEALTHY_AFTER: u32 = 3;

/// The longest health interval allowed: slower sampling blurs the measured recovery time.
const MAX_HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// The base name of containers for an image: `registry:5000/team/app:1.2` → `app`.
fn name_from_image(image: &str) -> String {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let base = last.split(':').next().unwrap_or(last);
    let cleaned: String = base
        .chars()
        .map(|c| if is_name_char(c) { c } else { '-' })
        .collect();
    if is_container_name(&cleaned) {
        cleaned
    } else {
        format!("target-{cleaned}")
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(crate) fn is_container_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) && chars.all(is_name_char)
}

/// What the target is made of, from `target.image` and its settings or from a compose service;
/// `None` for a value found bad.
pub(super) struct Source {
    pub name: String,
    pub image: Option<TargetImage>,
    pub replicas: Option<u32>,
    pub port: Option<u16>,
    pub memory_bytes: Option<u64>,
    pub nano_cpus: Option<i64>,
    /// Before `target.env`, which overrides it.
    pub env: BTreeMap<String, String>,
}

impl Compiler<'_> {
    /// The target, its replica count if that was valid, and its compose project if it is a
    /// service of one.
    pub(super) fn target(
        &mut self,
        spec: TargetSpec,
    ) -> (TargetPlan, Option<u32>, Option<ComposeFile>) {
        self.p
            .unknown_fields("target", &spec.unknown, TargetSpec::FIELDS);
        let (source, compose) = if spec.compose.is_some() || spec.service.is_some() {
            self.compose_target(&spec)
        } else {
            (self.image_target(&spec), None)
        };
        let Source {
            name,
            image,
            replicas,
            port,
            memory_bytes,
            nano_cpus,
            mut env,
        } = source;
        for key in spec.env.keys() {
            if key.is_empty() || key.contains(['=', '\0']) {
                self.p.push(
                    &format!("target.env.{key}"),
                    format!("invalid variable name {key:?}"),
                    None,
                );
            }
        }
        env.extend(spec.env.into_iter().map(|(key, value)| (key, value.0)));
        let startup_timeout = self.duration_or(
            "target.startup_timeout",
            spec.startup_timeout.as_ref(),
            DEFAULT_STARTUP_TIMEOUT,
        );
        let startup_timeout = self.nonzero("target.startup_timeout", startup_timeout);
        let health = self.health(spec.health.unwrap_or_default());
        // Several replicas get a balancer unless told otherwise: load must reach all of them.
        let balancer = match spec.balancer.as_deref() {
            None if replicas.is_some_and(|n| n > 1) => Balancer::Haproxy,
            None | Some("none") => Balancer::None,
            Some("haproxy") => Balancer::Haproxy,
            Some(other) => {
                self.p.push(
                    "target.balancer",
                    format!("unknown balancer {other:?}: expected `none` or `haproxy`"),
                    None,
                );
                Balancer::None
            }
        };
        let image = image.unwrap_or(TargetImage::Leaky);
        let healthcheck = spec.healthcheck.unwrap_or(false);
        if healthcheck && image != TargetImage::Leaky {
            self.p.push(
                "target.healthcheck",
                "Docker's health check runs `sim target probe`, which only the built-in \
                 target's image has",
                Some("use `image: leaky`, or remove `healthcheck`".into()),
            );
        }
        let plan = TargetPlan {
            name,
            image,
            replicas: replicas.unwrap_or(DEFAULT_REPLICAS),
            port: port.unwrap_or(DEFAULT_PORT),
            memory_bytes,
            nano_cpus,
            env,
            health,
            healthcheck,
            startup_timeout: startup_timeout.unwrap_or(DEFAULT_STARTUP_TIMEOUT),
            balancer,
        };
        (plan, replicas, compose)
    }

    /// The target of `target.image`, `name`, `replicas`, `port`, `memory` and `cpus`.
    fn image_target(&mut self, spec: &TargetSpec) -> Source {
        let image = match spec.image.as_deref().map(str::trim) {
            None => {
                self.missing("target.image", "image: leaky");
                None
            }
            Some("leaky") => Some(TargetImage::Leaky),
            Some(image) if image.is_empty() || image.contains(char::is_whitespace) => {
                self.p.push(
                    "target.image",
                    format!("invalid image name {image:?}"),
                    Some("write `leaky` for the built-in target, or a local image such as `myapp:1.0`".into()),
                );
                None
            }
            Some(image) => Some(TargetImage::Local(image.to_owned())),
        };
        let name = match (&spec.name, &image) {
            (Some(name), _) => {
                if !is_container_name(name) {
                    self.p.push(
                        "target.name",
                        format!("invalid name {name:?}: use letters, digits, `_`, `.` and `-`, starting with a letter or digit"),
                        None,
                    );
                }
                name.clone()
            }
            (None, Some(TargetImage::Local(image))) => name_from_image(image),
            (None, _) => "leaky".to_owned(),
        };
        let replicas = self.int("target.replicas", spec.replicas, DEFAULT_REPLICAS, 1..=16);
        let port = self.int("target.port", spec.port, DEFAULT_PORT, 1..=65535);
        let memory_bytes = spec.memory.as_ref().and_then(|memory| {
            let bytes = self.p.size("target.memory", memory.as_str())?;
            if bytes < MIN_MEMORY {
                self.p.push(
                    "target.memory",
                    format!("{memory} is below the 6MiB Docker accepts as a memory limit"),
                    None,
                );
                return None;
            }
            Some(bytes)
        });
        let nano_cpus = spec.cpus.and_then(|cpus| {
            if !CPUS.contains(&cpus) {
                self.p.push(
                    "target.cpus",
                    format!(
                        "must be between {} and {} CPUs, got {cpus}",
                        CPUS.start(),
                        CPUS.end()
                    ),
                    None,
                );
                return None;
            }
            // In range, so the product fits an i64 with room to spare.
            Some((cpus * 1e9).round() as i64)
        });
        Source {
            name,
            image,
            replicas,
            port,
            memory_bytes,
            nano_cpus,
            env: BTreeMap::new(),
        }
    }

    fn health(&mut self, spec: HealthSpec) -> HealthPlan {
        self.p
            .unknown_fields("target.health", &spec.unknown, HealthSpec::FIELDS);
        let path = self.url_path("target.health.path", spec.path, DEFAULT_HEALTH_PATH);
        let field = "target.health.interval";
        let interval = self.duration_or(field, spec.interval.as_ref(), DEFAULT_HEALTH_INTERVAL);
        let interval = self.nonzero(field, interval).filter(|interval| {
            let fine = *interval <= MAX_HEALTH_INTERVAL;
            if !fine {
                self.p.push(
                    field,
                    format!(
                        "{interval:?} is too long: the prober must sample often enough for MTTR"
                    ),
                    Some("use at most 1s; 50ms or less is recommended".into()),
                );
            }
            fine
        });
        let field = "target.health.timeout";
        let timeout = self.duration_or(field, spec.timeout.as_ref(), DEFAULT_HEALTH_TIMEOUT);
        let timeout = self.nonzero(field, timeout);
        let healthy_after = self.int(
            "target.health.healthy_after",
            spec.healthy_after,
            DEFAULT_HEALTHY_AFTER,
            1..=100,
        );
        HealthPlan {
            path,
            interval: interval.unwrap_or(DEFAULT_HEALTH_INTERVAL),
            timeout: timeout.unwrap_or(DEFAULT_HEALTH_TIMEOUT),
            healthy_after: healthy_after.unwrap_or(DEFAULT_HEALTHY_AFTER),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_come_from_images() {
        assert_eq!(name_from_image("app"), "app");
        assert_eq!(name_from_image("team/app:1.2"), "app");
        assert_eq!(name_from_image("localhost:5000/app@sha256:ab"), "app");
        assert_eq!(name_from_image("_odd"), "target-_odd");
        assert!(is_container_name("my-app.v2_x"));
        assert!(!is_container_name("-app"));
        assert!(!is_container_name(""));
    }
}
