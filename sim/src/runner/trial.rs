//! One trial of a run: its replicas (and compose project), probes, healer, load and fault schedule side by side, then
//! the clearing of what is still in force and the settle; and the trials of a run one by one.

use std::sync::Arc;

use journal::{Event, Sink};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::observe::{self, LoadClock, Observation};
use super::schedule::{clear_fault, fault_targets, run_faults};
use super::setup::{health_url, start_dependency, start_project, start_replicas};
use super::{RunContext, RunError};
use crate::load::{self, LoadSpec};
use crate::prober::{self, ProbeTarget};
use crate::strategy;
use crate::{agent, docker};

pub(super) async fn run_trials(context: Arc<RunContext>) -> Result<(), RunError> {
    for trial in 1..=context.plan.trials {
        if context.cancel.is_cancelled() {
            break;
        }
        context.progress.phase(format!(
            "sim: trial {trial}/{} starting",
            context.plan.trials
        ));
        let result = run_trial(&context, trial).await;
        context.journal.record(Event::TrialEnded {
            interrupted: context.cancel.is_cancelled(),
        });
        context.journal.set_trial(None);
        let ended = match &context.swarm {
            Some(swarm) => swarm.end_trial().await,
            None => Ok(()),
        };
        let removed = context.resources.remove_trial(trial).await;
        result?;
        ended?;
        removed?;
    }
    Ok(())
}

