//! What one run creates in Docker: its private network, its target containers (and a compose
//! project's containers and named volumes), all labelled with the run id, and their removal.

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, NetworkCreateRequest,
    NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, ListImagesOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

use super::{LABEL_MANAGED, LABEL_PID, LABEL_PID_START, LABEL_RUN, LABEL_TARGET, LABEL_TRIAL};

mod volumes;

pub(super) use volumes::remove_volume;

/// One target replica to start.
#[derive(Debug, Clone)]
pub struct TargetSpec {
    /// Replica name as the journal knows it, e.g. `leaky-0`.
    pub name: String,
    pub image: String,
    /// The port the service listens on inside the container.
    pub port: u16,
    /// The health path, recorded as a label for the healer (`healer.health`).
    pub health_path: String,
    pub memory_bytes: Option<u64>,
    pub nano_cpus: Option<i64>,
    pub env: Vec<(String, String)>,
    pub trial: u32,
    /// Docker's restart policy for the replica: `no` unless Docker itself is the strategy.
    pub restart: TargetRestart,
    /// A Docker HEALTHCHECK, when Docker must judge the replica's health (autoheal).
    pub healthcheck: Option<HealthCheck>,
    /// Labels beyond the run's own, e.g. `role=dependency` for runbooks that select by it.
    pub labels: Vec<(String, String)>,
}

/// Docker's restart policy for a target replica.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TargetRestart {
    /// Docker never restarts it: the healer under test must (the default).
    #[default]
    No,
    /// Docker restarts it when it exits with a non-zero code (never on "unhealthy").
    OnFailure,
}

/// A Docker HEALTHCHECK: `test` runs in the container every `interval`; `retries` failures in a
/// row make Docker mark it `unhealthy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// The exec form, e.g. `["CMD", "/sim", "target", "probe", "http://127.0.0.1:8080/health"]`.
    pub test: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
}

impl HealthCheck {
    /// The built-in target's own check (`target.healthcheck: true`): `sim target probe` of
    /// its health path, which is in its image, every second, 500 ms each, 3 failures in a row.
    pub fn builtin(port: u16, path: &str) -> HealthCheck {
        let url = format!("http://127.0.0.1:{port}{path}");
        HealthCheck {
            test: ["CMD", "/sim", "target", "probe", &url]
                .map(str::to_owned)
                .to_vec(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_millis(500),
            retries: 3,
        }
    }

    /// As Docker's API takes it, with `start_period` if there is one.
    pub fn config(&self, start_period: Option<Duration>) -> HealthConfig {
        HealthConfig {
            test: Some(self.test.clone()),
            interval: Some(nanos(self.interval)),
            timeout: Some(nanos(self.timeout)),
            retries: Some(i64::from(self.retries)),
            start_period: start_period.map(nanos),
            ..Default::default()
        }
    }
}

/// What a compose service's container has beyond a target replica's; the default (nothing
/// more) is a replica of sim's own.
#[derive(Debug, Clone, Default)]
pub struct ContainerExtras {
    /// Replaces the image's entrypoint (exec form).
    pub entrypoint: Option<Vec<String>>,
    /// Replaces the image's command (exec form).
    pub command: Option<Vec<String>>,
    /// The start period of [`TargetSpec::healthcheck`].
    pub health_start_period: Option<Duration>,
    /// Named volumes (this trial's, see [`RunResources::create_volume`]) and bind mounts.
    pub mounts: Vec<crate::compose::VolumeMount>,
    /// Network aliases besides the replica's name (a compose service's name and `aliases`).
    pub aliases: Vec<String>,
    /// Container ports published on 127.0.0.1 besides [`TargetSpec::port`].
    pub ports: Vec<u16>,
    /// [`TargetSpec::port`] is neither published nor labelled (a compose service without
    /// `ports:`): the container's `host_port` is 0.
    pub unpublished: bool,
    /// Labelled as having no health endpoint (`healer.health=none`): the healer does not probe
    /// it (a compose service other than the target: sim knows no health path of it, and the
    /// target's is not its own); its Docker events still reach the healer.
    pub unprobed: bool,
}

/// What Docker says of a container now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerStatus {
    pub running: bool,
    /// Its exit code once it stopped.
    pub exit_code: Option<i64>,
    /// Its HEALTHCHECK's verdict (`starting`, `healthy`, `unhealthy`), if it has one.
    pub health: Option<String>,
}

