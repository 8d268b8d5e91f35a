//! The Swarm services of one trial, one per replica slot, and where their tasks answer.
//!
//! Tasks publish their port in `mode: host` (no routing mesh: this kernel has no IPVS). One
//! replicated service of N tasks cannot do: its tasks would all publish the same host port, so
//! when a node dies Swarm could not place its task on a node that already runs one (it would
//! stay pending), and Docker 20.10 publishes nothing for a host-mode port without a published
//! port (tried here). So each slot `k` is a service of one replica publishing
//! [`PUBLISHED_BASE`]` + k`: two slots' tasks can share a node. Each is `dnsrr`, restarted on
//! any exit after Swarm's default delay, updated start-first (rolled back when an update's
//! tasks fail), labelled with the run, trial and slot, and for the healer with its target name,
//! port and health path; Swarm's
//! scheduler puts the slots on the nodes with the fewest tasks, one per node at first.
//! [`endpoints`] reads, from the first node that answers, where each slot's running task
//! listens: its node's address and the port it published.

use std::collections::HashMap;
use std::net::SocketAddr;

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigPublishModeEnum, EndpointSpec, EndpointSpecModeEnum,
    Limit, NetworkAttachmentConfig, NetworkCreateRequest, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicated, ServiceSpecRollbackConfig, ServiceSpecRollbackConfigOrderEnum,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, TaskSpec, TaskSpecContainerSpec, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{
    ListNodesOptions, ListTasksOptionsBuilder, UpdateServiceOptionsBuilder,
};
use bollard::Docker;
use tokio::time::{timeout, Duration};

use super::SwarmError;
use crate::docker::HealthCheck;

/// Slot `k` (from 1) publishes `PUBLISHED_BASE + k` on its node's address.
pub const PUBLISHED_BASE: u16 = 30_000;

/// How long a node's API gets to answer before the next node is asked.
const ASK_TIMEOUT: Duration = Duration::from_millis(800);

/// What a trial's service runs.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// The services' name, e.g. `sim-<run>-t1-leaky`; slot `k`'s is `<name>-s<k>`.
    pub name: String,
    /// An image loaded on every node.
    pub image: String,
    pub replicas: u32,
    /// The port the target listens on inside its container.
    pub port: u16,
    pub memory_bytes: Option<u64>,
    pub nano_cpus: Option<i64>,
    /// Environment variables, `KEY=value`.
    pub env: Vec<String>,
    /// Labels of the service and its containers (`sim.run`, `sim.trial`).
    pub labels: HashMap<String, String>,
    /// The target's name in the run: slot `k`'s service is the healer's `<target>-<k − 1>`.
    pub target: String,
    /// The target's health path, for the healer's prober and verification.
    pub health_path: String,
    /// Docker's health check of every task, if the scenario has one: a task counts as running
    /// only once it is healthy, so a rolling update waits for it and rolls back when it is not.
    pub healthcheck: Option<HealthCheck>,
}

/// The name of slot `slot`'s service.
pub fn slot_name(name: &str, slot: u32) -> String {
    format!("{name}-s{slot}")
}

/// Creates every slot's service through `docker` (a manager), slot 1 first; returns their ids.
pub async fn create(docker: &Docker, options: &ServiceOptions) -> Result<Vec<String>, SwarmError> {
    // Host-mode ports are published from the node's docker_gwbridge, which a task gets only on
    // a swarm network (the nodes' daemons have no default bridge).
    let network = NetworkCreateRequest {
        name: options.name.clone(),
        driver: Some("overlay".to_owned()),
        labels: Some(options.labels.clone()),
        ..Default::default()
    };
    docker
        .create_network(network)
        .await
        .map_err(|source| SwarmError::Docker {
            node: "a manager".to_owned(),
            step: "network create",
            source,
        })?;
    let mut ids = vec![];
    for slot in 1..=options.replicas {
        ids.push(create_slot(docker, options, slot).await?);
    }
    Ok(ids)
}

