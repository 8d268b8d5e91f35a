//! [`DockerPlatform`]: signals from Docker's event stream, actions through the Docker API.
//!
//! The only module of the healer that talks to bollard.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bollard::models::{
    ContainerConfig, ContainerCreateBody, ContainerStatsResponse, ContainerSummary,
    ContainerUpdateBody, EndpointSettings, EventMessage, HostConfig, ImageConfig, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, EventsOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder,
    StartContainerOptions, StatsOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::future::{self, BoxFuture};
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use tokio::time::Instant;

use super::{
    BoxError, Limits, Platform, PlatformError, Scale, Scope, Stats, PREVIOUS_IMAGE_LABEL,
    ROLLED_BACK_FROM_LABEL,
};
use crate::signal::{Signal, SignalKind, TargetRef};

/// Seconds Docker waits after SIGTERM before it sends SIGKILL on restart.
const RESTART_GRACE_SECS: i32 = 1;

/// A label naming the target in the healer's records; the container name when absent.
pub const NAME_LABEL: &str = "healer.name";

/// Event attributes Docker adds next to a container's labels.
const NON_LABEL_ATTRIBUTES: [&str; 5] = ["name", "image", "exitCode", "execDuration", "signal"];

/// A local (or `DOCKER_HOST`) Docker engine.
#[derive(Debug, Clone)]
pub struct DockerPlatform {
    docker: Docker,
}

impl DockerPlatform {
    /// Connects with Docker's local defaults and negotiates the API version.
    pub async fn connect() -> Result<Self, PlatformError> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|source| PlatformError::Connect {
                source: source.into(),
            })?
            .negotiate_version()
            .await
            .map_err(|source| PlatformError::Connect {
                source: source.into(),
            })?;
        Ok(DockerPlatform { docker })
    }

    /// Uses an already connected client.
    pub fn new(docker: Docker) -> Self {
        DockerPlatform { docker }
    }
}

