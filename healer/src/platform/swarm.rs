//! [`SwarmPlatform`]: targets that are Docker Swarm services, observed and changed through the
//! managers' Engine API.
//!
//! A target is a replicated service (its id, its `healer.name` label or its name, its labels;
//! a scope selects services by label). What the engine asks maps onto Swarm as:
//! - **signals**: the services' tasks, looked at every [`POLL`] (Docker 20.10 has no task
//!   events): a task that reaches `running` is a `start`, one that fails or stops while Swarm
//!   still wants it running is a `die`, with its container's exit code (see [`tasks`]);
//! - **http_endpoint**: the node address and host-mode published port of the service's
//!   newest running task, so the healer's prober and verification reach the task itself;
//!   once one was found, while no manager answers within [`LOOKUP_BUDGET`] or the answer shows
//!   no running task (a swarm electing a leader after a partition mends still runs its tasks,
//!   and its new leader's view can lag), the endpoint last found: probing it tells;
//! - **restart**: a force update (`docker service update --force`): Swarm replaces the
//!   service's tasks in the service's update order. With `start-first` the new task starts at
//!   once, on a node that answers, without waiting for the old one to stop: this is what heals
//!   a task whose node died before the managers mark the node down (~12 s). With
//!   `stop-first` (Swarm's default) the new task waits until the old one stopped, or until
//!   its node is marked down. The restart returns once a task of the new spec runs;
//! - **scale**, **rollback** (Swarm's own: back to the service's previous spec; Swarm refuses
//!   a service that was never updated), **update_limits**
//!   (the task template's resources: Swarm rolls the tasks).
//!
//! Every call goes to the manager that answered last, then to the others in turn, each given
//! [`ASK_TIMEOUT`]: a crashed or cut-off manager costs one timeout, not the heal. Stop, signal,
//! unpause, recreate, logs and stats are not offered (they are a task container's, on a node
//! the healer may not reach); a runbook asking for them fails its step and escalates.
//!
//! Known limit: a service spec read through bollard has no health check (Docker 20.10 writes
//! the key `Healthcheck`, bollard reads `HealthCheck`), so restart, scale and update_limits,
//! which submit the spec they read, drop a health check set on the service; rollback submits
//! Swarm's stored previous spec and keeps it. A HEALTHCHECK in the image is not part of the
//! spec and is kept.

mod tasks;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::models::{Service, ServiceSpec, Task, TaskState};
use bollard::query_parameters::{
    ListNodesOptions, ListServicesOptionsBuilder, ListTasksOptionsBuilder,
    UpdateServiceOptionsBuilder,
};
use bollard::Docker;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt};
use tokio::time::Instant;

use super::docker::NAME_LABEL;
use super::{
    action_error, timed_platform as timed, BoxError, Limits, Platform, PlatformError, Scale, Scope,
    ANY_VALUE,
};
use crate::signal::{Signal, TargetRef};
use tasks::TaskStates;

/// How often the services' tasks are looked at for signals.
pub const POLL: Duration = Duration::from_millis(250);
/// How long one manager gets to answer before the next is asked.
pub const ASK_TIMEOUT: Duration = Duration::from_millis(800);
/// How long finding a service's endpoint may take when one was found before: the healer's
/// probes (250 ms each) wait on it, and the task most likely still runs where it was.
pub const LOOKUP_BUDGET: Duration = Duration::from_millis(100);

/// A Docker Swarm, through the Engine API of its managers.
#[derive(Debug, Clone)]
pub struct SwarmPlatform {
    managers: Arc<[Docker]>,
    /// The manager that answered last: asked first next time.
    preferred: Arc<AtomicUsize>,
    /// Each service's endpoint as last found, used while no manager can list tasks (a swarm
    /// without a leader for a few seconds after a partition mends still runs its tasks).
    endpoints: Arc<Mutex<HashMap<String, SocketAddr>>>,
}

