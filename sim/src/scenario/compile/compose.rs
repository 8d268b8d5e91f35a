//! `target: { compose: FILE, service: NAME }` and `load.via`: the target is a service of a
//! compose project, which `crate::compose` compiles (its problems reported with the
//! scenario's, each at its place in the compose file).

use std::path::Path;

use specfile::{did_you_mean, Problems};

use super::target::Source;
use super::Compiler;
use crate::compose::{BuiltInImage, ComposeFile, ComposePlan, ServiceImage};
use crate::scenario::plan::TargetImage;
use crate::scenario::spec::TargetSpec;

/// The target settings a compose service has, and where in the compose file they go instead.
const FROM_THE_SERVICE: &[(&str, &str)] = &[
    ("name", "the target is named after its service"),
    ("image", "set `image:` or `build:` of the service"),
    ("replicas", "set `deploy.replicas` of the service"),
    (
        "memory",
        "set `deploy.resources.limits.memory` of the service",
    ),
    ("cpus", "set `deploy.resources.limits.cpus` of the service"),
];

impl Compiler<'_> {
    /// The target from service `target.service` of the compose file `target.compose`, and the
    /// compiled file if it has no problems.
    pub(super) fn compose_target(&mut self, spec: &TargetSpec) -> (Source, Option<ComposeFile>) {
        let given = [
            spec.name.is_some(),
            spec.image.is_some(),
            spec.replicas.is_some(),
            spec.memory.is_some(),
            spec.cpus.is_some(),
        ];
        for ((key, instead), given) in FROM_THE_SERVICE.iter().zip(given) {
            if given {
                self.p.push(
                    &format!("target.{key}"),
                    format!("`{key}` cannot be given with `target.compose`"),
                    Some(format!("{instead} in the compose file")),
                );
            }
        }
        let mut source = Source {
            name: spec.service.clone().unwrap_or_default(),
            image: None,
            replicas: None,
            port: None,
            memory_bytes: None,
            nano_cpus: None,
            env: Default::default(),
        };
        let (file, service) = match (&spec.compose, &spec.service) {
            (Some(file), Some(service)) => (file, service),
            (Some(_), None) => {
                self.missing("target.service", "service: web");
                return (source, None);
            }
            _ => {
                self.missing("target.compose", "compose: compose.yaml");
                return (source, None);
            }
        };
        let path = self.source.parent().unwrap_or(Path::new("")).join(file);
        if !path.is_file() {
            self.p.push(
                "target.compose",
                format!("there is no compose file {}", path.display()),
                Some("give a path relative to the scenario file".into()),
            );
            return (source, None);
        }
        let compose = match crate::compose::load(&path) {
            Ok(compose) => compose,
            Err(Problems(problems)) => {
                self.elsewhere.extend(problems);
                return (source, None);
            }
        };
        let Some(plan) = compose.plan.service(service) else {
            let names: Vec<&str> = compose
                .plan
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            self.p.push(
                "target.service",
                format!(
                    "{} has no service `{service}`; it has: {}",
                    path.display(),
                    names.join(", ")
                ),
                did_you_mean(service, &names),
            );
            return (source, None);
        };
        source.image = match &plan.image {
            ServiceImage::Local(tag) => Some(TargetImage::Local(tag.clone())),
            ServiceImage::BuiltIn(BuiltInImage::Leaky) => Some(TargetImage::Leaky),
            ServiceImage::Build { .. } => Some(TargetImage::Local(compose.plan.build_tag(service))),
            ServiceImage::BuiltIn(BuiltInImage::Haproxy) => {
                self.p.push(
                    "target.service",
                    format!("`{service}` runs `sim-haproxy`, a balancer, not a service to test"),
                    Some("aim `target.service` at a service behind it, and name this one in `load.via`".into()),
                );
                None
            }
        };
        source.replicas = Some(plan.replicas);
        source.memory_bytes = plan.memory_bytes;
        source.nano_cpus = plan.nano_cpus;
        source.env = plan.environment.clone();
        source.port = match spec.port {
            Some(port) => self.int("target.port", Some(port), 0, 1..=65535),
            None => compose.first_port(service).or_else(|| {
                self.p.push(
                    "target.service",
                    format!("`{service}` has no `ports` or `expose` in the compose file, so the port it listens on is not known"),
                    Some("add `port: N` to `target`".into()),
                );
                None
            }),
        };
        (source, Some(compose))
    }

    /// `load.via`: a service of the compose project (`compose`: `None` without
    /// `target.compose`, `Some(None)` when it did not compile) with a port to send the load to.
    pub(super) fn via(
        &mut self,
        via: String,
        compose: Option<Option<&ComposePlan>>,
    ) -> Option<String> {
        let Some(compose) = compose else {
            self.p.push(
                "load.via",
                "names a service of the compose project, and there is none",
                Some("add `target: { compose: FILE, service: NAME }`, or remove `via`".into()),
            );
            return None;
        };
        let compose = compose?;
        let Some(service) = compose.service(&via) else {
            let names: Vec<&str> = compose.services.iter().map(|s| s.name.as_str()).collect();
            self.p.push(
                "load.via",
                format!(
                    "the compose project has no service `{via}`; it has: {}",
                    names.join(", ")
                ),
                did_you_mean(&via, &names),
            );
            return None;
        };
        if service.ports.is_empty() {
            self.p.push(
                "load.via",
                format!("`{via}` publishes no port for the load to go to"),
                Some(format!("give `{via}` a `ports:` entry in the compose file")),
            );
            return None;
        }
        Some(via)
    }
}