impl Platform for DockerPlatform {
    fn signals(&self, scope: &Scope) -> BoxStream<'static, Result<Signal, PlatformError>> {
        let mut filters: HashMap<&str, Vec<String>> = HashMap::new();
        filters.insert("type", vec!["container".to_owned()]);
        filters.insert(
            "event",
            ["oom", "die", "start", "health_status", "destroy"]
                .map(str::to_owned)
                .to_vec(),
        );
        let labels: Vec<String> = scope
            .labels
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        if !labels.is_empty() {
            filters.insert("label", labels);
        }
        let options = EventsOptionsBuilder::new().filters(&filters).build();
        self.docker
            .events(Some(options))
            .filter_map(|message| {
                future::ready(match message {
                    Ok(message) => to_signal(message).map(Ok),
                    Err(source) => Some(Err(PlatformError::Signals {
                        source: source.into(),
                    })),
                })
            })
            .boxed()
    }

    fn restart(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let target = target.clone();
        async move {
            let options = RestartContainerOptionsBuilder::new()
                .t(RESTART_GRACE_SECS)
                .build();
            let call = async {
                self.docker
                    .restart_container(&target.id, Some(options))
                    .await
                    .map_err(|source| PlatformError::Restart {
                        target: target.name.clone(),
                        source: source.into(),
                    })
            };
            timed_platform(&target, "restart", timeout, call).await
        }
        .boxed()
    }

    fn http_endpoint(
        &self,
        target: &TargetRef,
        container_port: u16,
    ) -> BoxFuture<'_, Result<SocketAddr, PlatformError>> {
        let target = target.clone();
        async move {
            let inspect = self
                .docker
                .inspect_container(&target.id, None)
                .await
                .map_err(|source| PlatformError::Inspect {
                    target: target.name.clone(),
                    source: source.into(),
                })?;
            let bindings = inspect
                .network_settings
                .and_then(|settings| settings.ports)
                .and_then(|mut ports| ports.remove(&format!("{container_port}/tcp")))
                .flatten()
                .unwrap_or_default();
            bindings
                .iter()
                .filter_map(|binding| {
                    let port = binding.host_port.as_deref()?.parse::<u16>().ok()?;
                    Some(SocketAddr::new(
                        reachable_ip(binding.host_ip.as_deref()),
                        port,
                    ))
                })
                // Prefer the IPv4 loopback binding the project publishes on.
                .min_by_key(|addr| addr.ip() != IpAddr::V4(Ipv4Addr::LOCALHOST))
                .ok_or(PlatformError::PortNotPublished {
                    target: target.name,
                    port: container_port,
                })
        }
        .boxed()
    }

    fn stop(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let target = target.clone();
        async move {
            let options = StopContainerOptionsBuilder::new()
                .t(RESTART_GRACE_SECS)
                .build();
            let call = async {
                match self.docker.stop_container(&target.id, Some(options)).await {
                    Err(error) if not_modified(&error) => Ok(()),
                    other => other,
                }
            };
            timed(&target, "stop", timeout, call).await
        }
        .boxed()
    }

    fn send_signal(
        &self,
        target: &TargetRef,
        signal: &str,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let target = target.clone();
        let options = KillContainerOptionsBuilder::new().signal(signal).build();
        async move {
            timed(
                &target,
                "signal",
                timeout,
                self.docker.kill_container(&target.id, Some(options)),
            )
            .await
        }
        .boxed()
    }

    fn recreate(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<TargetRef, PlatformError>> {
        let target = target.clone();
        async move {
            timed_platform(&target, "recreate", timeout, async {
                let (name, body) = self.blueprint(&target).await?;
                self.replace(&target, &name, body).await
            })
            .await
        }
        .boxed()
    }

    fn rollback(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<TargetRef, PlatformError>> {
        let target = target.clone();
        async move {
            timed_platform(&target, "roll back", timeout, async {
                let (name, mut body) = self.blueprint(&target).await?;
                let labels = body.labels.get_or_insert_with(HashMap::new);
                let previous = labels.remove(PREVIOUS_IMAGE_LABEL).ok_or_else(|| {
                    action_error(
                        &target,
                        "roll back",
                        format!("it has no {PREVIOUS_IMAGE_LABEL} label naming the image to roll back to").into(),
                    )
                })?;
                if let Some(current) = body.image.replace(previous) {
                    labels.insert(ROLLED_BACK_FROM_LABEL.to_owned(), current);
                }
                self.replace(&target, &name, body).await
            })
            .await
        }
        .boxed()
    }

    fn scale(
        &self,
        target: &TargetRef,
        scale: Scale,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<u32, PlatformError>> {
        let target = target.clone();
        async move {
            timed_platform(&target, "scale", timeout, self.scale_now(&target, scale)).await
        }
        .boxed()
    }

    fn update_limits(
        &self,
        target: &TargetRef,
        limits: Limits,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let target = target.clone();
        let memory = limits
            .memory_bytes
            .map(|bytes| i64::try_from(bytes).unwrap_or(i64::MAX));
        let body = ContainerUpdateBody {
            memory,
            // Keep "no swap": the swap limit (memory + swap) follows the memory limit.
            memory_swap: memory,
            nano_cpus: limits.cpus.map(|cpus| (cpus * 1e9).round() as i64),
            ..ContainerUpdateBody::default()
        };
        async move {
            timed(
                &target,
                "update the limits of",
                timeout,
                self.docker.update_container(&target.id, body),
            )
            .await
        }
        .boxed()
    }

    fn targets(&self, scope: &Scope) -> BoxFuture<'_, Result<Vec<TargetRef>, PlatformError>> {
        let options = ListContainersOptionsBuilder::new()
            .filters(&scope_filters(scope))
            .build();
        async move {
            let containers =
                self.docker
                    .list_containers(Some(options))
                    .await
                    .map_err(|source| PlatformError::Inspect {
                        target: "the targets in scope".to_owned(),
                        source: source.into(),
                    })?;
            Ok(containers
                .into_iter()
                .filter_map(|container| to_target(container).map(|(target, _)| target))
                .collect())
        }
        .boxed()
    }

    fn stats(&self, target: &TargetRef) -> BoxFuture<'_, Result<Stats, PlatformError>> {
        let target = target.clone();
        let options = StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(true)
            .build();
        async move {
            let inspect_error = |source: BoxError| PlatformError::Inspect {
                target: target.name.clone(),
                source,
            };
            let sample = self
                .docker
                .stats(&target.id, Some(options))
                .next()
                .await
                .ok_or_else(|| inspect_error("the stats stream ended without a sample".into()))?
                .map_err(|source| inspect_error(source.into()))?;
            to_stats(sample)
                .ok_or_else(|| inspect_error("the stats sample has no memory usage".into()))
        }
        .boxed()
    }

    fn find_target(
        &self,
        scope: &Scope,
        name: &str,
    ) -> BoxFuture<'_, Result<Option<TargetRef>, PlatformError>> {
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&scope_filters(scope))
            .build();
        let name = name.to_owned();
        async move {
            let containers =
                self.docker
                    .list_containers(Some(options))
                    .await
                    .map_err(|source| PlatformError::Inspect {
                        target: name.clone(),
                        source: source.into(),
                    })?;
            Ok(containers.into_iter().find_map(|container| {
                let (target, container_name) = to_target(container)?;
                let matches =
                    target.name == name || container_name.as_deref() == Some(name.as_str());
                matches.then_some(target)
            }))
        }
        .boxed()
    }
}

