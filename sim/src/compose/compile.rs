//! Compose file → [`ComposePlan`]: every service checked, every problem of the file located at
//! file:line:col with its key path (`services.web.deploy.replicas`) and reported at once.
//!
//! What sim takes from a compose file, and what it refuses:
//!
//! - Top level: `name`, `services`, `volumes` (named volumes, `driver: local` or none),
//!   `networks` (at most one: sim puts the whole project on the run's one network), `version`
//!   (obsolete, ignored), `x-*` extensions (ignored, anywhere).
//! - Per service: `image`, `build`, `environment`, `command`, `entrypoint`, `healthcheck`,
//!   `depends_on`, `deploy.replicas`, `deploy.resources.limits`, `mem_limit`, `cpus`, `ports`
//!   (only the container port is kept: sim publishes each on a loopback port of its choosing),
//!   `expose`, `volumes`, `networks` (aliases on the one network), `labels` (on every container
//!   of the service, none with a prefix sim sets: `sim.`, `healer.`, `com.docker.compose.`),
//!   `restart: "no"`. A service with both `build:` and `image:`
//!   is built, under sim's own tag ([`ComposePlan::build_tag`]).
//! - Strings with a `$` are refused: `docker compose` interpolates them, sim does not.
//! - Anything else of the Compose specification is a located error naming the key and what to
//!   do, never a silent skip; a key the specification does not have gets a did-you-mean.
//!
//! The service sections are compiled in [`service`], their limits in [`limits`], their ports,
//! volumes and networks in [`mounts`]; the keys sim does not support, and why, are listed in
//! [`unsupported`].

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_yaml::Value;
use specfile::{did_you_mean, ProblemList, Problems, Scalar, SourceMap};

use super::plan::{ComposePlan, Condition, ServicePlan};
use super::spec::{ComposeSpec, DriverSpec, Ordered, Unknown};

mod limits;
mod mounts;
mod service;
#[cfg(test)]
mod tests;
mod unsupported;

/// The most replicas a service may have.
const MAX_REPLICAS: u32 = 32;

/// A compiled compose file: the plan, and what the scenario needs besides it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeFile {
    pub plan: ComposePlan,
    /// Each service's `expose` ports, by service name.
    pub expose: BTreeMap<String, Vec<u16>>,
}

impl ComposeFile {
    /// The port `service` listens on as far as the file says: its first `ports` container port,
    /// else its first `expose` port.
    pub fn first_port(&self, service: &str) -> Option<u16> {
        let published = self.plan.service(service)?.ports.first().copied();
        published.or_else(|| self.expose.get(service)?.first().copied())
    }
}

impl ComposePlan {
    /// The tag sim builds a `build:` service's image as, before the service first starts.
    pub fn build_tag(&self, service: &str) -> String {
        build_tag(&self.project, service)
    }
}

fn build_tag(project: &str, service: &str) -> String {
    format!("sim-compose-{project}-{service}:latest")
}

/// Reads and compiles the compose file at `file`.
pub fn load(file: &Path) -> Result<ComposeFile, Problems> {
    let text = fs::read_to_string(file).map_err(|error| {
        Problems::whole_file(file, format!("cannot read the compose file: {error}"))
    })?;
    compile(file, &text)
}

/// Compiles `text`, the contents of the compose file `file`.
pub fn compile(file: &Path, text: &str) -> Result<ComposeFile, Problems> {
    let (spec, map) = specfile::parse::<ComposeSpec>(file, text)?;
    let dir = file.parent().unwrap_or(Path::new("")).to_owned();
    let mut c = Compiler {
        p: ProblemList::new(file, map.clone()),
        map,
        file,
        dir,
    };
    c.keys("", &spec.unknown, ComposeSpec::FIELDS);
    let project = c.project(spec.name.as_ref());
    let volumes = c.drivers("volumes", &spec.volumes, "local");
    let networks = c.drivers("networks", &spec.networks, "bridge");
    if let Some((name, _)) = spec.networks.0.get(1) {
        c.p.push(
            &format!("networks.{name}"),
            "sim puts the whole project on the run's one network, so a file may declare at most one",
            Some("declare one network (or none); services reach each other by name on it".into()),
        );
    }
    let services = match spec.services {
        Some(Ordered(services)) => services,
        None => {
            c.p.push(
                "services",
                "is required",
                Some("add `services:` with at least one service".into()),
            );
            Vec::new()
        }
    };
    c.dollars(text);
    let names: Vec<String> = services.iter().map(|(name, _)| name.clone()).collect();
    let known = service::Known {
        project: &project,
        volumes: &volumes,
        networks: &networks,
    };
    let mut compiled = Vec::new();
    let mut dependency_fields = Vec::new();
    let mut expose = BTreeMap::new();
    for (name, spec) in services {
        let service = c.service(&name, spec, &known);
        expose.insert(name, service.expose);
        dependency_fields.push(service.dependency_fields);
        compiled.push(service.plan);
    }
    c.check_dependencies(&compiled, &dependency_fields, &names);
    let services = c.start_order(compiled);
    let plan = ComposePlan {
        file: file.to_owned(),
        project,
        services,
    };
    c.p.finish(ComposeFile { plan, expose })
}