/// One trial: start the replicas, wait until they answer, then run probes, healer, load and the
/// fault schedule side by side until the load ends (and the targets settle).
async fn run_trial(context: &RunContext, trial: u32) -> Result<(), RunError> {
    let plan = &context.plan;
    context.journal.set_trial(Some(trial));
    context.journal.record(Event::TrialStarted);
    // Probes and samples go by what the Agent API shows.
    context.observed.new_trial();
    let sink: Arc<dyn Sink> = Arc::new(agent::Tap {
        inner: context.journal.clone(),
        observed: context.observed.clone(),
    });

    let dependency = start_dependency(&context.resources, plan, &context.image, trial).await?;
    if let Some(dependency) = &dependency {
        // Journalled as started but never as ready: no outage of its own is measured (its
        // `die` starts none); the replicas' failing health is the outage.
        context.journal.record(Event::TargetStarted {
            target: dependency.name.clone(),
            container_id: dependency.id.clone(),
            host_port: dependency.host_port,
        });
    }
    let (replicas, services) = match &context.swarm {
        Some(swarm) => (swarm.start_trial(context, trial).await?, Default::default()),
        None => {
            start_project(
                &context.resources,
                plan,
                &context.compose_images,
                trial,
                &*context.journal,
                || start_replicas(context, trial),
            )
            .await?
        }
    };
    for replica in &replicas {
        // The proxies outlive trials: a toxic a failed clear left must not leak into this one.
        context.injector.reset_network(replica).await?;
    }
    // Load goes over a swarm's tasks, else through the project's own service (at its first
    // published port), else sim's balancer, else straight to the one replica.
    let (load_port, front) = match (&plan.load.via, context.balancer) {
        _ if context.swarm.is_some() => (
            context.swarm.as_ref().map_or(0, |s| s.spread_port()),
            Some("the swarm's tasks"),
        ),
        (Some(via), _) => {
            let port = services.of(via).first().map_or(0, |c| c.host_port);
            (port, Some(via.as_str()))
        }
        (None, Some(balancer)) => (balancer.load, Some("balancer")),
        (None, None) => (replicas[0].host_port, None),
    };
    if let Some(front) = front {
        // A balancer marks a replica up after its good checks: wait until it serves.
        let url = format!("http://127.0.0.1:{load_port}{}", plan.target.health.path);
        let timeout = plan.target.health.timeout;
        if !prober::wait_until_healthy(&url, timeout, plan.target.startup_timeout).await {
            return Err(RunError::TargetNotReady {
                target: front.to_owned(),
                seconds: plan.target.startup_timeout.as_secs_f64(),
            });
        }
    }
    let trial_cancel = context.cancel.child_token();
    let mut tasks = JoinSet::new();
    let mut health = Vec::new();
    for replica in &replicas {
        let (tx, rx) = watch::channel(plan.target.health.healthy_after);
        health.push(rx);
        tasks.spawn(prober::probe_until_cancelled(
            ProbeTarget {
                name: replica.name.clone(),
                url: health_url(replica, &plan.target.health.path),
            },
            plan.target.health.interval,
            plan.target.health.timeout,
            sink.clone(),
            tx,
            trial_cancel.clone(),
        ));
    }
    tasks.spawn(docker::sample_resources(
        context.resources.docker().clone(),
        context.resources.run_id().to_owned(),
        trial,
        sink.clone(),
        trial_cancel.clone(),
    ));
    let platform: Arc<dyn healer::Platform> = match &context.swarm {
        Some(swarm) => Arc::new(swarm.platform().await),
        None => Arc::new(healer::DockerPlatform::new(
            context.resources.docker().clone(),
        )),
    };
    let healer_task = context.strategy.heal(
        &strategy::Trial {
            docker: context.resources.docker(),
            platform: &platform,
            scope: [
                (docker::LABEL_RUN, context.resources.run_id().to_owned()),
                (docker::LABEL_TRIAL, trial.to_string()),
            ],
            runbooks: &context.runbooks,
            alerts: context.alerts.as_ref(),
            balancer: context.balancer,
            narrator: &context.narrator,
            advisor: context.plan.advisor.as_ref(),
            probe_timeout: context.plan.probe_timeout,
            observed: &context.observed,
        },
        trial_cancel.clone(),
    );

    let clock = LoadClock {
        started: Instant::now(),
        duration: plan.load.duration,
        observe_up_to: context.observe_up_to,
    };
    let load_started = clock.started;
    tasks.spawn(observe::show_status(
        context.progress.clone(),
        (trial, plan.trials),
        clock,
        replicas
            .iter()
            .map(|r| r.name.clone())
            .zip(health.clone())
            .collect(),
        trial_cancel.clone(),
    ));
    let mut load_task = tokio::spawn(load::run(
        LoadSpec {
            host: format!("http://127.0.0.1:{load_port}"),
            path: plan.load.path.clone(),
            users: plan.load.users,
            duration: clock.run_time(),
            timeout: plan.load.timeout,
            max_rps: plan.load.max_rps,
        },
        sink.clone(),
    ));
    let observing = if context.observe_up_to.is_zero() {
        String::new()
    } else {
        format!(
            " (then up to {:.0?} more, until every replica has recovered)",
            context.observe_up_to
        )
    };
    context.progress.phase(format!(
        "sim: trial {trial}: load running for {:.0?}{observing}, {} fault(s) scheduled",
        plan.load.duration,
        plan.faults.len()
    ));

    let mut active = vec![false; plan.faults.len()];
    let observation = Observation {
        consecutive_ok: &health,
        healthy_after: plan.target.health.healthy_after,
        clock,
    };
    let load_result = {
        let stop_load =
            observation.stop_load_once_recovered(trial, &context.progress, &context.cancel);
        let faults = run_faults(
            context,
            &replicas,
            dependency.as_ref(),
            load_started,
            trial,
            &mut active,
        );
        // The faults keep their schedule while the trial observes past the load's planned end.
        tokio::select! {
            result = &mut load_task => result,
            _ = faults => load_task.await,
            () = stop_load => load_task.await,
        }
    };
    // A load generator that could not run at all makes the trial meaningless: stop the run
    // (after this trial's tasks end) rather than report figures without load.
    let load_failure = match load_result {
        Ok(Ok(event)) => {
            context.journal.record(event);
            None
        }
        Ok(Err(e)) => Some(RunError::Load(e)),
        Err(e) => Some(RunError::Panicked(format!("the load task: {e}"))),
    };
    for (index, _) in active.iter().enumerate().filter(|(_, on)| **on) {
        for replica in fault_targets(&replicas, dependency.as_ref(), &plan.faults[index]) {
            clear_fault(context, index, replica).await;
        }
    }
    observe::settle(
        &health,
        plan.target.health.healthy_after,
        plan.settle,
        &context.cancel,
    )
    .await;

    trial_cancel.cancel();
    while tasks.join_next().await.is_some() {}
    if let Some(healer_task) = healer_task {
        let _ = healer_task.await;
    }
    if let Some(alerts) = &context.alerts {
        alerts.disconnect_trial();
    }
    load_failure.map_or(Ok(()), Err)
}
