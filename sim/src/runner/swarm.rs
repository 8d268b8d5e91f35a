//! A run on `platform: swarm`: the cluster formed once per run (its nodes given the target's
//! image) and reused by every trial; per trial one single-replica service per slot (see
//! `crate::swarm::service` for why not one service of N), the forwarders the prober
//! and the load reach its tasks through, the node crashes the schedule hands over, and at the
//! trial's end the service removed, the nodes it crashed started again when the next trial
//! starts; the cluster removed at the
//! run's end (and by `Cluster`'s `Drop`, or `sim gc`, whatever else ends it).
//!
//! Each slot of the service is a target of the trial (`<name>-<slot − 1>`), probed through its
//! own forwarder on 127.0.0.1: its outage starts when its task stops answering and ends when
//! Swarm runs that slot's task again somewhere and it answers (see `crate::swarm::Front`). The
//! outage's MTTR is then Swarm's alone: the time to mark the node down, reschedule, start.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bollard::Docker;
use journal::{Event, Sink};

use super::{RunContext, RunError};
use crate::docker::{HealthCheck, TargetContainer, LABEL_RUN, LABEL_TRIAL};
use crate::faults::kinds::node_index;
use crate::prober;
use crate::progress::Progress;
use crate::scenario::FaultKind;
use crate::scenario::Plan;
use crate::swarm::{service, Cluster, ClusterOptions, Front, SwarmError};

/// How long a trial's tasks may take to answer at least: scheduling, not only a start.
const MIN_STARTUP: Duration = Duration::from_secs(60);

/// The cluster of a run, and what its current trial runs on it.
pub(super) struct SwarmRun {
    cluster: tokio::sync::Mutex<Option<Cluster>>,
    image: String,
    /// The image's next version, which `bad-deploy` faults roll out, if they do.
    next_image: Option<String>,
    trial: Mutex<Option<SwarmTrial>>,
    /// Nodes (from 0) an earlier trial crashed: started again when the next trial starts, so
    /// the last trial of a run never waits for a node nobody will use.
    to_restart: Mutex<Vec<usize>>,
    /// Services a trial's end could not remove (a swarm without a leader for a while after a
    /// partition mends): removed when the next trial starts, or with the cluster.
    to_remove: Mutex<Vec<service::ServiceOptions>>,
}

/// Starting a crashed node again is tried this many times: under load its containerd can miss
/// dockerd's start timeout once.
const RESTART_ATTEMPTS: u32 = 2;

struct SwarmTrial {
    services: service::ServiceOptions,
    front: Front,
    /// Nodes (from 0) crashed in the trial, started again when the next one starts.
    crashed: Vec<usize>,
    /// Nodes (from 0) cut off, with the slot the fault was journalled on: mended when the
    /// fault's window or the trial ends.
    partitioned: HashMap<usize, String>,
}