async fn create_slot(
    docker: &Docker,
    options: &ServiceOptions,
    slot: u32,
) -> Result<String, SwarmError> {
    let mut labels = options.labels.clone();
    labels.insert("sim.slot".to_owned(), slot.to_string());
    labels.insert(
        healer::NAME_LABEL.to_owned(),
        format!("{}-{}", options.target, slot - 1),
    );
    labels.insert("healer.port".to_owned(), options.port.to_string());
    labels.insert(healer::HEALTH_LABEL.to_owned(), options.health_path.clone());
    let spec = ServiceSpec {
        name: Some(slot_name(&options.name, slot)),
        labels: Some(labels.clone()),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        }),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(options.image.clone()),
                env: Some(options.env.clone()),
                labels: Some(labels),
                health_check: options.healthcheck.as_ref().map(|check| check.config(None)),
                ..Default::default()
            }),
            resources: Some(TaskSpecResources {
                limits: Some(Limit {
                    memory_bytes: options.memory_bytes.map(|b| b as i64),
                    nano_cpus: options.nano_cpus,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(options.name.clone()),
                ..Default::default()
            }]),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::ANY),
                // Swarm's default, written out: the figures are of Swarm as users get it.
                delay: Some(5_000_000_000),
                ..Default::default()
            }),
            ..Default::default()
        }),
        // A replaced task starts before the old one stops: a restart (a force update) of a task
        // whose node is gone then does not wait for the managers to mark the node down. A
        // rolling update whose new tasks fail within `monitor` is rolled back.
        update_config: Some(ServiceSpecUpdateConfig {
            parallelism: Some(1),
            order: Some(ServiceSpecUpdateConfigOrderEnum::START_FIRST),
            failure_action: Some(ServiceSpecUpdateConfigFailureActionEnum::ROLLBACK),
            monitor: Some(5_000_000_000),
            ..Default::default()
        }),
        // A rollback too starts the previous version's task before it stops the bad one.
        rollback_config: Some(ServiceSpecRollbackConfig {
            parallelism: Some(1),
            order: Some(ServiceSpecRollbackConfigOrderEnum::START_FIRST),
            ..Default::default()
        }),
        endpoint_spec: Some(EndpointSpec {
            mode: Some(EndpointSpecModeEnum::DNSRR),
            ports: Some(vec![EndpointPortConfig {
                target_port: Some(i64::from(options.port)),
                published_port: Some(i64::from(PUBLISHED_BASE) + i64::from(slot)),
                publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
                ..Default::default()
            }]),
        }),
        ..Default::default()
    };
    let created = docker
        .create_service(spec, None)
        .await
        .map_err(|source| SwarmError::Docker {
            node: "a manager".to_owned(),
            step: "service create",
            source,
        })?;
    Ok(created.id.unwrap_or_default())
}

/// Deploys `image` to the service `id` as a deployer rolls out a new version: a rolling update
/// of its task template (start-first, rolled back by Swarm if the new task fails within the
/// update's monitor), labelled [`healer::PREVIOUS_IMAGE_LABEL`] with the image it replaces, for
/// the healer's rollback. Through the first of `dockers` that answers. Gives the replaced image.
///
/// The service's health check is written again from `options`: bollard reads a service spec's
/// `Healthcheck` (as Docker 20.10 writes it) into nothing (it expects `HealthCheck`), so a spec
/// read and submitted back would lose it.
pub async fn deploy(
    dockers: &[Docker],
    options: &ServiceOptions,
    id: &str,
    image: &str,
) -> Result<String, SwarmError> {
    let mut last = None;
    for docker in dockers {
        match timeout(ASK_TIMEOUT * 5, update_image(docker, options, id, image)).await {
            Ok(Ok(previous)) => return Ok(previous),
            Ok(Err(source)) => last = Some(source),
            Err(_) => {}
        }
    }
    Err(no_manager_did(
        last,
        "service update",
        format!("a manager to update service {id}"),
        ASK_TIMEOUT * 5,
    ))
}

async fn update_image(
    docker: &Docker,
    options: &ServiceOptions,
    id: &str,
    image: &str,
) -> Result<String, bollard::errors::Error> {
    let service = docker.inspect_service(id, None).await?;
    let version = service.version.and_then(|v| v.index).unwrap_or(0);
    let mut spec = service.spec.unwrap_or_default();
    let container = spec
        .task_template
        .get_or_insert_with(Default::default)
        .container_spec
        .get_or_insert_with(Default::default);
    let previous = container
        .image
        .replace(image.to_owned())
        .unwrap_or_default();
    container.health_check = options.healthcheck.as_ref().map(|check| check.config(None));
    spec.labels
        .get_or_insert_with(Default::default)
        .insert(healer::PREVIOUS_IMAGE_LABEL.to_owned(), previous.clone());
    let options = UpdateServiceOptionsBuilder::new()
        .version(i32::try_from(version).unwrap_or(i32::MAX))
        .build();
    docker.update_service(id, spec, options, None).await?;
    Ok(previous)
}

