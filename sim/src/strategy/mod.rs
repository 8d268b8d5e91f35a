//! The healing strategies a scenario can be run with: nothing, Docker's restart policy,
//! docker-autoheal's behaviour, a Prometheus → Alertmanager → webhook setup, the embedded
//! healer, or the floor (a bare `start` on every `die`: the fastest a restart-based heal can be
//! on this machine). Same scenario, same load, same faults: only who heals changes, so
//! `sim compare` can put them side by side.
//!
//! Each strategy is one module implementing [`Strategy`], and one line of `REGISTRY`, which is
//! where the names `--strategy` and `--strategies` accept, their help and `sim compare`'s
//! default set come from.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use journal::Sink;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::alerting::AlertPipeline;
use crate::balancer::BalancerPorts;
use crate::docker::TargetSpec;
use crate::monitoring::Timing;
use crate::runner::RunError;
use crate::scenario::Plan;

mod alertmanager;
mod autoheal;
mod docker_restart;
mod embedded;
mod external;
mod floor;
mod none;
mod swarm;

pub use alertmanager::Alertmanager;
pub use autoheal::Autoheal;
pub use embedded::Embedded;
pub use external::{check_webhook, External};

/// Who heals the targets during a run: what it sets up once per run, what it changes in the
/// targets' containers, and what heals during each trial.
pub trait Strategy: std::fmt::Debug + Send + Sync {
    /// The name the journal, the CLI and the comparison use.
    fn name(&self) -> &'static str;

    /// The strategy's settings, as the journal records them (`run_started.setup`).
    fn settings(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// The runbooks the healer loads: the scenario's (loaded whatever the strategy, so a broken
    /// runbook fails every run alike; only the healer's strategies run them) unless the strategy
    /// brings its own.
    fn runbooks(&self, plan: &Plan) -> Result<Vec<healer::Runbook>, RunError> {
        plan.runbooks
            .iter()
            .map(|path| healer::Runbook::load(path))
            .collect::<Result<Vec<_>, _>>()
            .map_err(RunError::from)
    }

    /// The alerting pipeline's timing for the run: the defaults, unless the strategy brings its
    /// own (and rule files in the run's `dir`, which `plan` then monitors with).
    fn alerting(&self, _plan: &mut Plan, _dir: &Path) -> Result<Timing, RunError> {
        Ok(Timing::default())
    }

    /// What the strategy changes in a target's container (Docker's restart policy, a
    /// HEALTHCHECK), for the preflight and every replica.
    fn shape_target(&self, _spec: &mut TargetSpec) {}

    /// Whether the strategy can heal a target that runs on a swarm (`platform: swarm`).
    fn heals_swarm(&self) -> bool {
        false
    }

    /// Starts whoever heals during `trial`, before its faults, until `cancel`; `None` when no
    /// task heals (nobody, or Docker itself).
    fn heal(&self, _trial: &Trial<'_>, _cancel: CancellationToken) -> Option<JoinHandle<()>> {
        None
    }
}

/// What a strategy heals one trial with.
pub struct Trial<'a> {
    pub docker: &'a Docker,
    /// Where the trial's targets run, as the healer sees it: this host's engine, or the swarm.
    pub platform: &'a Arc<dyn healer::Platform>,
    /// The labels every container of the trial carries: the run's and the trial's.
    pub scope: [(&'static str, String); 2],
    /// The runbooks [`Strategy::runbooks`] gave.
    pub runbooks: &'a [healer::Runbook],
    /// Prometheus → Alertmanager → the healer's webhook, when the run has it.
    pub alerts: Option<&'a AlertPipeline>,
    /// The balancer fronting the replicas, if any (its runtime API drains replicas).
    pub balancer: Option<BalancerPorts>,
    /// The journal, narrating notable events as it records them.
    pub narrator: &'a Arc<dyn Sink>,
    /// What sim observed of the trial's targets (probes, samples, alerts).
    pub observed: &'a Arc<crate::agent::Observed>,
    /// The scenario's model advisor for the embedded healer (`healer.advisor`), if any.
    pub advisor: Option<&'a healer::Advisor>,
    /// The scenario's timeout for the embedded healer's probes (`healer.probe_timeout`), if any.
    pub probe_timeout: Option<Duration>,
}

impl Trial<'_> {
    /// The trial's scope as Docker label filters (`key=value`).
    fn label_filters(&self) -> Vec<String> {
        self.scope.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// One strategy of the registry.
struct Registered {
    /// The strategy at its defaults.
    strategy: fn() -> Arc<dyn Strategy>,
    /// Whether `sim compare` runs it when `--strategies` is not given.
    compared_by_default: bool,
}

/// Every strategy, one line each, in the order the CLI lists them. `floor` stays last: `sim
/// compare --help` explains it right after the list.
const REGISTRY: [Registered; 8] = [
    registered(|| Arc::new(none::Nobody), true),
    registered(|| Arc::new(docker_restart::DockerRestart), true),
    registered(|| Arc::new(Autoheal::DEFAULTS), true),
    registered(|| Arc::new(Alertmanager::DEFAULTS), false),
    registered(|| Arc::new(Embedded), true),
    registered(|| Arc::new(External::DEFAULTS), false),
    registered(|| Arc::new(swarm::SwarmItself), false),
    registered(|| Arc::new(floor::Floor), false),
];

const fn registered(strategy: fn() -> Arc<dyn Strategy>, compared_by_default: bool) -> Registered {
    Registered {
        strategy,
        compared_by_default,
    }
}

/// The names `--strategy` and `--strategies` accept.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|r| (r.strategy)().name()).collect()
}

/// The strategies `sim compare` runs when `--strategies` is not given.
pub fn compared_by_default() -> Vec<&'static str> {
    REGISTRY
        .iter()
        .filter(|r| r.compared_by_default)
        .map(|r| (r.strategy)().name())
        .collect()
}

/// A strategy name `sim` does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strategy {0:?}; expected one of: {names}", names = names().join(", "))]
#[non_exhaustive]
pub struct UnknownStrategy(pub String);

/// The strategy called `name`, with its settings from the first of `configured` that has that
/// name, else its defaults.
pub fn parse(
    name: &str,
    configured: &[Arc<dyn Strategy>],
) -> Result<Arc<dyn Strategy>, UnknownStrategy> {
    let name = name.trim();
    let default = REGISTRY
        .iter()
        .map(|r| (r.strategy)())
        .find(|s| s.name() == name)
        .ok_or_else(|| UnknownStrategy(name.to_owned()))?;
    Ok(configured
        .iter()
        .find(|s| s.name() == name)
        .cloned()
        .unwrap_or(default))
}

/// `{secs}s`, as settings record a duration.
fn secs(d: std::time::Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests;
