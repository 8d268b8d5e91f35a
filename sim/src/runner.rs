//! `sim run`: carries out a compiled plan against Docker, trial by trial, recording everything in
//! the journal, and computes the figures by replaying that journal.
//!
//! Who heals under each strategy is in `heal`; what a trial watches besides its faults (the
//! status line, the observation past the load's planned end, the settle) is in `observe`.
//!
//! Cleanup is structural: the trials run in a task of their own, and whatever ends them (success,
//! an error, a panic, Ctrl-C) the run's containers and network are then removed by label.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use journal::{Event, Journal, RunSetup, Sink};
use reports::{RunInfo, RunSummary};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::alerting::{self, AlertPipeline};
use crate::balancer::{self, BalancerError};
use crate::docker::{
    self, HostProgramImage, RunResources, TargetContainer, TargetRestart, TargetSpec,
};
use crate::faults::{self, Injector};
use crate::load::{self, LoadSpec};
use crate::monitoring::MonitoringError;
use crate::netproxy::{self, NetProxies, NetProxyError};
use crate::prober::{self, ProbeTarget};
use crate::progress::{Narrator, Progress};
use crate::scenario::{Balancer, DependencyPlan, FaultKind, FaultPlan, Plan, TargetImage};
use crate::strategy::Strategy;

mod heal;
mod observe;

use observe::{LoadClock, Observation};

/// How `sim run` was asked to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where run directories go: `<out>/<scenario>/<timestamp>-<run id>/`.
    pub out: PathBuf,
    /// Show a live status line on a terminal.
    pub progress: bool,
    /// Who heals the targets (the embedded healer unless told otherwise).
    pub strategy: Strategy,
    /// The seed for randomised fault times (`at: 2s..6s`); `None` draws a fresh one.
    pub seed: Option<u64>,
    /// After the load's planned duration, keep the load running and the trial observing until
    /// every replica has recovered, for at most this long (zero: stop with the load).
    pub observe_up_to: Duration,
}