impl DockerPlatform {
    /// The container's name and a body that creates it again as it is configured.
    async fn blueprint(
        &self,
        target: &TargetRef,
    ) -> Result<(String, ContainerCreateBody), PlatformError> {
        let inspect = self
            .docker
            .inspect_container(&target.id, None)
            .await
            .map_err(|source| PlatformError::Inspect {
                target: target.name.clone(),
                source: source.into(),
            })?;
        let name = inspect
            .name
            .map(|name| name.trim_start_matches('/').to_owned())
            .unwrap_or_else(|| target.name.clone());
        let mut config = inspect.config.unwrap_or_default();
        // What the image itself sets (its ENV, CMD, ENTRYPOINT, LABELs) shows in the container's
        // config too; leave it to the image, so a rollback takes the previous image's own.
        if let Some(image) = inspect.image.as_deref() {
            if let Ok(image) = self.docker.inspect_image(image).await {
                strip_image_defaults(&mut config, image.config.unwrap_or_default());
            }
        }
        let networking_config = network_aliases(
            &target.id,
            inspect.host_config.as_ref(),
            inspect
                .network_settings
                .and_then(|settings| settings.networks),
        );
        let body = ContainerCreateBody {
            hostname: None,
            user: config.user,
            exposed_ports: config.exposed_ports,
            env: config.env,
            cmd: config.cmd,
            healthcheck: config.healthcheck,
            image: config.image,
            working_dir: config.working_dir,
            entrypoint: config.entrypoint,
            labels: config.labels,
            stop_signal: config.stop_signal,
            stop_timeout: config.stop_timeout,
            host_config: inspect.host_config,
            networking_config,
            ..ContainerCreateBody::default()
        };
        Ok((name, body))
    }

    /// Deploys `image` in place of `target` the way [`Platform::rollback`] needs it: recreates
    /// the container from `image` with its configuration (name, environment, labels, limits,
    /// ports, network aliases) plus the label [`PREVIOUS_IMAGE_LABEL`] naming the image it ran.
    /// Gives the new target. Not a healer action but the deployer's side of a rollback (sim's
    /// `bad-deploy` fault uses it).
    pub async fn deploy(
        &self,
        target: &TargetRef,
        image: &str,
        timeout: Duration,
    ) -> Result<TargetRef, PlatformError> {
        timed_platform(target, "deploy", timeout, async {
            let (name, mut body) = self.blueprint(target).await?;
            let labels = body.labels.get_or_insert_with(HashMap::new);
            labels.remove(ROLLED_BACK_FROM_LABEL);
            if let Some(current) = body.image.replace(image.to_owned()) {
                labels.insert(PREVIOUS_IMAGE_LABEL.to_owned(), current);
            }
            self.replace(target, &name, body).await
        })
        .await
    }

    /// Removes `old`, creates `name` from `body` and starts it.
    async fn replace(
        &self,
        old: &TargetRef,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<TargetRef, PlatformError> {
        let fail = |operation: &'static str, source: bollard::errors::Error| {
            action_error(old, operation, source.into())
        };
        let remove = RemoveContainerOptionsBuilder::new().force(true).build();
        self.docker
            .remove_container(&old.id, Some(remove))
            .await
            .map_err(|e| fail("remove", e))?;
        self.create_and_start(old, name, body).await
    }