impl SwarmPlatform {
    /// A swarm reached through `managers` (clients of manager nodes' engines; at least one).
    pub fn new(managers: Vec<Docker>) -> Self {
        SwarmPlatform {
            managers: managers.into(),
            preferred: Arc::new(AtomicUsize::new(0)),
            endpoints: Arc::default(),
        }
    }

    /// `call` on the preferred manager, then on each other in turn, until one answers within
    /// [`ASK_TIMEOUT`]; when none did, how many timed out and the last error.
    async fn ask<'a, T, F, Fut>(&'a self, call: F) -> Result<T, BoxError>
    where
        F: Fn(&'a Docker) -> Fut,
        Fut: Future<Output = Result<T, bollard::errors::Error>> + 'a,
    {
        let count = self.managers.len();
        let first = self.preferred.load(Ordering::Relaxed);
        let mut last: BoxError = "no manager to ask".into();
        let mut timed_out = 0;
        for k in 0..count {
            let index = (first + k) % count;
            match tokio::time::timeout(ASK_TIMEOUT, call(&self.managers[index])).await {
                Ok(Ok(answer)) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(answer);
                }
                Ok(Err(error)) => last = error.into(),
                Err(_) => timed_out += 1,
            }
        }
        Err(match timed_out {
            0 => last,
            n if n == count => format!("no manager answered within {ASK_TIMEOUT:?}").into(),
            n => format!("{n} of {count} managers did not answer within {ASK_TIMEOUT:?}; {last}")
                .into(),
        })
    }

    /// The services in `scope`, as targets.
    async fn services(&self, scope: &Scope) -> Result<Vec<(TargetRef, Service)>, BoxError> {
        let filters = HashMap::from([(
            "label".to_owned(),
            scope
                .labels
                .iter()
                .map(|(k, v)| match v.as_str() {
                    ANY_VALUE => k.clone(),
                    _ => format!("{k}={v}"),
                })
                .collect::<Vec<_>>(),
        )]);
        let services = self
            .ask(|docker| {
                let options = ListServicesOptionsBuilder::new().filters(&filters).build();
                docker.list_services(Some(options))
            })
            .await?;
        Ok(services
            .into_iter()
            .filter_map(|service| Some((to_target(&service)?, service)))
            .filter(|(target, _)| scope.contains(target))
            .collect())
    }

    /// The tasks of the services `ids`.
    async fn tasks(&self, ids: &[String]) -> Result<Vec<Task>, BoxError> {
        let filters = HashMap::from([("service".to_owned(), ids.to_vec())]);
        self.ask(|docker| {
            let options = ListTasksOptionsBuilder::new().filters(&filters).build();
            docker.list_tasks(Some(options))
        })
        .await
    }

    /// Changes `target`'s spec with `change` and submits it at the version it was read at.
    async fn update(
        &self,
        target: &TargetRef,
        operation: &'static str,
        change: impl Fn(&mut ServiceSpec) -> Result<(), BoxError>,
    ) -> Result<ServiceSpec, PlatformError> {
        let failed = |source| action_error(target, operation, source);
        let service = self
            .ask(|docker| docker.inspect_service(&target.id, None))
            .await
            .map_err(failed)?;
        let version = service.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec = service.spec.unwrap_or_default();
        change(&mut spec).map_err(failed)?;
        let version = i32::try_from(version).map_err(|_| failed("version out of range".into()))?;
        let submitted = spec.clone();
        self.ask(|docker| {
            let options = UpdateServiceOptionsBuilder::new().version(version).build();
            docker.update_service(&target.id, submitted.clone(), options, None)
        })
        .await
        .map_err(failed)?;
        Ok(spec)
    }
}