/// A started target replica.
#[derive(Debug, Clone)]
pub struct TargetContainer {
    pub name: String,
    pub id: String,
    /// Docker's name for it (`sim-<run>-t<trial>-<name>`). Unlike the id it survives the
    /// container being replaced under the same name (a deploy, the healer's rollback or
    /// recreate), so faults address the replica by it.
    pub container: String,
    /// The port on 127.0.0.1 that reaches the service; fixed for the container's life, so it
    /// survives restarts. 0 for a container that publishes none ([`ContainerExtras::unpublished`]).
    pub host_port: u16,
}

/// A supporting container of a run (a load balancer, Prometheus…), alive for the whole run.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// Short name: the container is `sim-<run>-<name>` and answers to `<name>` on the network.
    pub name: String,
    pub image: String,
    /// Command-line arguments after the image's entrypoint.
    pub args: Vec<String>,
    /// Files (absolute path, content) put in place before the container starts.
    pub files: Vec<(String, Vec<u8>)>,
    /// Directories mounted as tmpfs (scratch images have no writable /tmp).
    pub tmpfs: Vec<String>,
    /// The port published on 127.0.0.1.
    pub port: u16,
    /// Further ports published on 127.0.0.1: (container port, host port), the host port
    /// from [`free_loopback_port`] (an admin API beside the service, say).
    pub also_published: Vec<(u16, u16)>,
}

/// The Docker objects of one run. Cleanup finds them by label, so nothing escapes it.
#[derive(Debug, Clone)]
pub struct RunResources {
    docker: Docker,
    run_id: String,
    network: String,
}