    async fn create_and_start(
        &self,
        old: &TargetRef,
        name: &str,
        body: ContainerCreateBody,
    ) -> Result<TargetRef, PlatformError> {
        let fail = |operation: &'static str, source: bollard::errors::Error| {
            action_error(old, operation, source.into())
        };
        let labels: BTreeMap<String, String> = body
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let options = CreateContainerOptionsBuilder::new().name(name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| fail("create", e))?;
        self.docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
            .map_err(|e| fail("start", e))?;
        Ok(TargetRef {
            id: created.id,
            name: labels
                .get(NAME_LABEL)
                .cloned()
                .unwrap_or_else(|| name.to_owned()),
            labels,
        })
    }

    /// Replicas are the target plus the containers labelled [`REPLICA_OF_LABEL`] with its
    /// container name; clones are named `<name>-replica-<n>` and removed newest first.
    async fn scale_now(&self, target: &TargetRef, scale: Scale) -> Result<u32, PlatformError> {
        let (name, mut body) = self.blueprint(target).await?;
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{REPLICA_OF_LABEL}={name}")],
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let mut clones: Vec<(i64, String)> = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|source| action_error(target, "scale", source.into()))?
            .into_iter()
            .filter_map(|c| Some((c.created.unwrap_or(0), c.id?)))
            .collect();
        clones.sort();
        let now = u32::try_from(clones.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let wanted = scale.wanted(now);
        if wanted < now {
            let remove = RemoveContainerOptionsBuilder::new().force(true).build();
            for (_, id) in clones.iter().rev().take((now - wanted) as usize) {
                self.docker
                    .remove_container(id, Some(remove.clone()))
                    .await
                    .map_err(|source| action_error(target, "scale down", source.into()))?;
            }
        }
        if wanted > now {
            let labels = body.labels.get_or_insert_with(HashMap::new);
            labels.insert(REPLICA_OF_LABEL.to_owned(), name.clone());
            // Published host ports would clash: clones take ephemeral ones on the same IPs.
            if let Some(bindings) = body
                .host_config
                .as_mut()
                .and_then(|host| host.port_bindings.as_mut())
            {
                for binding in bindings.values_mut().flatten().flatten() {
                    binding.host_port = Some(String::new());
                }
            }
            let mut serial = 0;
            for _ in now..wanted {
                let clone_name = loop {
                    serial += 1;
                    let candidate = format!("{name}-replica-{serial}");
                    if self
                        .docker
                        .inspect_container(&candidate, None)
                        .await
                        .is_err()
                    {
                        break candidate;
                    }
                };
                let mut body = body.clone();
                if let Some(labels) = body.labels.as_mut() {
                    labels.insert(NAME_LABEL.to_owned(), clone_name.clone());
                }
                self.create_and_start(target, &clone_name, body).await?;
            }
        }
        Ok(wanted)
    }
}

/// The aliases a container answers to on its network (`network_mode`), so that a container
/// created again from its blueprint keeps them (a load balancer may reach it by one). Docker's
/// own alias, the short container id, is left out.
fn network_aliases(
    id: &str,
    host_config: Option<&HostConfig>,
    networks: Option<HashMap<String, EndpointSettings>>,
) -> Option<NetworkingConfig> {
    let network = host_config?.network_mode.clone()?;
    let aliases: Vec<String> = networks?
        .remove(&network)?
        .aliases?
        .into_iter()
        .filter(|alias| !id.starts_with(alias.as_str()))
        .collect();
    if aliases.is_empty() {
        return None;
    }
    let endpoint = EndpointSettings {
        aliases: Some(aliases),
        ..EndpointSettings::default()
    };
    Some(NetworkingConfig {
        endpoints_config: Some(HashMap::from([(network, endpoint)])),
    })
}