/// Removes every slot's service of `options`.
pub async fn remove_all(dockers: &[Docker], options: &ServiceOptions) -> Result<(), SwarmError> {
    for slot in 1..=options.replicas {
        remove(dockers, &slot_name(&options.name, slot)).await?;
    }
    // The network goes once the tasks have left it; the cluster's removal takes it otherwise.
    for _ in 0..50 {
        for docker in dockers {
            if let Ok(Ok(())) = timeout(ASK_TIMEOUT, docker.remove_network(&options.name)).await {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tracing::warn!(network = %options.name, "the trial's swarm network is still in use");
    Ok(())
}

/// How long removing a service may keep being retried: after a partition mends, the swarm
/// can be without a leader for a few seconds (the node that was cut off calls an election).
const REMOVE_DEADLINE: Duration = Duration::from_secs(30);

/// Removes the service `name` through the first of `dockers` that does it, asking them in
/// turn until one does or [`REMOVE_DEADLINE`] has passed.
async fn remove(dockers: &[Docker], name: &str) -> Result<(), SwarmError> {
    let deadline = tokio::time::Instant::now() + REMOVE_DEADLINE;
    let mut last = None;
    while tokio::time::Instant::now() < deadline {
        for docker in dockers {
            match timeout(ASK_TIMEOUT * 5, docker.delete_service(name)).await {
                Ok(Ok(())) => return Ok(()),
                // Gone already: a manager that timed out may have removed it after all.
                Ok(Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404,
                    ..
                })) => return Ok(()),
                Ok(Err(source)) => last = Some(source),
                Err(_) => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(no_manager_did(
        last,
        "service rm",
        format!("a manager to remove service {name}"),
        REMOVE_DEADLINE,
    ))
}

/// Why no manager did `step`: the last error one answered with, else that none answered
/// (`what`) within `after`.
fn no_manager_did(
    last: Option<bollard::errors::Error>,
    step: &'static str,
    what: String,
    after: Duration,
) -> SwarmError {
    match last {
        Some(source) => SwarmError::Docker {
            node: "every manager".to_owned(),
            step,
            source,
        },
        None => SwarmError::Timeout { what, after },
    }
}

/// Where each slot (from 1) of the services `ids` (slot 1 first) has a running task: the
/// newest one's address. Asked of each of `dockers` in turn until one answers; `None` when
/// none did.
pub async fn endpoints(dockers: &[Docker], ids: &[String]) -> Option<HashMap<i64, SocketAddr>> {
    for docker in dockers {
        if let Ok(Ok(found)) = timeout(ASK_TIMEOUT, ask(docker, ids)).await {
            return Some(found);
        }
    }
    None
}

async fn ask(
    docker: &Docker,
    ids: &[String],
) -> Result<HashMap<i64, SocketAddr>, bollard::errors::Error> {
    let nodes = docker.list_nodes(None::<ListNodesOptions>).await?;
    let addresses: HashMap<String, String> = nodes
        .into_iter()
        .filter_map(|n| Some((n.id?, n.status?.addr?)))
        .collect();
    let filters = HashMap::from([
        ("service".to_owned(), ids.to_vec()),
        ("desired-state".to_owned(), vec!["running".to_owned()]),
    ]);
    let options = ListTasksOptionsBuilder::new().filters(&filters).build();
    let tasks = docker.list_tasks(Some(options)).await?;
    let mut newest: HashMap<i64, (u64, SocketAddr)> = HashMap::new();
    for task in tasks {
        let status = task.status.unwrap_or_default();
        if status.state != Some(TaskState::RUNNING) {
            continue;
        }
        let port = status
            .port_status
            .and_then(|p| p.ports)
            .and_then(|ports| ports.into_iter().find_map(|p| p.published_port));
        let address = task.node_id.as_ref().and_then(|id| addresses.get(id));
        let slot = task
            .service_id
            .as_ref()
            .and_then(|id| ids.iter().position(|s| s == id))
            .map(|index| index as i64 + 1);
        let (Some(slot), Some(port), Some(address)) = (slot, port, address) else {
            continue;
        };
        let Ok(address) = format!("{address}:{port}").parse::<SocketAddr>() else {
            continue;
        };
        let index = task.version.and_then(|v| v.index).unwrap_or(0);
        if newest.get(&slot).is_none_or(|(seen, _)| *seen < index) {
            newest.insert(slot, (index, address));
        }
    }
    Ok(newest
        .into_iter()
        .map(|(slot, (_, address))| (slot, address))
        .collect())
}