impl Platform for SwarmPlatform {
    fn signals(&self, scope: &Scope) -> BoxStream<'static, Result<Signal, PlatformError>> {
        let platform = self.clone();
        let scope = scope.clone();
        let looks = futures_util::stream::unfold(
            (
                platform,
                scope,
                TaskStates::default(),
                tokio::time::interval(POLL),
            ),
            |(platform, scope, mut states, mut ticks)| async move {
                ticks.tick().await;
                let signals = match platform.look(&scope, &mut states).await {
                    Ok(signals) => signals,
                    Err(error) => {
                        tracing::debug!(%error, "no manager listed the tasks; looking again");
                        Vec::new()
                    }
                };
                Some((signals, (platform, scope, states, ticks)))
            },
        );
        looks
            .flat_map(|signals| futures_util::stream::iter(signals.into_iter().map(Ok)))
            .boxed()
    }

    fn restart(
        &self,
        target: &TargetRef,
        _grace: Duration,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<(), PlatformError>> {
        let target = target.clone();
        async move {
            timed(&target, "restart", timeout, async {
                let spec = self
                    .update(&target, "restart", |spec| {
                        let template = spec.task_template.get_or_insert_with(Default::default);
                        template.force_update = Some(template.force_update.unwrap_or(0) + 1);
                        Ok(())
                    })
                    .await?;
                let force = spec.task_template.and_then(|t| t.force_update);
                self.until_running(&target, force).await
            })
            .await
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
            let inspect = |source| PlatformError::Inspect {
                target: target.name.clone(),
                source,
            };
            let known = self.known_endpoints().get(&target.id).copied();
            // A probe waits on this. With an endpoint known, a manager that is slow (a swarm
            // electing a leader) gets only LOOKUP_BUDGET, and one whose list shows no running
            // task (a new leader's view can lag) is not believed: the known endpoint is used,
            // and probing it tells whether the task is still there.
            let lookup = self.endpoint(&target.id, container_port);
            let found =
                match known {
                    Some(known) => match tokio::time::timeout(LOOKUP_BUDGET, lookup).await {
                        Ok(Ok(Ok(found))) => found,
                        Ok(Ok(Err(_)) | Err(_)) | Err(_) => return Ok(known),
                    },
                    None => lookup.await.map_err(inspect)?.map_err(|tried| {
                        PlatformError::Unreachable {
                            target: target.name.clone(),
                            port: container_port,
                            tried,
                        }
                    })?,
                };
            self.known_endpoints().insert(target.id.clone(), found);
            Ok(found)
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
            timed(&target, "roll back", timeout, async {
                let failed = |source| action_error(&target, "roll back", source);
                let service = self
                    .ask(|docker| docker.inspect_service(&target.id, None))
                    .await
                    .map_err(failed)?;
                let version = service.version.and_then(|v| v.index).unwrap_or(0);
                let version =
                    i32::try_from(version).map_err(|_| failed("version out of range".into()))?;
                let spec = service.spec.unwrap_or_default();
                self.ask(|docker| {
                    let options = UpdateServiceOptionsBuilder::new()
                        .version(version)
                        .rollback("previous")
                        .build();
                    docker.update_service(&target.id, spec.clone(), options, None)
                })
                .await
                .map_err(failed)?;
                Ok(target.clone())
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
            timed(&target, "scale", timeout, async {
                let spec = self
                    .update(&target, "scale", |spec| {
                        let replicated = spec
                            .mode
                            .as_mut()
                            .and_then(|mode| mode.replicated.as_mut())
                            .ok_or("it is not a replicated service")?;
                        let now = replicated.replicas.unwrap_or(1);
                        let now = u32::try_from(now).unwrap_or(u32::MAX);
                        replicated.replicas = Some(i64::from(scale.wanted(now)));
                        Ok(())
                    })
                    .await?;
                let replicas = spec
                    .mode
                    .and_then(|mode| mode.replicated)
                    .and_then(|r| r.replicas)
                    .unwrap_or(1);
                Ok(u32::try_from(replicas).unwrap_or(u32::MAX))
            })
            .await
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
        async move {
            timed(&target, "update the limits of", timeout, async {
                self.update(&target, "update the limits of", |spec| {
                    let resources = spec
                        .task_template
                        .get_or_insert_with(Default::default)
                        .resources
                        .get_or_insert_with(Default::default)
                        .limits
                        .get_or_insert_with(Default::default);
                    if let Some(bytes) = limits.memory_bytes {
                        resources.memory_bytes = Some(i64::try_from(bytes).unwrap_or(i64::MAX));
                    }
                    if let Some(cpus) = limits.cpus {
                        resources.nano_cpus = Some((cpus * 1e9).round() as i64);
                    }
                    Ok(())
                })
                .await
                .map(drop)
            })
            .await
        }
        .boxed()
    }

    fn targets(&self, scope: &Scope) -> BoxFuture<'_, Result<Vec<TargetRef>, PlatformError>> {
        let scope = scope.clone();
        async move {
            let services =
                self.services(&scope)
                    .await
                    .map_err(|source| PlatformError::Inspect {
                        target: "the services in scope".to_owned(),
                        source,
                    })?;
            Ok(services.into_iter().map(|(target, _)| target).collect())
        }
        .boxed()
    }

    fn find_target(
        &self,
        scope: &Scope,
        name: &str,
    ) -> BoxFuture<'_, Result<Option<TargetRef>, PlatformError>> {
        let scope = scope.clone();
        let name = name.to_owned();
        async move {
            let services =
                self.services(&scope)
                    .await
                    .map_err(|source| PlatformError::Inspect {
                        target: name.clone(),
                        source,
                    })?;
            Ok(services.into_iter().find_map(|(target, service)| {
                let service_name = service.spec.and_then(|s| s.name);
                (target.name == name || service_name.as_deref() == Some(name.as_str()))
                    .then_some(target)
            }))
        }
        .boxed()
    }
}

impl SwarmPlatform {
    /// One look at the tasks of the services in `scope`: the signals since the last look.
    async fn look(&self, scope: &Scope, states: &mut TaskStates) -> Result<Vec<Signal>, BoxError> {
        let services: BTreeMap<String, TargetRef> = self
            .services(scope)
            .await?
            .into_iter()
            .map(|(target, _)| (target.id.clone(), target))
            .collect();
        if services.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = services.keys().cloned().collect();
        let tasks = self.tasks(&ids).await?;
        let at = Instant::now();
        Ok(states
            .changes(&tasks)
            .into_iter()
            .filter_map(|(service, kind)| {
                Some(Signal {
                    target: services.get(&service)?.clone(),
                    kind,
                    at,
                })
            })
            .collect())
    }

    /// Where service `id`'s newest running task answers on `container_port`, as a manager
    /// lists it: `Err` when no manager answered, `Ok(Err(why))` when there is no such task.
    async fn endpoint(
        &self,
        id: &str,
        container_port: u16,
    ) -> Result<Result<SocketAddr, String>, BoxError> {
        let tasks = self.tasks(&[id.to_owned()]).await?;
        let nodes = self
            .ask(|docker| docker.list_nodes(None::<ListNodesOptions>))
            .await?;
        let addresses: HashMap<String, String> = nodes
            .into_iter()
            .filter_map(|n| Some((n.id?, n.status?.addr?)))
            .collect();
        Ok(tasks::endpoint(&tasks, &addresses, container_port))
    }

    fn known_endpoints(&self) -> std::sync::MutexGuard<'_, HashMap<String, SocketAddr>> {
        // The map holds plain values: a panic elsewhere cannot leave it half-written.
        self.endpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until a task of `target` whose spec has `force_update` runs.
    async fn until_running(
        &self,
        target: &TargetRef,
        force_update: Option<u64>,
    ) -> Result<(), PlatformError> {
        loop {
            let tasks = self
                .tasks(std::slice::from_ref(&target.id))
                .await
                .map_err(|source| action_error(target, "restart", source))?;
            let runs = tasks.iter().any(|task| {
                task.spec.as_ref().and_then(|s| s.force_update) == force_update
                    && task.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING)
            });
            if runs {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A service as a target: its id, its [`NAME_LABEL`] else its name, its labels.
fn to_target(service: &Service) -> Option<TargetRef> {
    let id = service.id.clone().filter(|id| !id.is_empty())?;
    let spec = service.spec.as_ref()?;
    let labels: BTreeMap<String, String> = spec
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let name = labels.get(NAME_LABEL).cloned().or(spec.name.clone())?;
    Some(TargetRef { id, name, labels })
}