/// Removes from a container's config what its image provides.
fn strip_image_defaults(config: &mut ContainerConfig, image: ImageConfig) {
    if let (Some(env), Some(image_env)) = (config.env.as_mut(), image.env.as_ref()) {
        env.retain(|entry| !image_env.contains(entry));
    }
    if config.cmd == image.cmd {
        config.cmd = None;
    }
    if config.entrypoint == image.entrypoint {
        config.entrypoint = None;
    }
    if let (Some(labels), Some(image_labels)) = (config.labels.as_mut(), image.labels.as_ref()) {
        labels.retain(|key, value| image_labels.get(key) != Some(value));
    }
}

/// The label a scaled-out clone carries: the container name of the target it copies.
pub const REPLICA_OF_LABEL: &str = "healer.replica-of";

fn action_error(target: &TargetRef, operation: &'static str, source: BoxError) -> PlatformError {
    PlatformError::Action {
        target: target.name.clone(),
        operation,
        source,
    }
}

/// Runs a platform operation with a time limit.
async fn timed_platform<T>(
    target: &TargetRef,
    operation: &'static str,
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, PlatformError>>,
) -> Result<T, PlatformError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| {
            Err(PlatformError::Timeout {
                target: target.name.clone(),
                operation,
                after: timeout,
            })
        })
}

/// Docker's `label` filter for the scope's labels.
fn scope_filters(scope: &Scope) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_owned(),
        scope
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
    )])
}

/// A listed container as a target, with its container name; `None` without id or name.
fn to_target(container: ContainerSummary) -> Option<(TargetRef, Option<String>)> {
    let labels: BTreeMap<String, String> =
        container.labels.unwrap_or_default().into_iter().collect();
    let container_name = container
        .names
        .unwrap_or_default()
        .into_iter()
        .map(|n| n.trim_start_matches('/').to_owned())
        .next();
    let name = labels.get(NAME_LABEL).cloned().or(container_name.clone())?;
    let id = container.id.filter(|id| !id.is_empty())?;
    Some((TargetRef { id, name, labels }, container_name))
}

/// Memory without the reclaimable page cache (as `docker stats` shows it), and the CPU counter.
fn to_stats(sample: ContainerStatsResponse) -> Option<Stats> {
    let memory = sample.memory_stats?;
    let usage = memory.usage?;
    let cache = memory
        .stats
        .as_ref()
        .and_then(|stats| {
            stats
                .get("inactive_file")
                .or_else(|| stats.get("total_inactive_file"))
        })
        .copied()
        .unwrap_or(0);
    let cpu = sample.cpu_stats.unwrap_or_default();
    let throttling = cpu.throttling_data.unwrap_or_default();
    Some(Stats {
        memory_bytes: usage.saturating_sub(cache),
        memory_limit_bytes: memory.limit.filter(|limit| *limit > 0),
        cpu_total_ns: cpu
            .cpu_usage
            .and_then(|usage| usage.total_usage)
            .unwrap_or(0),
        cpu_periods: throttling.periods.unwrap_or(0),
        cpu_throttled_periods: throttling.throttled_periods.unwrap_or(0),
    })
}

/// Runs a Docker call with a time limit, naming the target and operation in its errors.
async fn timed<T>(
    target: &TargetRef,
    operation: &'static str,
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, PlatformError> {
    let call = async {
        call.await.map_err(|source| PlatformError::Action {
            target: target.name.clone(),
            operation,
            source: source.into(),
        })
    };
    timed_platform(target, operation, timeout, call).await
}

/// Docker answers 304 when a container already is in the state asked for.
fn not_modified(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 304,
            ..
        }
    )
}

