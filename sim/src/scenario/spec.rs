//! The scenario file as users write it: serde structs that keep every leaf needing a check as
//! text ([`Scalar`]) and every unknown key in `unknown`, so the compile step can report all
//! problems at once. Only `compile` reads these; the runner sees the plan.

use std::collections::BTreeMap;

use serde::Deserialize;
use specfile::Scalar;

/// Keys a section does not know, kept so that all of them can be reported at once.
pub type Unknown = BTreeMap<String, serde_yaml::Value>;

/// The whole scenario file.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a scenario: a map with target, load, faults, …")]
pub struct ScenarioSpec {
    pub name: Option<String>,
    pub description: Option<String>,
    pub trials: Option<i64>,
    pub settle: Option<Scalar>,
    pub target: Option<TargetSpec>,
    pub load: Option<LoadSpec>,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    pub healer: Option<HealerSpec>,
    pub monitoring: Option<MonitoringSpec>,
    pub expect: Option<ExpectSpec>,
    pub dependency: Option<DependencySpec>,
    /// `docker` (the default) or `swarm`.
    pub platform: Option<String>,
    /// How many nodes a swarm has.
    pub nodes: Option<i64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl ScenarioSpec {
    pub const FIELDS: &[&str] = &[
        "name",
        "description",
        "trials",
        "settle",
        "target",
        "load",
        "faults",
        "healer",
        "monitoring",
        "expect",
        "dependency",
        "platform",
        "nodes",
    ];
}

/// `target:` — the service under test.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map of target settings, e.g. { image: leaky }")]
pub struct TargetSpec {
    pub name: Option<String>,
    pub image: Option<String>,
    pub replicas: Option<i64>,
    pub port: Option<i64>,
    pub memory: Option<Scalar>,
    pub cpus: Option<f64>,
    #[serde(default)]
    pub env: BTreeMap<String, Scalar>,
    pub startup_timeout: Option<Scalar>,
    pub health: Option<HealthSpec>,
    pub healthcheck: Option<bool>,
    pub balancer: Option<String>,
    /// A compose file, relative to the scenario's directory; with `service`, the target is
    /// that service of the project.
    pub compose: Option<String>,
    pub service: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl TargetSpec {
    pub const FIELDS: &[&str] = &[
        "name",
        "image",
        "replicas",
        "port",
        "memory",
        "cpus",
        "env",
        "startup_timeout",
        "health",
        "healthcheck",
        "balancer",
        "compose",
        "service",
    ];
}

/// `target.health:` — how the prober decides a replica is up.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map of health-probe settings, e.g. { path: /health, interval: 50ms }")]
pub struct HealthSpec {
    pub path: Option<String>,
    pub interval: Option<Scalar>,
    pub timeout: Option<Scalar>,
    pub healthy_after: Option<i64>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl HealthSpec {
    pub const FIELDS: &[&str] = &["path", "interval", "timeout", "healthy_after"];
}

/// `load:` — the simulated users.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map of load settings, e.g. { users: 4, duration: 30s }")]
pub struct LoadSpec {
    pub users: Option<i64>,
    pub duration: Option<Scalar>,
    pub path: Option<String>,
    pub timeout: Option<Scalar>,
    pub max_rps: Option<i64>,
    /// The compose service the load goes through.
    pub via: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl LoadSpec {
    pub const FIELDS: &[&str] = &["users", "duration", "path", "timeout", "max_rps", "via"];
}

/// One item of `faults:`. Every kind's fields live in one flat struct; the compile step says
/// which ones apply to the kind given.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a fault: a map such as { kind: memory-leak, at: 3s, rate: 32MiB/s }")]
pub struct FaultSpec {
    pub kind: Option<String>,
    pub at: Option<Scalar>,
    pub duration: Option<Scalar>,
    pub replica: Option<i64>,
    // memory-leak (`rate` also network-errors, as a percentage)
    pub rate: Option<Scalar>,
    pub amount: Option<Scalar>,
    pub per_request: Option<Scalar>,
    // cpu-burn
    pub threads: Option<i64>,
    // latency, network-latency
    pub fixed: Option<Scalar>,
    pub jitter: Option<Scalar>,
    // crash
    pub exit_code: Option<i64>,
    // resource-squeeze
    pub memory: Option<Scalar>,
    pub cpus: Option<f64>,
    // log-error
    pub line: Option<Scalar>,
    pub count: Option<i64>,
    // node-crash
    pub node: Option<i64>,
    // monitoring-outage
    pub component: Option<Scalar>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl FaultSpec {
    /// Fields every kind takes (`duration` only where the kind lasts; see `compile`).
    pub const COMMON: &[&str] = &["kind", "at", "duration", "replica"];

    /// The kind-specific fields that are set, by name.
    pub fn specific_fields(&self) -> Vec<&'static str> {
        [
            ("rate", self.rate.is_some()),
            ("amount", self.amount.is_some()),
            ("per_request", self.per_request.is_some()),
            ("threads", self.threads.is_some()),
            ("fixed", self.fixed.is_some()),
            ("jitter", self.jitter.is_some()),
            ("exit_code", self.exit_code.is_some()),
            ("memory", self.memory.is_some()),
            ("cpus", self.cpus.is_some()),
            ("line", self.line.is_some()),
            ("count", self.count.is_some()),
            ("node", self.node.is_some()),
            ("component", self.component.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// `dependency:` — a built-in leaky container beside the target, which the target needs.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map such as { name: db }")]
pub struct DependencySpec {
    pub name: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl DependencySpec {
    pub const FIELDS: &[&str] = &["name"];
}

/// `healer:` — the runbooks the self-healing engine loads for this scenario, and who heals when
/// `--strategy` does not say.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map such as { runbooks: [restart-on-oom] }")]
pub struct HealerSpec {
    #[serde(default)]
    pub runbooks: Vec<String>,
    pub strategy: Option<String>,
    pub external: Option<ExternalSpec>,
    pub advisor: Option<AdvisorSpec>,
    pub probe_timeout: Option<Scalar>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl HealerSpec {
    pub const FIELDS: &[&str] = &[
        "runbooks",
        "strategy",
        "external",
        "advisor",
        "probe_timeout",
    ];
}

/// `healer.advisor:` — the embedded healer's model advisor (an OpenAI-compatible server).
#[derive(Debug, Default, Deserialize)]
#[serde(
    expecting = "a map such as { url: http://127.0.0.1:11434, model: qwen2.5:0.5b, timeout: 10s, min_confidence: 0.7 }"
)]
pub struct AdvisorSpec {
    pub url: Option<String>,
    pub model: Option<String>,
    pub timeout: Option<Scalar>,
    pub min_confidence: Option<Scalar>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl AdvisorSpec {
    pub const FIELDS: &[&str] = &["url", "model", "timeout", "min_confidence"];
}

/// `healer.external:` — the user's healer under `strategy: external`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    expecting = "a map such as { command: python3 my_agent.py, webhook: http://127.0.0.1:9095/alerts }"
)]
pub struct ExternalSpec {
    pub command: Option<String>,
    pub webhook: Option<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl ExternalSpec {
    pub const FIELDS: &[&str] = &["command", "webhook"];
}

/// `monitoring:` — a real Prometheus and Alertmanager on the run's network.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map such as { prometheus: required, rules: [rules/x.rules.yml] }")]
pub struct MonitoringSpec {
    pub prometheus: Option<String>,
    #[serde(default)]
    pub rules: Vec<String>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl MonitoringSpec {
    pub const FIELDS: &[&str] = &["prometheus", "rules"];
}

/// `expect:` — what every run must achieve.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a map such as { recovered_within: 10s, max_error_rate: 5% }")]
pub struct ExpectSpec {
    pub recovered_within: Option<Scalar>,
    pub max_error_rate: Option<Scalar>,
    pub min_success_rate: Option<Scalar>,
    pub max_oom_kills: Option<i64>,
    pub escalations: Option<i64>,
    pub healed: Option<bool>,
    pub max_p99_latency: Option<Scalar>,
    #[serde(flatten)]
    pub unknown: Unknown,
}

impl ExpectSpec {
    pub const FIELDS: &[&str] = &[
        "recovered_within",
        "max_error_rate",
        "min_success_rate",
        "max_oom_kills",
        "escalations",
        "healed",
        "max_p99_latency",
    ];
}
