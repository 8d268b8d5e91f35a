//! A compose project brought up for one trial: its named volumes, then each service in plan
//! order once every `depends_on` condition of it holds, `deploy.replicas` containers each
//! (`sim-<run>-t<trial>-<service>-<i>`), on the run's network under the service's name and
//! aliases, labelled as `docker compose` labels them (`com.docker.compose.project`/`.service`)
//! besides the run's labels and the service's own. The target service is started by the caller
//! (the runner's replica path, as the strategy shapes it); the others here, as companions with
//! restart policy `no`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use journal::{Event, Sink};
use tokio::time::Instant;

use super::{
    ComposeError, ComposePlan, Condition, ProjectImages, ServiceDependency, ServicePlan,
    VolumeSource,
};
use crate::docker::{
    ContainerExtras, HealthCheck, RunResources, TargetContainer, TargetRestart, TargetSpec,
};

/// The label with a container's compose project, as `docker compose` sets it.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";
/// The label with a container's compose service, as `docker compose` sets it.
pub const SERVICE_LABEL: &str = "com.docker.compose.service";

/// How often a dependency's condition is looked at.
const POLL: Duration = Duration::from_millis(100);

/// One trial's bringing up of a project.
pub struct ProjectTrial<'a> {
    pub resources: &'a RunResources,
    pub project: &'a ComposePlan,
    pub images: &'a ProjectImages,
    /// 0: the preflight.
    pub trial: u32,
    /// How long a dependency may take to meet its condition.
    pub startup_timeout: Duration,
    /// Where each companion's start is journalled.
    pub journal: &'a dyn Sink,
}

/// The containers of every service of a project in one trial.
#[derive(Debug, Clone, Default)]
pub struct Services(BTreeMap<String, Vec<TargetContainer>>);

impl Services {
    /// The containers of `service`, in replica order (none for a service not started).
    pub fn of(&self, service: &str) -> &[TargetContainer] {
        self.0.get(service).map_or(&[], Vec::as_slice)
    }
}

/// Brings the project up for the trial: the target service (called `target`) is started by
/// `start_target`, every other service here. Fails when a dependency does not meet its
/// condition in time, naming both services.
pub async fn up<F, Fut, E>(
    trial: &ProjectTrial<'_>,
    target: Option<&str>,
    mut start_target: F,
) -> Result<Services, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Vec<TargetContainer>, E>>,
    E: From<ComposeError>,
{
    let volumes: BTreeSet<&str> = trial
        .project
        .services
        .iter()
        .flat_map(|service| &service.volumes)
        .filter_map(|mount| match &mount.source {
            VolumeSource::Named(name) => Some(name.as_str()),
            VolumeSource::Bind(_) => None,
        })
        .collect();
    for volume in volumes {
        trial
            .resources
            .create_volume(trial.trial, volume)
            .await
            .map_err(ComposeError::from)?;
    }
    let mut services = Services::default();
    for service in &trial.project.services {
        for dependency in &service.depends_on {
            wait_for(trial, &services, service, dependency).await?;
        }
        let containers = if target == Some(service.name.as_str()) {
            start_target().await?
        } else {
            start_companion(trial, service).await?
        };
        services.0.insert(service.name.clone(), containers);
    }
    Ok(services)
}