struct Compiler<'a> {
    p: ProblemList,
    /// The same map the problem list has, for problems made but not yet reported
    /// (`ServicePlan::missing_image`).
    map: SourceMap,
    file: &'a Path,
    /// The compose file's directory, which relative paths are resolved against.
    dir: PathBuf,
}

impl Compiler<'_> {
    /// Reports every `$` in the file's values: `docker compose` reads them as variables
    /// (`${VAR}`, `$VAR`, `$$`), and sim does not interpolate, so the file would not mean
    /// the same.
    fn dollars(&mut self, text: &str) {
        let mut found = Vec::new();
        if let Ok(value) = serde_yaml::from_str::<Value>(text) {
            dollars(&value, String::new(), &mut found);
        }
        for field in found {
            self.p.push(
                &field,
                "sim does not interpolate variables (`$`) in compose files",
                Some("write the value out, without `$`".into()),
            );
        }
    }

    /// Reports the keys of `unknown` (at `parent`): `x-*` extensions are ignored, keys of the
    /// Compose specification sim does not support say so and what to do, others are unknown.
    fn keys(&mut self, parent: &str, unknown: &Unknown, fields: &[&str]) {
        let mut typos = BTreeMap::new();
        for (key, value) in unknown {
            if key.starts_with("x-") || (parent.is_empty() && key == "version") {
                continue;
            }
            let field = join(parent, key);
            match unsupported::why(parent, key) {
                Some((message, fix)) => self.p.push(&field, message, Some(fix)),
                None => {
                    typos.insert(key.clone(), value);
                }
            }
        }
        self.p.unknown_fields(parent, &typos, fields);
    }

    /// The keys of a map written as a YAML value (`ports[0]`'s long form, …), as [`keys`](Self::keys).
    fn value_keys(&mut self, parent: &str, map: &serde_yaml::Mapping, fields: &[&str]) -> Unknown {
        let mut known = Unknown::new();
        let mut rest = Unknown::new();
        for (key, value) in map {
            let key = text(key).unwrap_or_default();
            if fields.contains(&key.as_str()) {
                known.insert(key, value.clone());
            } else {
                rest.insert(key, value.clone());
            }
        }
        self.keys(parent, &rest, fields);
        known
    }

    /// `name:`, else the compose file's directory name, lowercased, only `[a-z0-9_-]`.
    fn project(&mut self, name: Option<&Scalar>) -> String {
        if let Some(name) = name {
            let clean = project_name(name.as_str());
            if clean != name.as_str() {
                self.p.push(
                    "name",
                    format!("invalid project name {:?}: use lowercase letters, digits, `_` and `-`, starting with a letter or digit", name.as_str()),
                    (!clean.is_empty()).then(|| format!("write `name: {clean}`")),
                );
            }
            return clean;
        }
        // A file named without a directory (`docker-compose.yml`) is in the current one.
        let here = if self.dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &self.dir
        };
        let dir = fs::canonicalize(here).unwrap_or_else(|_| self.dir.clone());
        let from_dir = dir
            .file_name()
            .map(|n| project_name(&n.to_string_lossy()))
            .unwrap_or_default();
        if from_dir.is_empty() {
            self.p.push(
                "",
                format!(
                    "the project cannot be named after the directory {}",
                    dir.display()
                ),
                Some("add `name: myproject` at the top of the file".into()),
            );
        }
        from_dir
    }

    /// The names declared under the top-level `volumes:` or `networks:` (`section`), checking
    /// each one's driver is `driver` (or not given).
    fn drivers(
        &mut self,
        section: &str,
        entries: &Ordered<Option<DriverSpec>>,
        driver: &str,
    ) -> Vec<String> {
        for (name, spec) in &entries.0 {
            let Some(spec) = spec else { continue };
            let field = format!("{section}.{name}");
            self.keys(&field, &spec.unknown, DriverSpec::FIELDS);
            if let Some(given) = spec.driver.as_ref().filter(|d| d.as_str() != driver) {
                self.p.push(
                    &format!("{field}.driver"),
                    format!("sim supports only the `{driver}` driver, not `{given}`"),
                    Some(format!("remove `driver:` or write `driver: {driver}`")),
                );
            }
        }
        entries.0.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Every `depends_on` names a service of the file, and `service_healthy` one with a
    /// healthcheck.
    /// `fields[i][j]` is where `services[i]`'s dependency `j` is written.
    fn check_dependencies(
        &mut self,
        services: &[ServicePlan],
        fields: &[Vec<String>],
        names: &[String],
    ) {
        let expected: Vec<&str> = names.iter().map(String::as_str).collect();
        for (service, fields) in services.iter().zip(fields) {
            for (dep, field) in service.depends_on.iter().zip(fields) {
                let field = field.as_str();
                match services.iter().find(|s| s.name == dep.service) {
                    None => self.p.push(
                        field,
                        format!(
                            "`{}` depends on `{}`, which is not a service of this file",
                            service.name, dep.service
                        ),
                        did_you_mean(&dep.service, &expected),
                    ),
                    Some(target)
                        if dep.condition == Condition::Healthy && target.healthcheck.is_none() =>
                    {
                        self.p.push(
                            field,
                            format!(
                                "`service_healthy` needs a healthcheck, and `{}` has none",
                                dep.service
                            ),
                            Some(format!(
                                "give `{}` a `healthcheck:`, or use `condition: service_started`",
                                dep.service
                            )),
                        )
                    }
                    Some(_) => {}
                }
            }
        }
    }

    /// `services` in start order: each after every service it depends on, ties in file order;
    /// a cycle is reported (once, at its first service) and its services kept in file order.
    fn start_order(&mut self, mut rest: Vec<ServicePlan>) -> Vec<ServicePlan> {
        let mut placed: Vec<ServicePlan> = Vec::with_capacity(rest.len());
        while !rest.is_empty() {
            let ready = rest.iter().position(|s| {
                // Not among the rest: placed already, or not a service (reported).
                s.depends_on
                    .iter()
                    .all(|d| !rest.iter().any(|r| r.name == d.service))
            });
            match ready {
                Some(at) => placed.push(rest.remove(at)),
                None => {
                    let cycle = cycle(&rest);
                    self.p.push(
                        &format!("services.{}.depends_on", cycle[0]),
                        format!("depends_on forms a cycle: {}", cycle.join(" → ")),
                        Some("remove one of these dependencies".into()),
                    );
                    placed.append(&mut rest);
                }
            }
        }
        placed
    }
}