/// A finished (or interrupted) run.
#[derive(Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub summary: RunSummary,
    pub interrupted: bool,
    /// result.json, report.html, junit.xml and summary.md of the run.
    pub paths: reports::ReportPaths,
    /// The history index of every run under the output root, when it could be written.
    pub index: Option<PathBuf>,
}

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    #[error(transparent)]
    Environment(#[from] docker::EnvError),
    #[error("target image {image:?} is not in the local Docker engine (nothing can be pulled).\n  fix: build it first (`docker build -t {image} .`) or set target.image to an image `docker images` lists")]
    MissingImage { image: String },
    #[error(transparent)]
    Image(#[from] docker::ImageError),
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    #[error("{target} did not answer its health check within {seconds:.0}s of starting")]
    TargetNotReady { target: String, seconds: f64 },
    #[error("cannot write the run's output in {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    #[error(transparent)]
    Healer(#[from] healer::RunbookError),
    #[error(transparent)]
    Load(#[from] load::LoadError),
    #[error("the run's task panicked: {0}")]
    Panicked(String),
    #[error(transparent)]
    Balancer(#[from] BalancerError),
    #[error(transparent)]
    NetProxy(#[from] NetProxyError),
    #[error("the network path could not be reset before the trial: {0}")]
    NetworkReset(#[from] faults::FaultError),
    #[error(transparent)]
    Monitoring(#[from] MonitoringError),
}

impl RunError {
    /// The documented exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Environment(_)
            | RunError::MissingImage { .. }
            | RunError::Balancer(BalancerError::Missing)
            | RunError::Monitoring(MonitoringError::Image(_)) => crate::exit::ENVIRONMENT,
            RunError::Monitoring(
                MonitoringError::InvalidRules { .. } | MonitoringError::ReadRules { .. },
            ) => crate::exit::BAD_INPUT,
            RunError::Healer(_) => crate::exit::BAD_INPUT,
            _ => crate::exit::RUN_FAILED,
        }
    }
}

/// Everything a trial needs, shared by every trial of a run.
struct RunContext {
    plan: Plan,
    runbooks: Vec<healer::Runbook>,
    resources: RunResources,
    image: String,
    /// Where load goes when a balancer fronts the replicas (its port on 127.0.0.1).
    balancer_port: Option<u16>,
    /// Prometheus → Alertmanager → the healer's webhook, when the scenario has it.
    alerts: Option<AlertPipeline>,
    journal: Arc<Journal>,
    /// The journal, narrating notable events as it records them (for the healer and Docker).
    narrator: Arc<dyn Sink>,
    injector: Injector,
    progress: Progress,
    cancel: CancellationToken,
    strategy: Strategy,
    /// What randomised fault times are drawn from.
    seed: u64,
    /// How long a trial may observe past its load's planned end.
    observe_up_to: Duration,
}

/// Runs `plan` and returns its figures. Cleans up whatever happens.
pub async fn run(
    mut plan: Plan,
    options: &RunOptions,
    cancel: CancellationToken,
) -> Result<RunOutcome, RunError> {
    let runbooks = heal::runbooks(&plan, options.strategy)?;
    let docker = docker::connect().await?;
    let progress = Progress::new(options.progress);
    let image = target_image(&docker, &plan.target.image, &progress).await?;
    faults::prepare_deploys(&docker, &plan.faults, &image).await?;

    let run_id = new_run_id();
    let started_unix_ms = unix_ms();
    let dir = options
        .out
        .join(&plan.name)
        .join(format!("{}-{run_id}", timestamp(started_unix_ms / 1000)));
    std::fs::create_dir_all(&dir).map_err(|source| RunError::Output {
        path: dir.clone(),
        source,
    })?;
    let journal = Arc::new(Journal::create(&dir.join("journal.jsonl"))?);
    let timing = heal::alerting_timing(&mut plan, options.strategy, &dir)?;
    let randomised = plan.faults.iter().any(|f| f.at_latest.is_some());
    let seed = options.seed.unwrap_or_else(fresh_seed);
    journal.record(Event::RunStarted {
        run_id: run_id.clone(),
        scenario: plan.name.clone(),
        trials: plan.trials,
        sim_version: env!("CARGO_PKG_VERSION").to_owned(),
        strategy: Some(options.strategy.name().to_owned()),
        seed: randomised.then_some(seed),
        setup: Some(run_setup(&plan, options)?),
    });
    if randomised {
        progress.phase(format!(
            "sim: fault times drawn with seed {seed} (replay with --seed {seed})"
        ));
    }
    progress.phase(format!(
        "sim: run {run_id} of {} ({} trial(s), strategy {}); journal {}",
        plan.name,
        plan.trials,
        options.strategy,
        journal.path().display()
    ));

    let resources = RunResources::create(docker.clone(), &run_id).await?;
    let (balancer_port, net_proxies) =
        match prepare(&resources, &plan, &image, options.strategy, &progress).await {
            Ok(prepared) => prepared,
            Err(e) => {
                let _ = resources.cleanup().await;
                return Err(e);
            }
        };
    let narrator: Arc<dyn Sink> = Arc::new(Narrator {
        journal: journal.clone(),
        progress: progress.clone(),
    });
    let alerts = match alerting::start(&resources, &plan, timing, narrator.clone(), &progress).await
    {
        Ok(alerts) => alerts,
        Err(e) => {
            let _ = resources.cleanup().await;
            return Err(e.into());
        }
    };
    let events = tokio::spawn(docker::record_docker_events(
        docker.clone(),
        run_id.clone(),
        narrator.clone(),
    ));
    let context = Arc::new(RunContext {
        injector: Injector::new(docker).with_net_proxies(net_proxies),
        plan,
        runbooks,
        resources: resources.clone(),
        image,
        balancer_port,
        alerts,
        journal: journal.clone(),
        narrator,
        progress: progress.clone(),
        cancel: cancel.clone(),
        strategy: options.strategy,
        seed,
        observe_up_to: options.observe_up_to,
    });
    let trials = tokio::spawn(run_trials(context.clone()));
    let trials_result = match trials.await {
        Ok(result) => result,
        Err(join_error) => Err(RunError::Panicked(join_error.to_string())),
    };

    // Give the event recorder a moment to write the last `die` events, then stop it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    events.abort();
    let cleanup = resources.cleanup().await;
    let interrupted = cancel.is_cancelled();
    journal.set_trial(None);
    journal.record(Event::RunEnded { interrupted });
    progress.finish();
    trials_result?;
    cleanup?;

    let records = journal::read_journal(journal.path())?;
    let summary = reports::summarize(
        &records,
        context.plan.target.health.healthy_after,
        &context.plan.expect,
    );
    let info = RunInfo {
        run_id,
        scenario: context.plan.name.clone(),
        journal: journal.path().to_owned(),
        started_unix_ms,
        interrupted,
    };
    let output_error = |source| RunError::Output {
        path: dir.clone(),
        source,
    };
    let paths = reports::write_reports(&dir, &records, &summary, &info).map_err(output_error)?;
    // The history index across runs; a run whose index cannot be written still succeeded.
    let index = reports::History::load(&options.out).and_then(|history| history.write_index());
    if let Err(e) = &index {
        tracing::warn!(
            "cannot update the history index in {}: {e}",
            options.out.display()
        );
    }
    Ok(RunOutcome {
        dir,
        summary,
        interrupted,
        paths,
        index: index.ok(),
    })
}

/// What the run's figures depend on, for `run_started`: K, the prober's settings, the
/// expectations, the strategy's settings, the observation bound and the scenario file's text.
fn run_setup(plan: &Plan, options: &RunOptions) -> Result<RunSetup, RunError> {
    let scenario_text =
        std::fs::read_to_string(&plan.source).map_err(|source| RunError::Output {
            path: plan.source.clone(),
            source,
        })?;
    let health = &plan.target.health;
    Ok(RunSetup {
        healthy_after: health.healthy_after,
        probe_interval_ms: health.interval.as_secs_f64() * 1000.0,
        probe_timeout_ms: health.timeout.as_secs_f64() * 1000.0,
        expect: serde_json::to_value(&plan.expect).unwrap_or_default(),
        strategy_settings: options.strategy.settings(),
        observe_up_to_ms: (!options.observe_up_to.is_zero())
            .then_some(options.observe_up_to.as_secs_f64() * 1000.0),
        scenario_text,
    })
}

/// This very binary, which the built-in target's and the network proxies' images hold.
fn this_program() -> Result<PathBuf, RunError> {
    std::env::current_exe().map_err(|source| RunError::Output {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })
}

/// The image to start targets from: built from this very binary for `leaky`, or the user's.
async fn target_image(
    docker: &Docker,
    image: &TargetImage,
    progress: &Progress,
) -> Result<String, RunError> {
    match image {
        TargetImage::Leaky => {
            let program = this_program()?;
            progress.phase("sim: preparing the target image (built once per sim binary)");
            let spec = HostProgramImage {
                repository: "sim-leaky".to_owned(),
                program,
                args: vec!["target".to_owned(), "leaky".to_owned()],
            };
            Ok(docker::ensure_host_program_image(docker, &spec).await?)
        }
        TargetImage::Local(name) => match docker.inspect_image(name).await {
            Ok(_) => Ok(name.clone()),
            Err(_) => Err(RunError::MissingImage {
                image: name.clone(),
            }),
        },
    }
}

/// Everything a run needs before its first trial: the preflight, then the load balancer if the
/// scenario has one (returns its port on 127.0.0.1), in front of a network proxy per replica if
/// the scenario has network faults (the compile step saw to it that it has a balancer).
async fn prepare(
    resources: &RunResources,
    plan: &Plan,
    image: &str,
    strategy: Strategy,
    progress: &Progress,
) -> Result<(Option<u16>, NetProxies), RunError> {
    preflight(resources, plan, image, strategy, progress).await?;
    if plan.target.balancer == Balancer::None {
        return Ok((None, NetProxies::default()));
    }
    let replicas: Vec<String> = (0..plan.target.replicas)
        .map(|index| replica_name(plan, index))
        .collect();
    let (servers, net_proxies) = if plan.faults.iter().any(|f| f.kind.is_network()) {
        let proxies =
            netproxy::start(resources, &this_program()?, &replicas, plan.target.port).await?;
        progress.phase(format!(
            "sim: a network proxy in front of each of {} replica(s)",
            replicas.len()
        ));
        let aliases = replicas.iter().map(|r| netproxy::alias(r)).collect();
        (aliases, proxies)
    } else {
        (replicas, NetProxies::default())
    };
    let balancer = balancer::start(
        resources,
        &servers,
        plan.target.port,
        &plan.target.health.path,
    )
    .await?;
    progress.phase(format!(
        "sim: load balancer (HAProxy) over {} replica(s) on http://127.0.0.1:{}",
        servers.len(),
        balancer.host_port
    ));
    Ok((Some(balancer.host_port), net_proxies))
}

fn replica_name(plan: &Plan, index: u32) -> String {
    format!("{}-{index}", plan.target.name)
}

/// Starts one replica outside any trial and waits until it answers, then removes it. A target
/// that cannot start fails here, with a clear error, before any trial; and the first trial no
/// longer pays for a cold start (its binary's pages being read in under its memory limit).
async fn preflight(
    resources: &RunResources,
    plan: &Plan,
    image: &str,
    strategy: Strategy,
    progress: &Progress,
) -> Result<(), RunError> {
    progress.phase("sim: preflight: starting one target to check it answers");
    start_dependency(resources, plan, image, 0).await?;
    let spec = heal::target_spec(plan, image, strategy, "preflight".to_owned(), 0);
    let container = resources.start_target(&spec).await?;
    let url = health_url(&container, &plan.target.health.path);
    let health = &plan.target.health;
    let ready = prober::wait_until_healthy(&url, health.timeout, plan.target.startup_timeout).await;
    resources
        .remove_containers(&[(docker::LABEL_TRIAL, "0")])
        .await?;
    if !ready {
        return Err(RunError::TargetNotReady {
            target: spec.name,
            seconds: plan.target.startup_timeout.as_secs_f64(),
        });
    }
    Ok(())
}

async fn run_trials(context: Arc<RunContext>) -> Result<(), RunError> {
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
        let removed = context
            .resources
            .remove_containers(&[(docker::LABEL_TRIAL, &trial.to_string())])
            .await;
        result?;
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
    let sink: Arc<dyn Sink> = context.journal.clone();

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
    let replicas = start_replicas(context, trial).await?;
    for replica in &replicas {
        // The proxies outlive trials: a toxic a failed clear left must not leak into this one.
        context.injector.reset_network(replica).await?;
    }
    let load_port = context.balancer_port.unwrap_or(replicas[0].host_port);
    if context.balancer_port.is_some() {
        // The balancer marks a replica up after two good checks: wait until it serves.
        let url = format!("http://127.0.0.1:{load_port}{}", plan.target.health.path);
        let timeout = plan.target.health.timeout;
        if !prober::wait_until_healthy(&url, timeout, plan.target.startup_timeout).await {
            return Err(RunError::TargetNotReady {
                target: "balancer".to_owned(),
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
    let healer_task = heal::spawn_healer(context, trial, &trial_cancel);

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
    let _ = healer_task.await;
    if let Some(alerts) = &context.alerts {
        alerts.disconnect_trial();
    }
    load_failure.map_or(Ok(()), Err)
}

/// Starts the scenario's dependency for `trial` (0: the preflight), if it has one, and waits
/// until it answers: the replicas are healthy only once it does. It is the built-in target, with
/// the target's limits.
async fn start_dependency(
    resources: &RunResources,
    plan: &Plan,
    image: &str,
    trial: u32,
) -> Result<Option<TargetContainer>, RunError> {
    let Some(dependency) = &plan.dependency else {
        return Ok(None);
    };
    let target = &plan.target;
    let port = DependencyPlan::PORT;
    let spec = TargetSpec {
        name: dependency.name.clone(),
        image: image.to_owned(),
        port,
        health_path: "/health".to_owned(),
        memory_bytes: target.memory_bytes,
        nano_cpus: target.nano_cpus,
        env: vec![("LEAKY_PORT".to_owned(), port.to_string())],
        trial,
        restart: TargetRestart::No,
        healthcheck: None,
        // What the `restart-dependency` runbook selects by.
        labels: vec![("role".to_owned(), "dependency".to_owned())],
    };
    let container = resources.start_target(&spec).await?;
    let url = health_url(&container, &spec.health_path);
    if !prober::wait_until_healthy(&url, target.health.timeout, target.startup_timeout).await {
        return Err(RunError::TargetNotReady {
            target: container.name,
            seconds: target.startup_timeout.as_secs_f64(),
        });
    }
    Ok(Some(container))
}

async fn start_replicas(
    context: &RunContext,
    trial: u32,
) -> Result<Vec<TargetContainer>, RunError> {
    let target = &context.plan.target;
    let mut replicas = Vec::new();
    for index in 0..target.replicas {
        let name = replica_name(&context.plan, index);
        let spec = heal::target_spec(&context.plan, &context.image, context.strategy, name, trial);
        let container = context.resources.start_target(&spec).await?;
        context.journal.record(Event::TargetStarted {
            target: container.name.clone(),
            container_id: container.id.clone(),
            host_port: container.host_port,
        });
        replicas.push(container);
    }
    for replica in &replicas {
        let url = health_url(replica, &target.health.path);
        if !prober::wait_until_healthy(&url, target.health.timeout, target.startup_timeout).await {
            return Err(RunError::TargetNotReady {
                target: replica.name.clone(),
                seconds: target.startup_timeout.as_secs_f64(),
            });
        }
        context.journal.record(Event::TargetReady {
            target: replica.name.clone(),
        });
    }
    Ok(replicas)
}

/// Injects each fault at its time (relative to the start of load) and clears it when its
/// window ends, marking in `active` what is in force. Returns once the schedule is done or the
/// run is cancelled; the caller clears what is still active when the load ends.
async fn run_faults(
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

async fn clear_fault(context: &RunContext, index: usize, replica: &TargetContainer) {
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
fn fault_targets<'a>(
    replicas: &'a [TargetContainer],
    dependency: Option<&'a TargetContainer>,
    fault: &FaultPlan,
) -> Vec<&'a TargetContainer> {
    match fault.replica {
        _ if fault.kind == FaultKind::DependencyOutage => dependency.into_iter().collect(),
        Some(index) => replicas.get(index as usize).into_iter().collect(),
        None => replicas.iter().collect(),
    }
}

fn health_url(replica: &TargetContainer, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", replica.host_port)
}

/// A short random run id (8 hex digits) from the OS-seeded hasher.
/// A seed nobody chose: the clock's nanoseconds mixed with the process id.
pub(crate) fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 40)
}

fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(unix_ms() as u128 ^ u128::from(std::process::id()));
    format!("{:08x}", hasher.finish() as u32)
}

pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `20261122T051200Z` for a Unix time in seconds (UTC): [`reports::utc`] without separators.
pub(crate) fn timestamp(unix_secs: u64) -> String {
    reports::utc(unix_secs.saturating_mul(1000)).replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_and_sortable() {
        assert_eq!(timestamp(0), "19700101T000000Z");
        assert_eq!(timestamp(951_782_400), "20000229T000000Z");
        assert_eq!(timestamp(1_795_325_520), "20261122T053200Z");
    }

    #[test]
    fn run_ids_are_eight_hex_digits_and_differ() {
        let a = new_run_id();
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_run_id());
    }
}
