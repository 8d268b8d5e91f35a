//! A Compose project as sim creates it: what `compile` makes of a compose file, and all the
//! runner reads of one. Every value is checked and defaulted; services come in start order.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A compose project, every service of it, each after the services it depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposePlan {
    /// The compose file, resolved against the scenario's directory.
    pub file: PathBuf,
    /// `name:` in the file, else the name of the file's directory; its containers carry it as
    /// `com.docker.compose.project`, as `docker compose` labels them.
    pub project: String,
    /// In start order: each service after every service it `depends_on`.
    pub services: Vec<ServicePlan>,
}

impl ComposePlan {
    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&ServicePlan> {
        self.services.iter().find(|service| service.name == name)
    }
}

/// One service of the project.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlan {
    pub name: String,
    pub image: ServiceImage,
    /// Where the file says `image:` (or `build:`), message and fix filled in, reported (exit 2)
    /// when the image turns out not to be in the local engine.
    pub missing_image: specfile::Problem,
    pub environment: BTreeMap<String, String>,
    /// `labels`, on every container of the service; none with a prefix sim sets itself
    /// (`sim.`, `healer.`, `com.docker.compose.`).
    pub labels: BTreeMap<String, String>,
    /// Replaces the image's entrypoint (exec form).
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's command (exec form).
    pub command: Option<Vec<String>>,
    pub healthcheck: Option<ServiceHealthcheck>,
    pub depends_on: Vec<ServiceDependency>,
    /// `deploy.replicas`, 1 when not given.
    pub replicas: u32,
    /// `deploy.resources.limits.memory`.
    pub memory_bytes: Option<u64>,
    /// `deploy.resources.limits.cpus`, in billionths of a CPU (Docker's `NanoCpus`).
    pub nano_cpus: Option<i64>,
    /// Container ports to publish, each on a loopback port sim picks (a host port or address
    /// in the file is not kept: sim binds 127.0.0.1 only, and runs may overlap).
    pub ports: Vec<u16>,
    pub volumes: Vec<VolumeMount>,
    /// Network aliases besides the service's name, which every container of it answers to.
    pub aliases: Vec<String>,
}

/// Where a service's image comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceImage {
    /// An image that must already be in the local engine (nothing can be pulled).
    Local(String),
    /// One of the images sim builds itself, named in a compose file as `sim-leaky` or
    /// `sim-haproxy`.
    BuiltIn(BuiltInImage),
    /// `build:`: a context directory built by the local engine, with its Dockerfile.
    Build {
        context: PathBuf,
        /// Relative to the context; `Dockerfile` when not given.
        dockerfile: String,
        args: BTreeMap<String, String>,
    },
}

/// The images sim builds from what is on this machine, so a compose file can use them
/// without a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltInImage {
    /// `sim-leaky`: the built-in leaky target (`/sim target leaky`, listening on `LEAKY_PORT`,
    /// 8080 by default).
    Leaky,
    /// `sim-haproxy`: the host's HAProxy (`/usr/sbin/haproxy`, its arguments the service's
    /// `command`).
    Haproxy,
}

impl BuiltInImage {
    /// How a compose file names it.
    pub fn name(self) -> &'static str {
        match self {
            BuiltInImage::Leaky => "sim-leaky",
            BuiltInImage::Haproxy => "sim-haproxy",
        }
    }
}

/// A Docker HEALTHCHECK from the compose file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceHealthcheck {
    /// Docker's form: `["CMD", …]` or `["CMD-SHELL", "…"]`.
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Duration,
}

/// `depends_on`: a service to wait for before this one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDependency {
    pub service: String,
    pub condition: Condition,
}

/// What "ready" means for a dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `service_started` (the default): its containers run.
    Started,
    /// `service_healthy`: Docker reports every container of it healthy (it needs a
    /// healthcheck).
    Healthy,
    /// `service_completed_successfully`: its containers exited with code 0.
    CompletedSuccessfully,
}

/// A volume mounted into every container of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeMount {
    pub source: VolumeSource,
    /// The path inside the container.
    pub target: String,
    pub read_only: bool,
}

/// What is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// A named volume of the project (declared under the top-level `volumes:`), created for
    /// each trial and removed with it.
    Named(String),
    /// A host path, resolved against the compose file's directory.
    Bind(PathBuf),
}
