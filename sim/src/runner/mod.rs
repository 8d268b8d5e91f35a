//! `sim run`: carries out a compiled plan against Docker, trial by trial, recording everything in
//! the journal, and computes the figures by replaying that journal.
//!
//! Who heals under each strategy is in `crate::strategy`; what a trial watches besides its
//! faults (the status line, the observation past the load's planned end, the settle) is in
//! `observe`.
//!
//! Cleanup is structural: the trials run in a task of their own, and whatever ends them (success,
//! an error, a panic, Ctrl-C) the run's containers and network are then removed by label.
//!
//! The whole run (the journal, the run's resources, the reports) is in `run`; what it starts
//! before and in each trial (the target image, the balancer and network proxies, the preflight,
//! the dependency, the compose project and the replicas) is in `setup`; one trial is in
//! `trial`, and the timing of its faults in `schedule`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use journal::{Journal, Sink};
use reports::RunSummary;
use tokio_util::sync::CancellationToken;

use crate::alerting::AlertPipeline;
use crate::balancer::{BalancerError, BalancerPorts};
use crate::compose::{ComposeError, ProjectImages};
use crate::docker::{self, RunResources};
use crate::faults::{self, Injector};
use crate::load;
use crate::monitoring::MonitoringError;
use crate::netproxy::NetProxyError;
use crate::progress::Progress;
use crate::scenario::Plan;
use crate::strategy::Strategy;

mod observe;
mod run;
mod schedule;
mod setup;
mod swarm;
mod trial;

pub use run::run;
pub(crate) use run::{fresh_seed, timestamp, unix_ms};

/// How `sim run` was asked to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where run directories go: `<out>/<scenario>/<timestamp>-<run id>/`.
    pub out: PathBuf,
    /// Show a live status line on a terminal.
    pub progress: bool,
    /// Who heals the targets (the embedded healer unless told otherwise).
    pub strategy: Arc<dyn Strategy>,
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
    #[error(transparent)]
    Compose(#[from] ComposeError),
    #[error(transparent)]
    Swarm(#[from] crate::swarm::SwarmError),
    #[error(
        "strategy {strategy} cannot heal a target on `platform: swarm`.\n  fix: use `--strategy swarm` (Swarm alone) or `--strategy embedded` (the healer, through the managers)"
    )]
    NotForSwarm { strategy: &'static str },
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
            RunError::Healer(_) | RunError::NotForSwarm { .. } => crate::exit::BAD_INPUT,
            RunError::Compose(e) if e.is_bad_input() => crate::exit::BAD_INPUT,
            RunError::Compose(ComposeError::Haproxy(BalancerError::Missing)) => {
                crate::exit::ENVIRONMENT
            }
            RunError::Swarm(
                crate::swarm::SwarmError::NotRoot { .. } | crate::swarm::SwarmError::Missing { .. },
            ) => crate::exit::ENVIRONMENT,
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
    /// The image of every service of the compose project, when the target is one's service.
    compose_images: ProjectImages,
    /// The balancer fronting the replicas, if any: where load goes and its runtime API.
    balancer: Option<BalancerPorts>,
    /// Prometheus → Alertmanager → the healer's webhook, when the scenario has it.
    alerts: Option<AlertPipeline>,
    journal: Arc<Journal>,
    /// The journal, narrating notable events as it records them (for the healer and Docker),
    /// through `observed`.
    narrator: Arc<dyn Sink>,
    /// What sim observed of the targets, for the Agent API.
    observed: Arc<crate::agent::Observed>,
    injector: Injector,
    progress: Progress,
    cancel: CancellationToken,
    strategy: Arc<dyn Strategy>,
    /// What randomised fault times are drawn from.
    seed: u64,
    /// How long a trial may observe past its load's planned end.
    observe_up_to: Duration,
    /// The run's swarm, when the target runs on one (`platform: swarm`).
    swarm: Option<swarm::SwarmRun>,
}