/// Adds what `service` of `project` gives a container to `spec` (its own labels, its compose
/// labels and healthcheck), and returns the rest of it: entrypoint, command, mounts, aliases
/// (the service's name among them), its ports besides `spec.port`. The compile refuses a
/// service label with a prefix sim sets, so none of them hides one of sim's.
pub fn shape(
    project: &ComposePlan,
    service: &ServicePlan,
    spec: &mut TargetSpec,
) -> ContainerExtras {
    spec.labels.extend(service.labels.clone());
    spec.labels.extend([
        (PROJECT_LABEL.to_owned(), project.project.clone()),
        (SERVICE_LABEL.to_owned(), service.name.clone()),
    ]);
    if let Some(check) = &service.healthcheck {
        spec.healthcheck = Some(HealthCheck {
            test: check.test.clone(),
            interval: check.interval,
            timeout: check.timeout,
            retries: check.retries,
        });
    }
    let mut aliases = vec![service.name.clone()];
    aliases.extend(service.aliases.iter().cloned());
    ContainerExtras {
        entrypoint: service.entrypoint.clone(),
        command: service.command.clone(),
        health_start_period: service.healthcheck.as_ref().map(|check| check.start_period),
        mounts: service.volumes.clone(),
        aliases,
        ports: service
            .ports
            .iter()
            .copied()
            .filter(|port| *port != spec.port)
            .collect(),
        unpublished: false,
        unprobed: false,
    }
}

/// Starts every replica of a service other than the target, journalling each start.
async fn start_companion(
    trial: &ProjectTrial<'_>,
    service: &ServicePlan,
) -> Result<Vec<TargetContainer>, ComposeError> {
    let mut containers = Vec::new();
    for index in 0..service.replicas {
        let mut spec = TargetSpec {
            name: format!("{}-{index}", service.name),
            image: trial.images.of(&service.name).to_owned(),
            port: service.ports.first().copied().unwrap_or_default(),
            health_path: String::new(),
            memory_bytes: service.memory_bytes,
            nano_cpus: service.nano_cpus,
            env: service.environment.clone().into_iter().collect(),
            trial: trial.trial,
            restart: TargetRestart::No,
            healthcheck: None,
            labels: vec![],
        };
        let mut extras = shape(trial.project, service, &mut spec);
        extras.unpublished = service.ports.is_empty();
        extras.unprobed = true;
        let container = trial.resources.start_target_with(&spec, &extras).await?;
        trial.journal.record(Event::TargetStarted {
            target: container.name.clone(),
            container_id: container.id.clone(),
            host_port: container.host_port,
        });
        containers.push(container);
    }
    Ok(containers)
}

/// Waits until every container of `dependency` meets its condition, for at most the startup
/// timeout.
async fn wait_for(
    trial: &ProjectTrial<'_>,
    services: &Services,
    service: &ServicePlan,
    dependency: &ServiceDependency,
) -> Result<(), ComposeError> {
    let not_ready = |detail: String| ComposeError::DependencyNotReady {
        service: service.name.clone(),
        dependency: dependency.service.clone(),
        detail,
    };
    let deadline = Instant::now() + trial.startup_timeout;
    let seconds = trial.startup_timeout.as_secs_f64();
    for container in services.of(&dependency.service) {
        loop {
            let status = trial.resources.status(&container.id).await?;
            let done = match (dependency.condition, status.exit_code) {
                // Started before this service, in plan order: it has started.
                (Condition::Started, _) => true,
                (Condition::Healthy, Some(code)) => {
                    return Err(not_ready(format!(
                        "{} exited (code {code}) before it was healthy",
                        container.name
                    )))
                }
                (Condition::Healthy, None) => match status.health.as_deref() {
                    Some("healthy") => true,
                    Some("unhealthy") => {
                        return Err(not_ready(format!("{} is unhealthy", container.name)))
                    }
                    _ => false,
                },
                (Condition::CompletedSuccessfully, Some(0)) => true,
                (Condition::CompletedSuccessfully, Some(code)) => {
                    return Err(not_ready(format!(
                        "{} exited with code {code}, not 0",
                        container.name
                    )))
                }
                (Condition::CompletedSuccessfully, None) => false,
            };
            if done {
                break;
            }
            if Instant::now() >= deadline {
                let wanted = match dependency.condition {
                    Condition::Healthy => "healthy",
                    _ => "completed",
                };
                return Err(not_ready(format!(
                    "{} was not {wanted} within {seconds:.0}s",
                    container.name
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }
    Ok(())
}
