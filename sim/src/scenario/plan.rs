//! The validated scenario the runner executes: every value parsed, defaulted and checked, every
//! runbook resolved to a file. Built only by `compile`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What a fault does: defined with each kind, in [`crate::faults::kinds`].
pub use crate::faults::kinds::{FaultKind, Leak};

/// A scenario ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub name: String,
    pub description: String,
    /// The file the plan was compiled from.
    pub source: PathBuf,
    pub trials: u32,
    pub target: TargetPlan,
    pub load: LoadPlan,
    /// In file order.
    pub faults: Vec<FaultPlan>,
    /// Runbook files for the healer, in the order listed; they exist but are not yet validated.
    pub runbooks: Vec<PathBuf>,
    /// Who heals when `--strategy` does not say (`healer.strategy`); `None`: the embedded healer.
    pub strategy: Option<StrategyPlan>,
    /// The embedded healer's model advisor (`healer.advisor`), if any: consulted on evidence no
    /// runbook matches; the incident's evidence, its redacted log excerpt included, goes to it.
    pub advisor: Option<healer::Advisor>,
    /// How long the embedded healer's own probes wait for an answer (`healer.probe_timeout`);
    /// `None`: the healer's default, 250 ms.
    pub probe_timeout: Option<Duration>,
    /// The containerised alerting pipeline, when the scenario asks for one.
    pub monitoring: Option<MonitoringPlan>,
    pub expect: reports::Expectations,
    /// How long load and probes go on after recovery (or after the last fault) before a trial may
    /// end.
    pub settle: Duration,
    /// A container the target needs, started beside it in every trial.
    pub dependency: Option<DependencyPlan>,
    /// The compose project the target is a service of (`target.compose`), every service of it
    /// started in every trial; the target is its service `target.name`.
    pub compose: Option<crate::compose::ComposePlan>,
    /// The swarm the target runs on as a replicated service (`platform: swarm`); `None`:
    /// containers on this host's engine.
    pub swarm: Option<SwarmPlan>,
}

/// `platform: swarm`: a cluster of `nodes` dockerd processes, all managers, formed once per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmPlan {
    pub nodes: usize,
}

/// `healer.strategy` and, for `external`, `healer.external`: a known strategy name, and a
/// command or a loopback webhook for the external one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyPlan {
    pub name: String,
    /// `healer.external.command`, run through `sh -c` in sim's current directory.
    pub external_command: Option<String>,
    /// `healer.external.webhook`.
    pub external_webhook: Option<String>,
}

/// A dependency of the target: the built-in leaky service, on port [`DependencyPlan::PORT`],
/// answering to `name` on the run's network. The target checks it at `http://<name>:8080/health`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyPlan {
    /// Its network alias and replica name, e.g. `db`.
    pub name: String,
}

impl DependencyPlan {
    /// The port the dependency listens on.
    pub const PORT: u16 = 8080;
}

/// Prometheus and Alertmanager in containers, alerting the embedded healer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoringPlan {
    /// Without a Prometheus to be had: fail the run (`true`), or fall back to the healer's
    /// embedded signals and say so.
    pub required: bool,
    /// Prometheus rule files (standard format), relative paths resolved against the scenario.
    pub rules: Vec<PathBuf>,
}

/// The image a target runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetImage {
    /// The built-in leaky service (`image: leaky`), built by sim itself.
    Leaky,
    /// Any other image, already present in the local Docker engine.
    Local(String),
}

/// The service under test.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetPlan {
    /// Base name of its containers: `leaky` for the built-in target, else derived from the image
    /// (`registry/team/app:1.2` → `app`) unless `target.name` is given.
    pub name: String,
    pub image: TargetImage,
    pub replicas: u32,
    /// The port the service listens on inside its container.
    pub port: u16,
    pub memory_bytes: Option<u64>,
    /// CPU limit in billionths of a CPU (Docker's `NanoCpus`).
    pub nano_cpus: Option<i64>,
    pub env: BTreeMap<String, String>,
    pub health: HealthPlan,
    /// Whether Docker health-checks the built-in target's containers (tasks on a swarm) itself
    /// (`target.healthcheck`, see `crate::docker::HealthCheck::builtin`).
    pub healthcheck: bool,
    /// How long a replica may take to become healthy at the start of a trial.
    pub startup_timeout: Duration,
    /// What stands between the load and the replicas.
    pub balancer: Balancer,
}