impl RunResources {
    /// Creates the run's private bridge network.
    pub async fn create(docker: Docker, run_id: &str) -> Result<Self, bollard::errors::Error> {
        let network = format!("sim-{run_id}");
        docker
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".to_owned()),
                labels: Some(run_labels(run_id)),
                ..Default::default()
            })
            .await?;
        Ok(RunResources {
            docker,
            run_id: run_id.to_owned(),
            network,
        })
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Creates and starts one target replica: restart policy as the spec says (`no` unless Docker
    /// is the strategy under test), memory without swap so the limit is real, the port published on 127.0.0.1 only.
    pub async fn start_target(
        &self,
        spec: &TargetSpec,
    ) -> Result<TargetContainer, bollard::errors::Error> {
        self.start_target_with(spec, &ContainerExtras::default())
            .await
    }

    /// [`Self::start_target`] with what a compose service adds: entrypoint and command, mounts,
    /// further aliases and published ports (every one on 127.0.0.1, at a free port).
    pub async fn start_target_with(
        &self,
        spec: &TargetSpec,
        extras: &ContainerExtras,
    ) -> Result<TargetContainer, bollard::errors::Error> {
        let mut labels = run_labels(&self.run_id);
        labels.insert(LABEL_TRIAL.to_owned(), spec.trial.to_string());
        labels.insert(LABEL_TARGET.to_owned(), spec.name.clone());
        labels.insert(healer::NAME_LABEL.to_owned(), spec.name.clone());
        if extras.unprobed {
            let none = healer::NO_HEALTH_ENDPOINT.to_owned();
            labels.insert(healer::HEALTH_LABEL.to_owned(), none);
        } else {
            if !extras.unpublished {
                labels.insert("healer.port".to_owned(), spec.port.to_string());
            }
            labels.insert(healer::HEALTH_LABEL.to_owned(), spec.health_path.clone());
        }
        labels.extend(spec.labels.iter().cloned());
        let own = (!extras.unpublished).then_some(spec.port);
        let mut host_port = 0;
        let mut port_bindings = HashMap::new();
        for port in own.into_iter().chain(extras.ports.iter().copied()) {
            let bound = free_loopback_port()?;
            if port_bindings.is_empty() {
                host_port = bound;
            }
            port_bindings.extend(loopback_binding(&format!("{port}/tcp"), bound));
        }
        let mut aliases = vec![spec.name.clone()];
        aliases.extend(extras.aliases.iter().cloned());
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: extras.entrypoint.clone(),
            cmd: extras.command.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            exposed_ports: Some(port_bindings.keys().cloned().collect()),
            labels: Some(labels),
            networking_config: Some(self.aliased(aliases)),
            host_config: Some(HostConfig {
                memory: spec.memory_bytes.map(|b| b as i64),
                memory_swap: spec.memory_bytes.map(|b| b as i64),
                nano_cpus: spec.nano_cpus,
                network_mode: Some(self.network.clone()),
                restart_policy: Some(RestartPolicy {
                    name: Some(match spec.restart {
                        TargetRestart::No => RestartPolicyNameEnum::NO,
                        TargetRestart::OnFailure => RestartPolicyNameEnum::ON_FAILURE,
                    }),
                    maximum_retry_count: None,
                }),
                port_bindings: Some(port_bindings),
                mounts: Some(
                    extras
                        .mounts
                        .iter()
                        .map(|mount| self.mount(spec.trial, mount))
                        .collect(),
                ),
                ..Default::default()
            }),
            healthcheck: spec
                .healthcheck
                .as_ref()
                .map(|check| check.config(extras.health_start_period)),
            ..Default::default()
        };
        let container_name = format!("sim-{}-t{}-{}", self.run_id, spec.trial, spec.name);
        let options = CreateContainerOptionsBuilder::new()
            .name(&container_name)
            .build();
        let created = self.docker.create_container(Some(options), body).await?;
        self.docker.start_container(&created.id, None).await?;
        Ok(TargetContainer {
            name: spec.name.clone(),
            id: created.id,
            container: container_name,
            host_port,
        })
    }

    /// The labels everything of this run carries (`sim.managed`, `sim.run`, `sim.pid`), e.g. for
    /// an image built for the run.
    pub fn labels(&self) -> HashMap<String, String> {
        run_labels(&self.run_id)
    }

    /// Creates a supporting container, copies its files in, and starts it. Restart policy `no`,
    /// port on 127.0.0.1 only, labelled with the run like everything else.
    pub async fn start_service(
        &self,
        spec: &ServiceSpec,
    ) -> Result<TargetContainer, bollard::errors::Error> {
        let host_port = free_loopback_port()?;
        let port_key = format!("{}/tcp", spec.port);
        let mut labels = run_labels(&self.run_id);
        labels.insert(LABEL_TARGET.to_owned(), spec.name.clone());
        let mut port_bindings = loopback_binding(&port_key, host_port);
        for (container_port, host_port) in &spec.also_published {
            port_bindings.extend(loopback_binding(
                &format!("{container_port}/tcp"),
                *host_port,
            ));
        }
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: Some(spec.args.clone()),
            exposed_ports: Some(port_bindings.keys().cloned().collect()),
            labels: Some(labels),
            networking_config: Some(self.aliased(vec![spec.name.clone()])),
            host_config: Some(HostConfig {
                network_mode: Some(self.network.clone()),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::NO),
                    maximum_retry_count: None,
                }),
                port_bindings: Some(port_bindings),
                tmpfs: Some(
                    spec.tmpfs
                        .iter()
                        .map(|dir| (dir.clone(), String::new()))
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        let container_name = format!("sim-{}-{}", self.run_id, spec.name);
        let options = CreateContainerOptionsBuilder::new()
            .name(&container_name)
            .build();
        let created = self.docker.create_container(Some(options), body).await?;
        if !spec.files.is_empty() {
            let options = UploadToContainerOptionsBuilder::new().path("/").build();
            let archive = files_archive(&spec.files)?;
            self.docker
                .upload_to_container(
                    &created.id,
                    Some(options),
                    bollard::body_full(archive.into()),
                )
                .await?;
        }
        self.docker.start_container(&created.id, None).await?;
        Ok(TargetContainer {
            name: spec.name.clone(),
            id: created.id,
            container: container_name,
            host_port,
        })
    }

    /// Joins the run's network under `aliases`, so other containers reach it by those names (a
    /// replica keeps its alias, `leaky-0`, from trial to trial; a compose service's containers
    /// all answer to the service's name too).
    fn aliased(&self, aliases: Vec<String>) -> NetworkingConfig {
        NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                self.network.clone(),
                EndpointSettings {
                    aliases: Some(aliases),
                    ..Default::default()
                },
            )])),
        }
    }

    /// The gateway IP of the run's network: the host's address as containers on it see it.
    pub async fn gateway_ip(&self) -> Result<Option<std::net::IpAddr>, bollard::errors::Error> {
        let network = self.docker.inspect_network(&self.network, None).await?;
        let configs = network.ipam.and_then(|i| i.config).unwrap_or_default();
        Ok(configs
            .into_iter()
            .filter_map(|c| c.gateway)
            .find_map(|g| g.parse().ok()))
    }

    /// The exit code of a container that has stopped, or `None` while it runs.
    pub async fn exit_code(&self, id: &str) -> Result<Option<i64>, bollard::errors::Error> {
        Ok(self.status(id).await?.exit_code)
    }

    /// Whether container `id` runs, its exit code once stopped, and its health.
    pub async fn status(&self, id: &str) -> Result<ContainerStatus, bollard::errors::Error> {
        let state = self
            .docker
            .inspect_container(id, None)
            .await?
            .state
            .unwrap_or_default();
        let running = state.running == Some(true);
        Ok(ContainerStatus {
            running,
            exit_code: (!running).then(|| state.exit_code.unwrap_or_default()),
            health: state
                .health
                .and_then(|h| h.status)
                .map(|status| status.to_string()),
        })
    }

    /// The last `tail` lines of a container's stdout and stderr.
    pub async fn logs(&self, id: &str, tail: usize) -> Result<String, bollard::errors::Error> {
        let options = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .tail(&tail.to_string())
            .build();
        let mut stream = self.docker.logs(id, Some(options));
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(&chunk?.to_string());
        }
        Ok(text)
    }

    /// Removes (forcefully) every container of this run that carries `extra` labels too.
    pub async fn remove_containers(
        &self,
        extra: &[(&str, &str)],
    ) -> Result<usize, bollard::errors::Error> {
        let mut filters = vec![format!("{LABEL_RUN}={}", self.run_id)];
        filters.extend(extra.iter().map(|(k, v)| format!("{k}={v}")));
        let ids = list_container_ids(&self.docker, filters).await?;
        for id in &ids {
            remove_container(&self.docker, id).await?;
        }
        Ok(ids.len())
    }

    /// Removes the containers of `trial` (0: the preflight), then its named volumes.
    pub async fn remove_trial(&self, trial: u32) -> Result<(), bollard::errors::Error> {
        let trial = trial.to_string();
        let extra = [(LABEL_TRIAL, trial.as_str())];
        self.remove_containers(&extra).await?;
        self.remove_volumes(&extra).await
    }

    /// Removes the images built for this run (a compose project's `build:` services); the
    /// images sim builds from host programs are not the run's and stay cached.
    async fn remove_images(&self) -> Result<(), bollard::errors::Error> {
        let filters = HashMap::from([("label", vec![format!("{LABEL_RUN}={}", self.run_id)])]);
        let options = ListImagesOptionsBuilder::new().filters(&filters).build();
        for image in self.docker.list_images(Some(options)).await? {
            let options = RemoveImageOptionsBuilder::new().force(true).build();
            match self
                .docker
                .remove_image(&image.id, Some(options), None)
                .await
            {
                Ok(_)
                | Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Removes everything of this run: containers, named volumes, the images built for it, then
    /// the network. Safe to call twice.
    pub async fn cleanup(&self) -> Result<(), bollard::errors::Error> {
        self.remove_containers(&[]).await?;
        self.remove_volumes(&[]).await?;
        self.remove_images().await?;
        match self.docker.remove_network(&self.network).await {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// A duration in nanoseconds, as Docker's health-check settings take it.
fn nanos(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

fn loopback_binding(port_key: &str, host_port: u16) -> HashMap<String, Option<Vec<PortBinding>>> {
    HashMap::from([(
        port_key.to_owned(),
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".to_owned()),
            host_port: Some(host_port.to_string()),
        }]),
    )])
}

/// A tar of `files` (absolute paths) to extract at `/`.
fn files_archive(files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        super::image::append(&mut tar, path.trim_start_matches('/'), bytes, 0o644)?;
    }
    tar.into_inner()
}

fn run_labels(run_id: &str) -> HashMap<String, String> {
    let mut labels = HashMap::from([
        (LABEL_MANAGED.to_owned(), "true".to_owned()),
        (LABEL_RUN.to_owned(), run_id.to_owned()),
        (LABEL_PID.to_owned(), std::process::id().to_string()),
    ]);
    if let Some(me) = crate::swarm::Process::current() {
        labels.insert(LABEL_PID_START.to_owned(), me.start.to_string());
    }
    labels
}

/// Ids of all containers (running or not) matching every `label` filter.
pub(super) async fn list_container_ids(
    docker: &Docker,
    labels: Vec<String>,
) -> Result<Vec<String>, bollard::errors::Error> {
    let filters = HashMap::from([("label", labels)]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let containers = docker.list_containers(Some(options)).await?;
    Ok(containers.into_iter().filter_map(|c| c.id).collect())
}

pub(super) async fn remove_container(
    docker: &Docker,
    id: &str,
) -> Result<(), bollard::errors::Error> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(()),
        // Already gone, or already being removed: the goal is reached.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404 | 409,
            ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A free TCP port on 127.0.0.1, chosen by the kernel. Publishing a fixed port (rather than an
/// ephemeral one) keeps the same host port across container restarts.
pub fn free_loopback_port() -> Result<u16, bollard::errors::Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
