//! A trial's fault schedule: each fault injected at its time from the start of load and cleared
//! when its window ends, on the containers it hits; a node fault goes to the run's swarm.

use std::time::Duration;

use journal::{Event, Sink};
use tokio::time::Instant;

use super::RunContext;
use crate::docker::TargetContainer;
use crate::faults;
use crate::scenario::{FaultKind, FaultPlan};

/// Injects each fault at its time (relative to the start of load) and clears it when its
/// window ends, marking in `active` what is in force. Returns once the schedule is done or the
/// run is cancelled; the caller clears what is still active when the load ends.
pub(super) async fn run_faults(
    context: &RunContext,
    replicas: &[TargetContainer],
    dependency: Option<&TargetContainer>,
    load_started: Instant,
    trial: u32,
    active: &mut [bool],
) {
    let mut schedule: Vec<(Duration, bool, usize)> = Vec::new();
    for (index, fault) in context.plan.faults.iter().enumerate() {
        let at = fault.start_in_trial(context.seed, trial, index);
        schedule.push((at, true, index));
        if let Some(duration) = fault.duration {
            schedule.push((at + duration, false, index));
        }
    }
    schedule.sort_by_key(|(at, _, _)| *at);
    for (at, inject, index) in schedule {
        tokio::select! {
            _ = context.cancel.cancelled() => return,
            _ = tokio::time::sleep_until(load_started + at) => {}
        }
        let fault = &context.plan.faults[index];
        match (&fault.kind, &context.swarm) {
            (FaultKind::NodeCrash(_) | FaultKind::NodePartition(_), Some(swarm)) => {
                // A cluster fault: it hits a node, through the cluster, not a container.
                swarm
                    .node_fault(context, replicas, &fault.kind, inject, trial)
                    .await;
                continue;
            }
            (FaultKind::BadDeploy(_), Some(swarm)) => {
                // A rolling update of the slot's service, through the managers.
                for slot in fault_targets(replicas, dependency, fault) {
                    swarm.deploy_fault(context, slot, trial).await;
                }
                continue;
            }
            _ => {}
        }
        for replica in fault_targets(replicas, dependency, fault) {
            if !inject {
                clear_fault(context, index, replica).await;
                active[index] = false;
                continue;
            }
            // Recorded as the injection starts: a kill's `die` event can reach the journal
            // before the Docker call returns, and must not precede its fault.
            context.journal.record(Event::FaultInjected {
                fault: fault.kind.name().to_owned(),
                target: replica.name.clone(),
                detail: faults::describe(fault),
            });
            match context.injector.inject(fault, replica).await {
                Ok(()) => {
                    active[index] = true;
                    context.progress.phase(format!(
                        "sim: trial {trial}: injected {} into {}",
                        fault.kind.name(),
                        replica.name
                    ));
                }
                Err(e) => {
                    // Not in force after all: say so in the journal and on the terminal.
                    context
                        .progress
                        .phase(format!("sim: trial {trial}: fault not injected: {e}"));
                    context.journal.record(Event::FaultCleared {
                        fault: fault.kind.name().to_owned(),
                        target: replica.name.clone(),
                    });
                }
            }
        }
    }
    // Done: stay pending so the load alone decides when the trial's main phase ends.
    std::future::pending::<()>().await;
}

pub(super) async fn clear_fault(context: &RunContext, index: usize, replica: &TargetContainer) {
    let fault = &context.plan.faults[index];
    // A replica that died or hangs cannot be told; its removal clears the fault anyway.
    if context.injector.clear(&fault.kind, replica).await.is_ok() {
        context.journal.record(Event::FaultCleared {
            fault: fault.kind.name().to_owned(),
            target: replica.name.clone(),
        });
    }
}

/// The containers `fault` hits: the dependency for a dependency outage, else its replica or
/// every replica.
pub(super) fn fault_targets<'a>(
    replicas: &'a [TargetContainer],
    dependency: Option<&'a TargetContainer>,
    fault: &FaultPlan,
) -> Vec<&'a TargetContainer> {
    match fault.replica {
        _ if fault.kind.hits_dependency() => dependency.into_iter().collect(),
        Some(index) => replicas.get(index as usize).into_iter().collect(),
        None => replicas.iter().collect(),
    }
}