/// What stands between the load and the replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balancer {
    /// Load goes straight to replica 0 (the default for one replica).
    None,
    /// An HAProxy container health-checks every replica and spreads the load over them (the
    /// default for several replicas).
    Haproxy,
}

/// How the prober samples each replica's health.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthPlan {
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// Consecutive good probes that count as recovered.
    pub healthy_after: u32,
}

/// The simulated users.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    pub users: usize,
    pub duration: Duration,
    pub path: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Cap on requests per second over all users, if any.
    pub max_rps: Option<usize>,
    /// The compose service the load goes through (`load.via`, e.g. the project's own balancer),
    /// at its first published port; `None`: sim's balancer, or the one replica.
    pub via: Option<String>,
}

/// One fault, injected at `at` after the load starts, or at a time drawn between `at` and
/// `at_latest` when the scenario randomises it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    pub at: Duration,
    /// The latest start of a randomised fault (`at: 2s..6s`); `None` = always at `at`.
    pub at_latest: Option<Duration>,
    /// How long the fault lasts; `None` = until the replica dies or the trial ends.
    pub duration: Option<Duration>,
    /// The replica index; `None` = every replica.
    pub replica: Option<u32>,
    pub kind: FaultKind,
}

impl FaultPlan {
    /// When this fault (the `index`th of its scenario) starts in `trial` of a run drawn with
    /// `seed`: `at` for a fixed fault; for a randomised one, a time in `at..=at_latest` (to the
    /// millisecond) that depends only on the seed, the trial and the index, so a run is
    /// replayed exactly by giving its seed again.
    pub fn start_in_trial(&self, seed: u64, trial: u32, index: usize) -> Duration {
        let Some(latest) = self.at_latest else {
            return self.at;
        };
        let span_ms = latest.saturating_sub(self.at).as_millis() as u64;
        let draw = splitmix64(seed ^ (u64::from(trial) << 32) ^ index as u64);
        self.at + Duration::from_millis(draw % (span_ms + 1))
    }
}

/// SplitMix64's output function: a well-mixed 64-bit value from any input, so neighbouring
/// trials and faults get unrelated times. Stable across versions (it is the replay contract).
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(at: u64, at_latest: Option<u64>) -> FaultPlan {
        FaultPlan {
            at: Duration::from_millis(at),
            at_latest: at_latest.map(Duration::from_millis),
            duration: None,
            replica: None,
            kind: FaultKind::Kill(crate::faults::kinds::Kill),
        }
    }

    #[test]
    fn a_fixed_fault_starts_at_its_time_whatever_the_seed() {
        let kill = fault(3000, None);
        for seed in [0, 1, u64::MAX] {
            assert_eq!(kill.start_in_trial(seed, 1, 0), Duration::from_secs(3));
        }
    }

    #[test]
    fn a_randomised_fault_starts_in_its_range_and_the_seed_replays_it() {
        let kill = fault(2000, Some(6000));
        let times = |seed| -> Vec<Duration> {
            (1..=50)
                .flat_map(|trial| (0..2).map(move |index| (trial, index)))
                .map(|(trial, index)| kill.start_in_trial(seed, trial, index))
                .collect()
        };
        let first = times(42);
        assert!(first
            .iter()
            .all(|t| (Duration::from_secs(2)..=Duration::from_secs(6)).contains(t)));
        assert_eq!(first, times(42), "the same seed gives the same times");
        assert_ne!(first, times(43), "another seed gives other times");
        let distinct: std::collections::BTreeSet<_> = first.iter().collect();
        assert!(
            distinct.len() > 40,
            "times spread over the range: {distinct:?}"
        );
    }
}