/// A cycle among `services`, every one of which depends on another of them: its names, the
/// first repeated at the end (`a → b → a`).
fn cycle(services: &[ServicePlan]) -> Vec<String> {
    /// The first service among `services` that `name` depends on.
    fn next<'a>(services: &'a [ServicePlan], name: &'a str) -> &'a str {
        services
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| {
                s.depends_on
                    .iter()
                    .find(|d| services.iter().any(|o| o.name == d.service))
            })
            .map_or(name, |d| d.service.as_str())
    }
    // Following dependencies must come back to a service already on the path.
    let mut path = vec![services[0].name.as_str()];
    loop {
        let after = next(services, path[path.len() - 1]);
        if let Some(start) = path.iter().position(|n| *n == after) {
            let mut cycle: Vec<String> = path[start..].iter().map(|n| (*n).to_owned()).collect();
            cycle.push(after.to_owned());
            return cycle;
        }
        path.push(after);
    }
}

/// The key path of every string under `value` (at `path`) with a `$` in it, outside `x-*`
/// extensions.
fn dollars(value: &Value, path: String, found: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains('$') => found.push(path),
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                dollars(item, format!("{path}[{i}]"), found);
            }
        }
        Value::Mapping(map) => {
            for (key, value) in map {
                let key = text(key).unwrap_or_default();
                if !key.starts_with("x-") {
                    dollars(value, join(&path, &key), found);
                }
            }
        }
        Value::Tagged(tagged) => dollars(&tagged.value, path, found),
        _ => {}
    }
}

/// `name` lowercased, keeping only `[a-z0-9_-]`, starting with a letter or digit.
fn project_name(name: &str) -> String {
    let kept: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))
        .collect();
    kept.trim_start_matches(['_', '-']).to_owned()
}

/// Joins a key onto a path.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// A YAML string, number or boolean as text; `None` for anything else.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
