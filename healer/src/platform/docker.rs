//! [`DockerPlatform`]: signals from Docker's event stream, actions through the Docker API.
//!
//! The only module of the healer that talks to bollard.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bollard::models::EventMessage;
use bollard::query_parameters::{
    EventsOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    RestartContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::future::{self, BoxFuture};
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use tokio::time::Instant;

use super::{Platform, PlatformError, Scope};
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
            ["oom", "die", "start", "health_status"]
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
            match tokio::time::timeout(
                timeout,
                self.docker.restart_container(&target.id, Some(options)),
            )
            .await
            {
                Ok(Ok(())) => Ok(()),
                Ok(Err(source)) => Err(PlatformError::Restart {
                    target: target.name,
                    source: source.into(),
                }),
                Err(_) => Err(PlatformError::Timeout {
                    target: target.name,
                    operation: "restart",
                    after: timeout,
                }),
            }
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

    fn find_target(
        &self,
        scope: &Scope,
        name: &str,
    ) -> BoxFuture<'_, Result<Option<TargetRef>, PlatformError>> {
        let filters: HashMap<String, Vec<String>> = HashMap::from([(
            "label".to_owned(),
            scope
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
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
                let labels: BTreeMap<String, String> =
                    container.labels.unwrap_or_default().into_iter().collect();
                let container_name = container
                    .names
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| n.trim_start_matches('/').to_owned())
                    .next();
                let shown = labels.get(NAME_LABEL).cloned().or(container_name.clone())?;
                let matches = shown == name || container_name.as_deref() == Some(name.as_str());
                matches.then(|| TargetRef {
                    id: container.id.unwrap_or_default(),
                    name: shown,
                    labels,
                })
            }))
        }
        .boxed()
    }
}

/// Runs a Docker call with a time limit, naming the target and operation in its errors.
async fn timed<T>(
    target: &TargetRef,
    operation: &'static str,
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, PlatformError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(source)) => Err(PlatformError::Action {
            target: target.name.clone(),
            operation,
            source: source.into(),
        }),
        Err(_) => Err(PlatformError::Timeout {
            target: target.name.clone(),
            operation,
            after: timeout,
        }),
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