/// The address to dial for a binding's host IP: loopback for "all interfaces".
fn reachable_ip(host_ip: Option<&str>) -> IpAddr {
    match host_ip.and_then(|ip| ip.parse::<IpAddr>().ok()) {
        Some(ip) if ip.is_unspecified() && ip.is_ipv6() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        Some(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// Turns a container event into a signal; `None` for actions the healer does not use.
fn to_signal(message: EventMessage) -> Option<Signal> {
    let action = message.action?;
    let actor = message.actor?;
    let id = actor.id?;
    let attributes = actor.attributes.unwrap_or_default();
    let kind = match action.as_str() {
        "oom" => SignalKind::Oom,
        "die" => SignalKind::Died {
            exit_code: attributes
                .get("exitCode")
                .and_then(|code| code.parse().ok()),
        },
        "start" => SignalKind::Started,
        "destroy" => SignalKind::Removed,
        "health_status: healthy" => SignalKind::Health { healthy: true },
        "health_status: unhealthy" => SignalKind::Health { healthy: false },
        other => {
            tracing::trace!(action = other, "ignoring Docker event");
            return None;
        }
    };
    let name = attributes
        .get(NAME_LABEL)
        .or_else(|| attributes.get("name"))
        .cloned()
        .unwrap_or_else(|| id.clone());
    let labels: BTreeMap<String, String> = attributes
        .into_iter()
        .filter(|(key, _)| !NON_LABEL_ATTRIBUTES.contains(&key.as_str()))
        .collect();
    Some(Signal {
        target: TargetRef { id, name, labels },
        kind,
        at: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use bollard::models::EventActor;

    use super::*;

    fn event(action: &str, attributes: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            action: Some(action.to_owned()),
            actor: Some(EventActor {
                id: Some("c0ffee".to_owned()),
                attributes: Some(
                    attributes
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..EventMessage::default()
        }
    }

    #[test]
    fn the_name_label_names_the_target_over_the_container_name() {
        let oom = to_signal(event(
            "oom",
            &[("name", "sim-r1-t1-leaky-0"), (NAME_LABEL, "leaky-0")],
        ))
        .unwrap();
        assert_eq!(oom.target.name, "leaky-0");
    }

    #[test]
    fn docker_events_become_signals_with_labels_and_exit_codes() {
        let die = to_signal(event(
            "die",
            &[
                ("name", "leaky-0"),
                ("image", "sim-leaky:1"),
                ("exitCode", "137"),
                ("sim.run", "r1"),
            ],
        ))
        .unwrap();
        assert_eq!(
            die.kind,
            SignalKind::Died {
                exit_code: Some(137)
            }
        );
        assert_eq!(die.target.id, "c0ffee");
        assert_eq!(die.target.name, "leaky-0");
        assert_eq!(
            die.target.labels,
            BTreeMap::from([("sim.run".to_owned(), "r1".to_owned())])
        );
        let kinds: Vec<SignalKind> = [
            "oom",
            "start",
            "health_status: healthy",
            "health_status: unhealthy",
        ]
        .into_iter()
        .map(|action| to_signal(event(action, &[])).unwrap().kind)
        .collect();
        assert_eq!(
            kinds,
            [
                SignalKind::Oom,
                SignalKind::Started,
                SignalKind::Health { healthy: true },
                SignalKind::Health { healthy: false }
            ]
        );
        assert_eq!(to_signal(event("exec_start: sh", &[])), None);
    }

    #[test]
    fn a_blueprint_keeps_the_network_aliases_but_not_the_short_id() {
        let host = HostConfig {
            network_mode: Some("sim-r1".to_owned()),
            ..HostConfig::default()
        };
        let endpoint = |aliases: &[&str]| EndpointSettings {
            aliases: Some(aliases.iter().map(|a| a.to_string()).collect()),
            ..EndpointSettings::default()
        };
        let networks = HashMap::from([
            ("sim-r1".to_owned(), endpoint(&["leaky-0", "c0ffee123456"])),
            ("other".to_owned(), endpoint(&["elsewhere"])),
        ]);
        let config = network_aliases("c0ffee1234567890", Some(&host), Some(networks)).unwrap();
        let endpoints = config.endpoints_config.unwrap();
        assert_eq!(endpoints.len(), 1);
        assert_eq!(
            endpoints["sim-r1"].aliases.as_deref(),
            Some(&["leaky-0".to_owned()][..])
        );
        // Only Docker's own alias: nothing to keep (the default bridge takes no aliases at all).
        let own = HashMap::from([("sim-r1".to_owned(), endpoint(&["c0ffee123456"]))]);
        assert!(network_aliases("c0ffee1234567890", Some(&host), Some(own)).is_none());
    }

    #[test]
    fn unspecified_host_ips_are_reached_through_loopback() {
        assert_eq!(
            reachable_ip(Some("0.0.0.0")),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(reachable_ip(Some("::")), IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(reachable_ip(Some("")), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            reachable_ip(Some("10.1.2.3")),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }
}
