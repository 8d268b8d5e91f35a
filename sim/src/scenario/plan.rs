//! The validated scenario the runner executes: every value parsed, defaulted and checked, every
//! runbook resolved to a file. Built only by `compile`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

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
    /// The containerised alerting pipeline, when the scenario asks for one.
    pub monitoring: Option<MonitoringPlan>,
    pub expect: reports::Expectations,
    /// How long load and probes go on after recovery (or after the last fault) before a trial may
    /// end.
    pub settle: Duration,
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
}

/// One fault, injected at `at` after the load starts.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    pub at: Duration,
    /// How long the fault lasts; `None` = until the replica dies or the trial ends.
    pub duration: Option<Duration>,
    /// The replica index; `None` = every replica.
    pub replica: Option<u32>,
    pub kind: FaultKind,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    MemoryLeak(Leak),
    CpuBurn {
        threads: u32,
    },
    Latency {
        fixed: Duration,
        jitter: Duration,
    },
    Hang,
    Crash {
        exit_code: i32,
    },
    Kill,
    /// The built-in target crashed now, and made to refuse every start until the fault ends
    /// (a config that makes restarts fail).
    CrashLoop,
    /// The replica's processes frozen (`docker pause`) until the fault ends.
    Pause,
    /// The replica's limits lowered live (`docker update`) until the fault ends, then restored.
    /// At least one is set; each is below the target's own limit.
    ResourceSqueeze {
        memory_bytes: Option<u64>,
        /// Billionths of a CPU, as Docker's `NanoCpus`.
        nano_cpus: Option<i64>,
    },
}

/// How a memory leak grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leak {
    /// Steadily, this many bytes per second.
    Rate { bytes_per_sec: u64 },
    /// All at once.
    Amount { bytes: u64 },
    /// This many bytes per request served.
    PerRequest { bytes: u64 },
}

impl FaultKind {
    /// Every kind's name, as written in scenario files.
    pub const NAMES: [&'static str; 9] = [
        "memory-leak",
        "cpu-burn",
        "latency",
        "hang",
        "crash",
        "kill",
        "pause",
        "resource-squeeze",
        "crash-loop",
    ];

    /// The name as written in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::MemoryLeak(_) => "memory-leak",
            FaultKind::CpuBurn { .. } => "cpu-burn",
            FaultKind::Latency { .. } => "latency",
            FaultKind::Hang => "hang",
            FaultKind::Crash { .. } => "crash",
            FaultKind::Kill => "kill",
            FaultKind::Pause => "pause",
            FaultKind::ResourceSqueeze { .. } => "resource-squeeze",
            FaultKind::CrashLoop => "crash-loop",
        }
    }
}