impl SwarmRun {
    /// Forms the run's cluster and loads `images` (on the host's engine: the target's, and the
    /// next version a `bad-deploy` rolls out, if any) onto every node.
    pub(super) async fn form(
        plan: &Plan,
        run_id: &str,
        host: &Docker,
        (image, next_image): (&str, Option<&str>),
        progress: &Progress,
    ) -> Result<Option<SwarmRun>, RunError> {
        let Some(swarm) = &plan.swarm else {
            return Ok(None);
        };
        progress.phase(format!(
            "sim: forming a {}-node swarm (network namespaces, a dockerd each)",
            swarm.nodes
        ));
        let mut options = ClusterOptions::new(run_id);
        options.nodes = swarm.nodes;
        let cluster = Cluster::form(&options).await?;
        cluster.load_image(host, image).await?;
        if let Some(next) = next_image {
            cluster.load_image(host, next).await?;
        }
        progress.phase(format!(
            "sim: swarm on {}, image {image} on every node",
            cluster.record().subnet
        ));
        Ok(Some(SwarmRun {
            cluster: tokio::sync::Mutex::new(Some(cluster)),
            image: image.to_owned(),
            next_image: next_image.map(str::to_owned),
            trial: Mutex::new(None),
            to_restart: Mutex::new(Vec::new()),
            to_remove: Mutex::new(Vec::new()),
        }))
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Option<SwarmTrial>> {
        self.trial
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The healer's view of the cluster: its managers (every node is one).
    pub(super) async fn platform(&self) -> healer::SwarmPlatform {
        healer::SwarmPlatform::new(self.dockers().await)
    }

    async fn dockers(&self) -> Vec<Docker> {
        let cluster = self.cluster.lock().await;
        cluster
            .as_ref()
            .map_or_else(Vec::new, |c| c.dockers().to_vec())
    }

    /// Creates `trial`'s service and waits until every slot answers through its forwarder;
    /// gives the slots as the trial's targets, journalled started and ready.
    pub(super) async fn start_trial(
        &self,
        context: &RunContext,
        trial: u32,
    ) -> Result<Vec<TargetContainer>, RunError> {
        self.restart_crashed(&context.progress).await?;
        self.remove_left_services().await?;
        let target = &context.plan.target;
        let run_id = context.resources.run_id();
        let name = format!("sim-{run_id}-t{trial}-{}", target.name);
        let mut env: Vec<String> = target.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.push(format!("LEAKY_PORT={}", target.port));
        let options = service::ServiceOptions {
            name: name.clone(),
            image: self.image.clone(),
            replicas: target.replicas,
            port: target.port,
            memory_bytes: target.memory_bytes,
            nano_cpus: target.nano_cpus,
            env,
            labels: HashMap::from([
                (LABEL_RUN.to_owned(), run_id.to_owned()),
                (LABEL_TRIAL.to_owned(), trial.to_string()),
            ]),
            target: target.name.clone(),
            health_path: target.health.path.clone(),
            healthcheck: target
                .healthcheck
                .then(|| HealthCheck::builtin(target.port, &target.health.path)),
        };
        let dockers = self.dockers().await;
        let leader = dockers.first().ok_or_else(|| SwarmError::Options {
            detail: "the cluster is gone".to_owned(),
        })?;
        let created = service::create(leader, &options).await;
        let ids = match created {
            Ok(ids) => ids,
            Err(e) => {
                let _ = service::remove_all(&dockers, &options).await;
                return Err(e.into());
            }
        };
        let front =
            Front::start(dockers, ids.clone())
                .await
                .map_err(|source| RunError::Output {
                    path: "127.0.0.1 (a forwarder's port)".into(),
                    source,
                })?;
        let slots: Vec<TargetContainer> = front
            .slots
            .iter()
            .enumerate()
            .map(|(index, port)| TargetContainer {
                name: format!("{}-{index}", target.name),
                id: ids[index].clone(),
                container: service::slot_name(&name, index as u32 + 1),
                host_port: *port,
            })
            .collect();
        *self.current() = Some(SwarmTrial {
            services: options,
            front,
            crashed: vec![],
            partitioned: HashMap::new(),
        });
        for slot in &slots {
            context.journal.record(Event::TargetStarted {
                target: slot.name.clone(),
                container_id: slot.id.clone(),
                host_port: slot.host_port,
            });
        }
        let startup = target.startup_timeout.max(MIN_STARTUP);
        for slot in &slots {
            let url = format!("http://127.0.0.1:{}{}", slot.host_port, target.health.path);
            if !prober::wait_until_healthy(&url, target.health.timeout, startup).await {
                return Err(RunError::TargetNotReady {
                    target: slot.name.clone(),
                    seconds: startup.as_secs_f64(),
                });
            }
            context.journal.record(Event::TargetReady {
                target: slot.name.clone(),
            });
        }
        Ok(slots)
    }

    /// The port on 127.0.0.1 that spreads the load over the current trial's tasks.
    pub(super) fn spread_port(&self) -> u16 {
        self.current().as_ref().map_or(0, |t| t.front.spread)
    }

    /// Injects the node fault `fault` (a crash, or a partition's start or, when `inject` is
    /// false, its end), journalled as a fault of the slot whose task ran on the node (the
    /// node's name when none did).
    pub(super) async fn node_fault(
        &self,
        context: &RunContext,
        slots: &[TargetContainer],
        fault: &FaultKind,
        inject: bool,
        trial: u32,
    ) {
        let node = match fault {
            FaultKind::NodeCrash(crash) => crash.node,
            FaultKind::NodePartition(partition) => partition.node,
            _ => return,
        };
        let cluster = self.cluster.lock().await;
        let Some(cluster) = cluster.as_ref() else {
            return;
        };
        let nodes = &cluster.record().nodes;
        let index = node_index(node, nodes.len());
        let Some(node) = nodes.get(index) else {
            return;
        };
        let name = fault.name().to_owned();
        if !inject {
            let mended = cluster.mend_node(index).await;
            let target = self
                .current()
                .as_mut()
                .and_then(|t| t.partitioned.remove(&index));
            match (mended, target) {
                (Ok(()), Some(target)) => {
                    context.journal.record(Event::FaultCleared {
                        fault: name,
                        target,
                    });
                }
                (Err(e), _) => context
                    .progress
                    .phase(format!("sim: trial {trial}: partition not mended: {e}")),
                (Ok(()), None) => {}
            }
            return;
        }
        let on_node = {
            let current = self.current();
            slots.iter().enumerate().find_map(|(k, slot)| {
                let route = current.as_ref()?.front.route(k as i64 + 1)?;
                (route.ip().to_string() == node.address).then(|| slot.name.clone())
            })
        };
        let target = on_node.unwrap_or_else(|| node.name.clone());
        let detail = match fault {
            FaultKind::NodeCrash(_) => "SIGKILL to PID 1 (docker-init) of",
            _ => "link to the cluster's bridge set down on",
        };
        context.journal.record(Event::FaultInjected {
            fault: name.clone(),
            target: target.clone(),
            detail: format!("{detail} {} ({})", node.name, node.address),
        });
        let injected = match fault {
            FaultKind::NodeCrash(_) => cluster.crash_node(index).await.map(|pid| {
                if let Some(current) = self.current().as_mut() {
                    current.crashed.push(index);
                }
                format!("crashed node {} (pid {pid})", node.name)
            }),
            _ => cluster.partition_node(index).await.map(|()| {
                if let Some(current) = self.current().as_mut() {
                    current.partitioned.insert(index, target.clone());
                }
                format!("cut node {} off", node.name)
            }),
        };
        match injected {
            Ok(done) => context
                .progress
                .phase(format!("sim: trial {trial}: {done}, which ran {target}")),
            Err(e) => {
                context
                    .progress
                    .phase(format!("sim: trial {trial}: fault not injected: {e}"));
                context.journal.record(Event::FaultCleared {
                    fault: name,
                    target,
                });
            }
        }
    }

    /// Injects a `bad-deploy` into `slot`: its service rolled out to the image's next version,
    /// as a deployer does it (see [`service::deploy`]). Lasts until someone rolls it back.
    pub(super) async fn deploy_fault(
        &self,
        context: &RunContext,
        slot: &TargetContainer,
        trial: u32,
    ) {
        let Some(next) = &self.next_image else {
            return;
        };
        let fault = "bad-deploy".to_owned();
        context.journal.record(Event::FaultInjected {
            fault: fault.clone(),
            target: slot.name.clone(),
            detail: format!(
                "rolling update of service {} to {next} (start-first), labelled {}",
                slot.container,
                healer::PREVIOUS_IMAGE_LABEL
            ),
        });
        let Some(services) = self.current().as_ref().map(|t| t.services.clone()) else {
            return;
        };
        match service::deploy(&self.dockers().await, &services, &slot.id, next).await {
            Ok(previous) => context.progress.phase(format!(
                "sim: trial {trial}: {} rolled out to {next} (was {previous})",
                slot.name
            )),
            Err(e) => {
                context
                    .progress
                    .phase(format!("sim: trial {trial}: fault not injected: {e}"));
                context.journal.record(Event::FaultCleared {
                    fault,
                    target: slot.name.clone(),
                });
            }
        }
    }

    /// Starts the nodes earlier trials crashed again, and waits until every node is Ready.
    async fn restart_crashed(&self, progress: &Progress) -> Result<(), RunError> {
        let nodes = std::mem::take(&mut *self.to_restart.lock().unwrap_or_else(|p| p.into_inner()));
        let mut cluster = self.cluster.lock().await;
        let Some(cluster) = cluster.as_mut() else {
            return Ok(());
        };
        for node in nodes {
            progress.phase(format!("sim: starting crashed node {} again", node + 1));
            let mut attempt = 1;
            while let Err(e) = cluster.restart_node(node).await {
                if attempt == RESTART_ATTEMPTS {
                    return Err(e.into());
                }
                tracing::warn!(
                    "node {} did not start again ({e}); trying once more",
                    node + 1
                );
                attempt += 1;
            }
        }
        Ok(())
    }

    /// Ends the current trial: its forwarders stopped, its partitions mended, its services
    /// removed (or, when the swarm cannot now, when the next trial starts), its crashed nodes
    /// noted to be started again when the next trial starts.
    pub(super) async fn end_trial(&self) -> Result<(), RunError> {
        let Some(trial) = self.current().take() else {
            return Ok(());
        };
        trial.front.stop();
        let mut cluster = self.cluster.lock().await;
        let Some(cluster) = cluster.as_mut() else {
            return Ok(());
        };
        self.to_restart
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(trial.crashed);
        for &node in trial.partitioned.keys() {
            cluster.mend_node(node).await?;
        }
        if let Err(e) = service::remove_all(cluster.dockers(), &trial.services).await {
            tracing::warn!("the trial's services stay until the next trial starts: {e}");
            self.to_remove
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(trial.services);
        }
        Ok(())
    }

    /// Removes the services an earlier trial's end could not.
    async fn remove_left_services(&self) -> Result<(), RunError> {
        let left = std::mem::take(&mut *self.to_remove.lock().unwrap_or_else(|p| p.into_inner()));
        let dockers = self.dockers().await;
        for services in left {
            service::remove_all(&dockers, &services).await?;
        }
        Ok(())
    }

    /// Removes the cluster.
    pub(super) async fn shutdown(&self) -> Result<(), RunError> {
        let cluster = self.cluster.lock().await.take();
        match cluster {
            Some(cluster) => Ok(cluster.shutdown().await?),
            None => Ok(()),
        }
    }
}
