//! [`DockerPlatform`]: signals from Docker's event stream, actions through the Docker API.
//!
//! The only module of the healer that talks to bollard (with its submodules: [`endpoint`],
//! where this host reaches a container's port; [`lifecycle`], restart and stop; [`replace`],
//! containers created again from their blueprint; [`logs`], a container's log lines through
//! its restarts).

mod endpoint;
mod lifecycle;
mod logs;
mod neighbors;
mod replace;

pub use neighbors::forget_stale_neighbors;

pub use replace::REPLICA_OF_LABEL;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bollard::models::{
    ContainerStatsResponse, ContainerSummary, ContainerUpdateBody, EventMessage,
};
use bollard::query_parameters::{
    EventsOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    StatsOptionsBuilder,
};
use bollard::Docker;
use futures_util::future::{self, BoxFuture};
use futures_util::stream::{self, BoxStream};
use futures_util::{FutureExt, StreamExt};
use tokio::time::Instant;

use super::{
    action_error, timed_platform, BoxError, Limits, Platform, PlatformError, Scale, Scope, Stats,
    ANY_VALUE, PREVIOUS_IMAGE_LABEL, ROLLED_BACK_FROM_LABEL,
};
use crate::signal::{Signal, SignalKind, TargetRef};

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

    /// The container as Docker describes it now; an error names the target.
    async fn inspect(
        &self,
        target: &TargetRef,
    ) -> Result<bollard::models::ContainerInspectResponse, PlatformError> {
        self.docker
            .inspect_container(&target.id, None)
            .await
            .map_err(|source| PlatformError::Inspect {
                target: target.name.clone(),
                source: source.into(),
            })
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
        // Without `until` the stream ends only when the daemon goes away: a lost connection
        // (the engine asks again), not the end of the signals.
        let gone = PlatformError::Connect {
            source: "the Docker daemon closed its event stream".into(),
        };
        self.docker
            .events(Some(options))
            .filter_map(|message| {
                future::ready(match message {
                    Ok(message) => to_signal(message).map(Ok),
                    Err(error) => Some(Err(events_error(error))),
                })
            })
            .chain(stream::once(future::ready(Err(gone))))
            .boxed()
    }

    fn logs(&self, target: &TargetRef) -> BoxStream<'static, Result<String, PlatformError>> {
        logs::follow(self.docker.clone(), target.clone())
    }

    fn restart(
        &self,
        target: &TargetRef,
        grace: Duration,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let target = target.clone();
        async move {
            timed_platform(
                &target,
                "restart",
                timeout,
                self.restart_now(&target, grace),
            )
            .await
        }
        .boxed()
    }

    fn addresses(&self, target: &TargetRef) -> BoxFuture<'_, Result<Vec<IpAddr>, PlatformError>> {
        let target = target.clone();
        async move {
            let networks = self
                .inspect(&target)
                .await?
                .network_settings
                .and_then(|settings| settings.networks)
                .unwrap_or_default();
            Ok(networks
                .values()
                .filter_map(|network| network.ip_address.as_deref()?.parse().ok())
                .collect())
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
            let inspect = self.inspect(&target).await?;
            endpoint::http_endpoint(&self.docker, &target, inspect, container_port).await
        }
        .boxed()
    }

    fn stop(
        &self,
        target: &TargetRef,
        grace: Duration,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let target = target.clone();
        async move { timed_platform(&target, "stop", timeout, self.stop_now(&target, grace)).await }
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

    fn unpause(
        &self,
        target: &TargetRef,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let target = target.clone();
        async move {
            timed(
                &target,
                "unpause",
                timeout,
                self.docker.unpause_container(&target.id),
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

/// Docker's `label` filter for the scope's labels (`key` alone: the label with any value).
fn scope_filters(scope: &Scope) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_owned(),
        scope
            .labels
            .iter()
            .map(|(k, v)| match v.as_str() {
                ANY_VALUE => k.clone(),
                _ => format!("{k}={v}"),
            })
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
pub(crate) fn to_stats(sample: ContainerStatsResponse) -> Option<Stats> {
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

/// A failed event stream: refused (4xx: asking again gets the same answer), it failed for
/// good; otherwise (the daemon stopped or restarts, the connection broke) it is a lost
/// connection.
fn events_error(error: bollard::errors::Error) -> PlatformError {
    match error {
        bollard::errors::Error::DockerResponseServerError { status_code, .. }
            if (400..500).contains(&status_code) =>
        {
            PlatformError::Signals {
                source: error.into(),
            }
        }
        _ => PlatformError::Connect {
            source: error.into(),
        },
    }
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

/// Turns a container event into a signal; `None` for actions the healer does not use.
pub(crate) fn to_signal(message: EventMessage) -> Option<Signal> {
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
mod tests;
